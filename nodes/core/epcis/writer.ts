/* Documents: EPCIS 2.0 JSON-LD and EPCIS 1.2 XML, written as a stream (one event serialised at a time, chunks
   flushed with back-pressure), so memory stays flat however many events there are. */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { once } from "events";
import type { Writable } from "stream";
import { cbvUrn } from "./cbv";
import { EpcisError } from "./errors";
import type { EpcisEvent } from "./build";
import { Preflight, type PreflightOptions } from "./preflight";

export const EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";

export interface DocumentOptions {
  /** "jsonld" (EPCIS 2.0, default) or "xml12" (EPCIS 1.2 XML for partners that still need it) */
  format?: "jsonld" | "xml12";
  /** creationDate; default now */
  creationDate?: string;
  /** document id (a URI), optional */
  id?: string;
  /** EPCIS 2.0 sender/receiver strings (e.g. GLNs) */
  sender?: string;
  receiver?: string;
  /** extra @context entries, e.g. { example: "https://ns.example.com/epcis/" } for extension fields */
  context?: Record<string, string>;
  /** run the pre-flight checks while writing; a fault throws EpcisError PreflightFailed before the document is closed */
  preflight?: PreflightOptions;
  /** bytes gathered before a write (default 64 KiB) */
  chunkBytes?: number;
  /** EPCIS 1.2 XML: master data in the EPCISHeader (EPCISMasterData), e.g. the products of a US DSCSA shipment:
   *  { type: "urn:epcglobal:epcis:vtype:EPCClass", id: "urn:epc:idpat:sgtin:0614141.012345.*",
   *    attributes: { "urn:epcglobal:cbv:mda#regulatedProductName": "..." } } */
  masterData?: MasterDataElement[];
  /** EPCIS 1.2 XML: the DSCSA transaction statement (GS1 US healthcare extension, affirmTransactionStatement) */
  transactionStatement?: boolean;
}

/** One vocabulary element of EPCIS master data. */
export interface MasterDataElement {
  /** the vocabulary type URI, e.g. urn:epcglobal:epcis:vtype:EPCClass or urn:epcglobal:epcis:vtype:Location */
  type: string;
  /** the element's id (a URI) */
  id: string;
  /** attribute values by attribute id (a URI) */
  attributes?: Record<string, string>;
}

const URI = /^[A-Za-z][A-Za-z0-9+.-]*:\S+$/;

/** Master data checked (URIs, text values) and grouped by vocabulary type, in first-seen order. */
export function groupMasterData(list: MasterDataElement[]): Map<string, MasterDataElement[]> {
  if (!Array.isArray(list)) throw new EpcisError("BadOption", "master data must be a list of { type, id, attributes }");
  const byType = new Map<string, MasterDataElement[]>();
  for (const e of list) {
    if (!e || typeof e !== "object" || typeof e.type !== "string" || !URI.test(e.type)) throw new EpcisError("BadOption", `master data: vocabulary type ${JSON.stringify(e?.type)} is not a URI`);
    if (typeof e.id !== "string" || !URI.test(e.id)) throw new EpcisError("BadOption", `master data: element id ${JSON.stringify(e.id)} is not a URI`);
    if (e.attributes !== undefined && (typeof e.attributes !== "object" || e.attributes === null || Array.isArray(e.attributes))) throw new EpcisError("BadOption", `master data of ${e.id}: attributes must be an object { attribute URI: text }`);
    for (const [k, v] of Object.entries(e.attributes ?? {})) {
      if (!URI.test(k)) throw new EpcisError("BadOption", `master data of ${e.id}: attribute id ${JSON.stringify(k)} is not a URI`);
      if (typeof v !== "string") throw new EpcisError("BadOption", `master data of ${e.id}: attribute ${k} is not text`);
    }
    byType.set(e.type, [...(byType.get(e.type) ?? []), e]);
  }
  return byType;
}

/** The GS1 US healthcare namespace of the DSCSA extension elements (GS1 US Implementation Guideline for DSCSA). */
export const GS1US_HC_NS = "http://epcis.gs1us.org/hc/ns";

