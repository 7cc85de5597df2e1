/* Documents: EPCIS 2.0 JSON-LD and EPCIS 1.2 XML, written as a stream (one event serialised at a time, chunks
   flushed with back-pressure), so memory stays flat however many events there are. */
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
}

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

function xmlHeader(o: DocumentOptions): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:1" xmlns:cbvmda="urn:epcglobal:cbv:mda" schemaVersion="1.2" creationDate="${x(o.creationDate ?? new Date().toISOString())}">\n` +
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