export interface WriteResult {
  events: number;
  bytes: number;
}

class ChunkedOut {
  private buf: string[] = [];
  private size = 0;
  bytes = 0;
  constructor(private readonly out: Writable, private readonly limit: number) {}
  async push(s: string): Promise<void> {
    this.buf.push(s);
    this.size += s.length;
    if (this.size >= this.limit) await this.flush();
  }
  async flush(): Promise<void> {
    if (this.buf.length === 0) return;
    const chunk = this.buf.join("");
    this.buf = [];
    this.size = 0;
    this.bytes += Buffer.byteLength(chunk);
    if (!this.out.write(chunk)) await once(this.out, "drain");
  }
}

function header(o: DocumentOptions): Record<string, unknown> {
  const ctx: unknown[] = [EPCIS_CONTEXT];
  if (o.context && Object.keys(o.context).length) ctx.push(o.context);
  const doc: Record<string, unknown> = { "@context": ctx, type: "EPCISDocument", schemaVersion: "2.0", creationDate: o.creationDate ?? new Date().toISOString() };
  if (o.id) doc.id = o.id;
  if (o.sender) doc.sender = o.sender;
  if (o.receiver) doc.receiver = o.receiver;
  if (o.masterData?.length) {
    const vocabularyList = [...groupMasterData(o.masterData)].map(([type, els]) => ({
      type,
      vocabularyElementList: els.map((e) => ({ id: e.id, attributes: Object.entries(e.attributes ?? {}).map(([id, attribute]) => ({ id, attribute })) })),
    }));
    doc.epcisHeader = { epcisMasterData: { vocabularyList } };
  }
  return doc;
}

/**
 * Write an EPCIS document to `out` from events (an iterable or async iterable), streaming. Does not end `out`.
 * With `preflight`, a fault throws EpcisError PreflightFailed and the document is left unclosed (invalid):
 * use exportToFile for an all-or-nothing file.
 */
export async function writeDocument(events: Iterable<EpcisEvent> | AsyncIterable<EpcisEvent>, out: Writable, options: DocumentOptions = {}): Promise<WriteResult> {
  const w = new ChunkedOut(out, options.chunkBytes ?? 65536);
  const pf = options.preflight ? new Preflight(options.preflight) : null;
  let n = 0;
  if ((options.format ?? "jsonld") === "xml12") {
    await w.push(xmlHeader(options));
    for await (const ev of events) {
      pf?.check(ev);
      await w.push(xmlEvent(ev));
      n++;
    }
    pf?.assert();
    await w.push("    </EventList>\n  </EPCISBody>\n</epcis:EPCISDocument>\n");
  } else {
    const head = JSON.stringify(header(options));
    // the header object without its closing brace, then the event list
    await w.push(head.slice(0, -1) + ',"epcisBody":{"eventList":[');
    for await (const ev of events) {
      pf?.check(ev);
      await w.push((n === 0 ? "\n" : ",\n") + JSON.stringify(ev));
      n++;
    }
    pf?.assert();
    await w.push("\n]}}\n");
  }
  await w.flush();
  return { events: n, bytes: w.bytes };
}

/** The whole document as an object (small documents, e.g. one Node-RED message); pre-flight first when asked. */
export function buildDocument(events: Iterable<EpcisEvent>, options: DocumentOptions = {}): Record<string, unknown> {
  const list = [...events];
  if (options.preflight) {
    const pf = new Preflight(options.preflight);
    for (const ev of list) pf.check(ev);
    pf.assert();
  }
  return { ...header(options), epcisBody: { eventList: list } };
}

/** Write a document to a file all or nothing: a temporary file renamed into place only when complete and pre-flight clean. */
export async function exportToFile(events: Iterable<EpcisEvent> | AsyncIterable<EpcisEvent>, file: string, options: DocumentOptions = {}): Promise<WriteResult> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.partial`);
  const out = fs.createWriteStream(tmp);
  try {
    const r = await writeDocument(events, out, options);
    out.end();
    await once(out, "finish");
    fs.renameSync(tmp, file);
    return r;
  } catch (err) {
    out.destroy();
    // the stream opens its file asynchronously: remove it only once closed, or an early refusal leaves it behind
    if (!out.closed) await new Promise<void>((resolve) => out.once("close", () => resolve()));
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

// ---- EPCIS 1.2 XML ----

const XML_ESC: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" };
function x(s: string): string {
  return String(s).replace(/[&<>"']/g, (c) => XML_ESC[c]);
}

/** An SBDH partner: a GLN (Authority GLN), an SGLN or PGLN URI (Authority SGLN / PGLN), any other URI as given. */
function sbdhPartner(tag: "Sender" | "Receiver", v: string): string {
  const id = v.trim();
  let authority: string;
  if (/^\d{13}$/.test(id)) authority = "GLN";
  else if (/^urn:epc:id:sgln:/.test(id)) authority = "SGLN";
  else if (/^urn:epc:id:pgln:/.test(id)) authority = "PGLN";
  else if (URI.test(id)) authority = "URI";
  else throw new EpcisError("BadOption", `${tag.toLowerCase()} ${JSON.stringify(v)} is neither a GLN nor a URI`);
  return `      <sbdh:${tag}>\n        <sbdh:Identifier Authority="${authority}">${x(id)}</sbdh:Identifier>\n      </sbdh:${tag}>\n`;
}

/** The EPCISHeader of an EPCIS 1.2 XML document: the SBDH (sender, receiver, document id), master data, the DSCSA
 *  transaction statement. Written when a sender and a receiver are given (the SBDH needs both); master data or a
 *  transaction statement without them is refused, since a header cannot exist without its SBDH. */
function xmlEpcisHeader(o: DocumentOptions, created: string): string {
  const sender = o.sender?.trim();
  const receiver = o.receiver?.trim();
  if (!sender && !receiver && !o.masterData?.length && !o.transactionStatement) return "";
  if (!sender || !receiver) throw new EpcisError("BadOption", "an EPCIS 1.2 header (SBDH) needs both a sender and a receiver (GLNs or URIs); master data and the transaction statement travel in that header");
  let h = "  <EPCISHeader>\n    <sbdh:StandardBusinessDocumentHeader>\n      <sbdh:HeaderVersion>1.0</sbdh:HeaderVersion>\n";
  h += sbdhPartner("Sender", sender) + sbdhPartner("Receiver", receiver);
  h += "      <sbdh:DocumentIdentification>\n        <sbdh:Standard>EPCglobal</sbdh:Standard>\n        <sbdh:TypeVersion>1.0</sbdh:TypeVersion>\n";
  h += `        <sbdh:InstanceIdentifier>${x(o.id ?? `urn:uuid:${crypto.randomUUID()}`)}</sbdh:InstanceIdentifier>\n`;
  h += `        <sbdh:Type>Events</sbdh:Type>\n        <sbdh:CreationDateAndTime>${x(created)}</sbdh:CreationDateAndTime>\n      </sbdh:DocumentIdentification>\n`;
  h += "    </sbdh:StandardBusinessDocumentHeader>\n";
  if (o.masterData?.length) {
    const byType = groupMasterData(o.masterData);
    h += "    <extension>\n      <EPCISMasterData>\n        <VocabularyList>\n";
    for (const [type, els] of byType) {
      h += `          <Vocabulary type="${x(type)}">\n            <VocabularyElementList>\n`;
      for (const e of els) {
        h += `              <VocabularyElement id="${x(e.id)}">\n`;
        for (const [k, v] of Object.entries(e.attributes ?? {})) h += `                <attribute id="${x(k)}">${x(v)}</attribute>\n`;
        h += "              </VocabularyElement>\n";
      }
      h += "            </VocabularyElementList>\n          </Vocabulary>\n";
    }
    h += "        </VocabularyList>\n      </EPCISMasterData>\n    </extension>\n";
  }
  if (o.transactionStatement) {
    h += "    <gs1ushc:dscsaTransactionStatement>\n      <gs1ushc:affirmTransactionStatement>true</gs1ushc:affirmTransactionStatement>\n    </gs1ushc:dscsaTransactionStatement>\n";
  }
  return h + "  </EPCISHeader>\n";
}

function xmlHeader(o: DocumentOptions): string {
  const created = o.creationDate ?? new Date().toISOString();
  const head = xmlEpcisHeader(o, created);
  const ns = head ? ` xmlns:sbdh="http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader"${o.transactionStatement ? ` xmlns:gs1ushc="${GS1US_HC_NS}"` : ""}` : "";
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:1" xmlns:cbvmda="urn:epcglobal:cbv:mda"${ns} schemaVersion="1.2" creationDate="${x(created)}">\n` +
    head +
    `  <EPCISBody>\n    <EventList>\n`
  );
}

function el(name: string, v: string | undefined, ind: string): string {
  return v === undefined ? "" : `${ind}<${name}>${x(v)}</${name}>\n`;
}

/** One event in EPCIS 1.2 XML: element order per the 1.2 XSD, CBV values as URNs, eventID in baseExtension. */
export function xmlEvent(ev: EpcisEvent): string {
  const i = "        ";
  const j = i + "  ";
  let s = `      <${ev.type}>\n`;
  s += el("eventTime", ev.eventTime, i) + el("eventTimeZoneOffset", ev.eventTimeZoneOffset, i);
  if (ev.eventID) s += `${i}<baseExtension>\n${el("eventID", ev.eventID, j)}${i}</baseExtension>\n`;
  if (ev.type === "AggregationEvent") {
    s += el("parentID", ev.parentID, i);
    s += `${i}<childEPCs>\n${(ev.childEPCs ?? []).map((e) => el("epc", e, j)).join("")}${i}</childEPCs>\n`;
  } else {
    s += `${i}<epcList>\n${(ev.epcList ?? []).map((e) => el("epc", e, j)).join("")}${i}</epcList>\n`;
  }
  s += el("action", ev.action, i);
  if (ev.bizStep) s += el("bizStep", cbvUrn("bizStep", ev.bizStep), i);
  if (ev.disposition) s += el("disposition", cbvUrn("disposition", ev.disposition), i);
  if (ev.readPoint) s += `${i}<readPoint>\n${el("id", ev.readPoint.id, j)}${i}</readPoint>\n`;
  if (ev.bizLocation) s += `${i}<bizLocation>\n${el("id", ev.bizLocation.id, j)}${i}</bizLocation>\n`;
  if (ev.bizTransactionList?.length) {
    s += `${i}<bizTransactionList>\n`;
    for (const b of ev.bizTransactionList) s += `${j}<bizTransaction${b.type ? ` type="${x(cbvUrn("btt", b.type))}"` : ""}>${x(b.bizTransaction)}</bizTransaction>\n`;
    s += `${i}</bizTransactionList>\n`;
  }
  let ext = "";
  if (ev.sourceList?.length) ext += `${j}<sourceList>\n${ev.sourceList.map((e) => `${j}  <source type="${x(cbvUrn("sdt", e.type))}">${x(e.source)}</source>\n`).join("")}${j}</sourceList>\n`;
  if (ev.destinationList?.length) ext += `${j}<destinationList>\n${ev.destinationList.map((e) => `${j}  <destination type="${x(cbvUrn("sdt", e.type))}">${x(e.destination)}</destination>\n`).join("")}${j}</destinationList>\n`;
  if (ev.type === "ObjectEvent" && ev.ilmd && Object.keys(ev.ilmd).length) {
    ext += `${j}<ilmd>\n`;
    for (const [k, v] of Object.entries(ev.ilmd)) {
      if (!/^cbvmda:[A-Za-z_][\w.-]*$/.test(k)) throw new EpcisError("BadInput", `ILMD key ${JSON.stringify(k)} has no EPCIS 1.2 XML form (only cbvmda: keys are written)`);
      ext += `${j}  <${k}>${x(String(v))}</${k}>\n`;
    }
    ext += `${j}</ilmd>\n`;
  }
  if (ext) s += `${i}<extension>\n${ext}${i}</extension>\n`;
  s += `      </${ev.type}>\n`;
  return s;
}
