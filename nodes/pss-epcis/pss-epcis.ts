/* pss-epcis: EPCIS 2.0 JSON-LD (or EPCIS 1.2 XML) documents of what the line did, from the pool file's audit log
   (a period, or everything since the last export) or from the result messages of the PSS function nodes,
   gathered and flushed. Pre-flight runs before anything leaves: a fault sends nothing and names the numbers. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Writable } from "stream";
import type { NodeAPI, Node, NodeDef, NodeMessageInFlow, SendFn, DoneFn } from "../common/red";
import { isPlainObject, payloadObject } from "../common/args";
import { isUniquePattern, reserveOutFile } from "../common/out-file";
import { InputError, asNodeError } from "../common/errors";
import { onInput } from "../common/pipeline";
import type { PoolConfigNode } from "../common/pool-config";
import * as epcis from "../core/epcis";
import * as gs1 from "../core/gs1";
import type { AuditQuery } from "../core/store";

export interface EpcisNodeDef extends NodeDef {
  pool?: string;
  /** "audit" (the pool file's audit log) or "messages" (PSS function node results) */
  source?: "audit" | "messages";
  identifiers?: "epc" | "digitalLink";
  companyPrefixLength?: number | string;
  /** company prefixes and their lengths, "0614141:7, 401234567:9": each identifier takes its own (this wins over the file) */
  companyPrefixes?: string;
  /** GS1's gcpprefixformatlist.xml, relative to the Node-RED user directory */
  prefixFile?: string;
  /** GTIN of serial numbers stored without it */
  gtin?: string;
  digitalLinkDomain?: string;
  readPoint?: string;
  bizLocation?: string;
  /** eventTimeZoneOffset: an IANA zone ("Europe/Berlin", DST-aware per event) or a fixed "+hh:mm"; "" = +00:00 */
  timeZone?: string;
  /** pool and label-phase events too (provisioning ... label_scrapping); default false */
  includeInternal?: boolean;
  format?: "jsonld" | "xml12";
  /** market or SID class whose lot/expiry rule pre-flight applies; "" = none */
  market?: string;
  /** write the document here (streaming, all or nothing) instead of into msg.payload */
  outFile?: string;
  /** messages mode: flush by itself once this many events are gathered (0: only on msg.flush) */
  flushAfter?: number | string;
  /** send a document with no event (default: nothing is sent) */
  emitEmpty?: boolean;
  sender?: string;
  receiver?: string;
  /** audit mode: "period" (since the last export, or the period the message names) or "shipment" (the history of the
   *  shipped items the message names: their hierarchy's commissioning, packing and shipping) */
  scope?: "period" | "shipment";
  /** EPCIS 1.2 XML: the DSCSA transaction statement in the header (US) */
  transactionStatement?: boolean;
}

/** The largest document put into a message: larger exports belong in a file (configure one). */
export const MAX_EVENTS_IN_MESSAGE = 100_000;
const CURSOR_KEY = "lastExportedSeq";

type Input = epcis.PssEventInput;

/** Code, message, and the faults on the error's cause, so a Catch node can branch on msg.error.code and list the numbers. */
function nodeError(err: unknown): Error & { code: string } {
  if (err instanceof epcis.EpcisError && err.faults) {
    const details = err.faults.flatMap((f) => f.serialNumbers.map((serialNumber) => ({ serialNumber, reason: `${f.check}: ${f.message}` })));
    const e = err as epcis.EpcisError & { details?: unknown };
    Object.defineProperty(e, "details", { value: details, enumerable: true });
    Object.defineProperty(e, "cause", { value: { code: err.code, checks: [...new Set(err.faults.map((f) => f.check))], faults: err.faults, details }, enumerable: false, writable: true });
  }
  return asNodeError(err);
}

/**
 * Aggregation records in either shape become one input per parent: `context.parent` with its direct children (the
 * shape docs/epcis.md asks for), or `context.aggregation` = JSON [{parent, children}] (one record for a whole
 * aggregation call, as the local pool backend writes it today).
 */
export function* perParent<T extends Input>(records: Iterable<T>): Generator<Input> {
  // that backend writes one record per pool touched, each with the whole call's context: expand the call once
  let last: { key: string; seq?: number } | undefined;
  for (const r of records) {
    const ctx = r.context ?? {};
    if ((r.event === "packing" || r.event === "unpacking") && !ctx.parent && typeof ctx.aggregation === "string") {
      const key = `${r.event}\n${ctx.aggregation}`;
      const sameCall = last !== undefined && last.key === key && last.seq !== undefined && r.seq !== undefined && r.seq === last.seq + 1;
      last = { key, seq: r.seq };
      if (sameCall) continue;
      let elements: unknown;
      try {
        elements = JSON.parse(ctx.aggregation);
      } catch {
        elements = null;
      }
      if (!Array.isArray(elements)) throw new epcis.EpcisError("BadInput", `${r.event} record${r.seq !== undefined ? ` ${r.seq}` : ""}: context.aggregation is not a JSON list of {parent, children}`);
      const { aggregation: _drop, ...rest } = ctx;
      for (const el of elements as Array<{ parent?: unknown; children?: unknown }>) {
        if (typeof el?.parent !== "string" || !Array.isArray(el.children)) throw new epcis.EpcisError("BadInput", `${r.event} record${r.seq !== undefined ? ` ${r.seq}` : ""}: an aggregation element is not {parent, children}`);
        yield { ...r, serialNumbers: [el.parent, ...(el.children as string[])], context: { ...rest, parent: el.parent } };
      }
    } else {
      last = undefined;
      yield r;
    }
  }
}

/** The PSS events in one message: a PSS function node's result (payload.pssEvent), an input {event, serialNumbers}, or a list of them. */
export function inputsOfMessage(payload: unknown, now?: string): Input[] {
  const one = (p: unknown, where: string): Input[] => {
    if (!isPlainObject(p)) throw new InputError("InvalidPayload", `${where} must be an object: a PSS function node's result or {event, serialNumbers, time?, context?}`);
    const rec = isPlainObject(p.pssEvent) ? p.pssEvent : p;
    const event = rec.event;
    if (typeof event !== "string") throw new InputError("MissingEvent", `${where} names no PSS event: connect a PSS event node's output (payload.pssEvent) or send {event, serialNumbers}`);
    const context = rec.context ?? p.eventContext;
    if (context !== undefined && (!isPlainObject(context) || Object.values(context).some((v) => typeof v !== "string"))) throw new InputError("InvalidArgument", `${where}: the event context must be an object of string values`);
    const time = rec.time;
    if (time !== undefined && typeof time !== "string") throw new InputError("InvalidArgument", `${where}: time must be an ISO 8601 string`);
    const at = time ?? now;
    // the label collection's properties (lot, expiry, ...) as a label event node's result carries them
    const lc = isPlainObject(p.labelCollection) ? p.labelCollection : undefined;
    const props = lc && isPlainObject(lc.labelCollectionProperties) ? lc.labelCollectionProperties : lc && isPlainObject(lc.properties) ? lc.properties : undefined;
    const labelProperties = props ? (Object.fromEntries(Object.entries(props).filter(([, v]) => typeof v === "string")) as Record<string, string>) : undefined;
    const base = { event, ...(at ? { time: at } : {}), context: { ...((context as Record<string, string>) ?? {}) }, ...(labelProperties ? { labelProperties } : {}) };
    if (Array.isArray(p.aggregationElement)) {
      return (p.aggregationElement as Array<{ parent?: unknown; children?: unknown }>).map((el, i) => {
        if (!isPlainObject(el) || typeof el.parent !== "string" || !Array.isArray(el.children)) throw new InputError("InvalidArgument", `${where}.aggregationElement[${i}] must be {parent, children}`);
        return { ...base, serialNumbers: [el.parent, ...(el.children as string[])], context: { ...base.context, parent: el.parent } };
      });
    }
    const sns = p.serialNumbers ?? (isPlainObject(p.labelCollection) ? p.labelCollection.serialNumbers : undefined) ?? (isPlainObject(p.snCollection) ? p.snCollection.serialNumbers : undefined);
    if (!Array.isArray(sns) || sns.length === 0 || sns.some((s) => typeof s !== "string" || s === "")) throw new InputError("MissingSerialNumbers", `${where}: ${event} names no serial numbers (serialNumbers, labelCollection.serialNumbers or snCollection.serialNumbers)`);
    return [{ ...base, serialNumbers: sns as string[] }];
  };
  if (Array.isArray(payload)) return payload.flatMap((p, i) => one(p, `msg.payload[${i}]`));
  return one(payload, "msg.payload");
}

function intOrUndefined(v: unknown): number | undefined {
  if (v === undefined || v === null || v === "") return undefined;
  const n = Number(v);
  return Number.isInteger(n) ? n : NaN;
}

/** "0614141:7, 401234567:9" -> { prefix: length }; a wrong entry is BadOption, named. */
export function parseCompanyPrefixes(text: string): Record<string, number> {
  try {
    return gs1.parseCompanyPrefixList(text);
  } catch (err) {
    throw new InputError("BadOption", (err as Error).message);
  }
}

/** The configured prefixes first (the company's own master data), then GS1's published list. */
function companyPrefixTable(config: EpcisNodeDef, userDir: string): gs1.PrefixTable | undefined {
  const tables: gs1.PrefixTable[] = [];
  if (config.companyPrefixes && config.companyPrefixes.trim()) tables.push(gs1.prefixTable(parseCompanyPrefixes(config.companyPrefixes)));
  if (config.prefixFile && config.prefixFile.trim()) {
    const file = path.resolve(userDir, config.prefixFile.trim());
    try {
      tables.push(gs1.loadGcpPrefixFormatList(file));
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new InputError("BadOption", `prefix file ${file}: ${e.code === "ENOENT" ? "not found" : e.message}`);
    }
  }
  if (tables.length === 0) return undefined;
  if (tables.length === 1) return tables[0];
  return { size: tables.reduce((n, t) => n + t.size, 0), lengthOf: (d) => tables[0].lengthOf(d) ?? tables[1].lengthOf(d) };
}

/** The node's settings as core options; throws a specific error at deploy for a wrong setting. */
export function buildOptions(config: EpcisNodeDef, userDir = path.join(os.homedir(), ".node-red")): { build: epcis.BuildOptions; doc: epcis.DocumentOptions; market?: string } {
  const build: epcis.BuildOptions = {};
  const identifiers = config.identifiers || "epc";
  if (identifiers !== "epc" && identifiers !== "digitalLink") throw new InputError("BadOption", `identifiers must be epc or digitalLink, not ${JSON.stringify(identifiers)}`);
  build.identifiers = identifiers;
  const cpl = intOrUndefined(config.companyPrefixLength);
  if (cpl !== undefined) {
    if (!(cpl >= 6 && cpl <= 12)) throw new InputError("BadOption", `GS1 Company Prefix length must be 6 to 12, not ${JSON.stringify(config.companyPrefixLength)}`);
    build.companyPrefixLength = cpl;
  }
  const table = companyPrefixTable(config, userDir);
  if (table) build.prefixTable = table;
  if (identifiers === "epc" && cpl === undefined && !table) throw new InputError("MissingCompanyPrefixLength", "EPC URIs need the GS1 Company Prefix length: a prefix length, company prefixes or a prefix file (or choose Digital Link URIs)");
  if (config.gtin && config.gtin.trim()) build.gtin = config.gtin.trim();
  if (config.digitalLinkDomain && config.digitalLinkDomain.trim()) build.digitalLinkDomain = config.digitalLinkDomain.trim();
  if (config.readPoint && config.readPoint.trim()) build.readPoint = config.readPoint.trim();
  if (config.bizLocation && config.bizLocation.trim()) build.bizLocation = config.bizLocation.trim();
  // a wrong GLN is found now, not on the first export
  for (const [k, v] of [["readPoint", build.readPoint], ["bizLocation", build.bizLocation]] as const) if (v !== undefined) epcis.locationUri(v, build, k);
  if (config.timeZone && config.timeZone.trim()) {
    build.timeZoneOffset = config.timeZone.trim();
    // a zone this Node.js does not know is found now, not on the first export
    epcis.timeZoneOffsetAt(build.timeZoneOffset, new Date());
  }
  build.includeInternal = config.includeInternal === true;
  const doc: epcis.DocumentOptions = {};
  const format = config.format || "jsonld";
  if (format !== "jsonld" && format !== "xml12") throw new InputError("BadOption", `format must be jsonld or xml12, not ${JSON.stringify(format)}`);
  doc.format = format;
  if (config.sender && config.sender.trim()) doc.sender = config.sender.trim();
  if (config.receiver && config.receiver.trim()) doc.receiver = config.receiver.trim();
  if (config.transactionStatement === true) doc.transactionStatement = true;
  // the EPCIS 1.2 header (SBDH) needs both partners: a half-configured header is found now, not on the first export
  if (format === "xml12" && (doc.sender || doc.receiver || doc.transactionStatement) && !(doc.sender && doc.receiver)) {
    throw new InputError("BadOption", "EPCIS 1.2 XML: the header (SBDH) needs both a Sender and a Receiver (GLNs or URIs); the transaction statement travels in it");
  }
  const market = config.market && config.market.trim() ? config.market.trim() : undefined;
  if (market) epcis.marketNeedsLotExpiry(market);
  return { build, doc, market };
}

/** msg.masterData: the vocabulary elements for the document header (products, locations), checked before anything is built. */
function masterDataOf(msg: NodeMessageInFlow): epcis.MasterDataElement[] | undefined {
  const md = (msg as Record<string, unknown>).masterData;
  if (md === undefined || md === null) return undefined;
  if (!Array.isArray(md)) throw new InputError("InvalidArgument", `msg.masterData must be a list of { type, id, attributes }; it is ${typeof md}`);
  try {
    epcis.groupMasterData(md as epcis.MasterDataElement[]);
  } catch (err) {
    throw new InputError("InvalidArgument", `msg.masterData: ${(err as Error).message}`);
  }
  return md as epcis.MasterDataElement[];
}

/** Audit-log query of a message: fromTime/toTime (ISO 8601) or fromSeq/toSeq; none of them = since the last export. */
function auditQuery(p: Record<string, unknown>): { q: AuditQuery; sinceLast: boolean } {
  const q: AuditQuery = {};
  for (const k of ["fromTime", "toTime"] as const) {
    const v = p[k];
    if (v === undefined) continue;
    if (typeof v !== "string" || Number.isNaN(Date.parse(v))) throw new InputError("InvalidArgument", `msg.payload.${k} must be an ISO 8601 date-time; it is ${JSON.stringify(v)}`);
    q[k] = new Date(Date.parse(v)).toISOString();
  }
  for (const k of ["fromSeq", "toSeq"] as const) {
    const v = p[k];
    if (v === undefined) continue;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0) throw new InputError("InvalidArgument", `msg.payload.${k} must be a whole number (an audit record's seq); it is ${JSON.stringify(v)}`);
    q[k] = v;
  }
  if (q.fromTime && q.toTime && q.fromTime > q.toTime) throw new InputError("InvalidArgument", `msg.payload.fromTime ${q.fromTime} is after toTime ${q.toTime}`);
  return { q, sinceLast: Object.keys(q).length === 0 };
}

class StringSink extends Writable {
  readonly parts: string[] = [];
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: () => void): void {
    this.parts.push(String(chunk));
    cb();
  }
}

export default function (RED: NodeAPI): void {
  function PssEpcisNode(this: Node, config: EpcisNodeDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    const source = config.source === "messages" ? "messages" : "audit";
    const pool = config.pool ? (RED.nodes.getNode(config.pool) as PoolConfigNode | null) : null;
    const userDir = (RED.settings as { userDir?: string }).userDir || path.join(os.homedir(), ".node-red");
    let options: ReturnType<typeof buildOptions> | undefined;
    let configError: (Error & { code: string }) | undefined;
    try {
      options = buildOptions(config, userDir);
      if (source === "audit" && !pool) throw new InputError("PoolUnavailable", "pss-epcis reads the audit log of a pss-pool: configure one (or take events from messages)");
    } catch (err) {
      configError = asNodeError(err);
      node.error(`pss-epcis: ${configError.code}: ${configError.message}`);
      node.status({ fill: "red", shape: "ring", text: configError.code });
    }
    // "{seq}" or "{time}" in the name: a new file on every export (reserved, never overwritten)
    const outPattern = config.outFile && config.outFile.trim() ? config.outFile.trim() : undefined;
    const fixedOutFile = outPattern && !isUniquePattern(outPattern) ? path.resolve(userDir, outPattern) : undefined;
    let lastOutFile: string | undefined;
    const flushAfter = Math.max(0, intOrUndefined(config.flushAfter) || 0);
    /** messages mode: the events gathered since the last flush, and the pre-flight state of every clean flush before */
    let pending: epcis.EpcisEvent[] = [];
    let history: epcis.Preflight | undefined;

    /** The document, into a file (streaming, all or nothing) or into the message; pre-flight first when asked. */
    async function emit(events: Iterable<epcis.EpcisEvent>, preflight: epcis.PreflightOptions | undefined, o: NonNullable<typeof options>, masterData?: epcis.MasterDataElement[]): Promise<{ count: number; payload: unknown }> {
      const doc: epcis.DocumentOptions = { ...o.doc };
      if (preflight) doc.preflight = preflight;
      if (masterData) doc.masterData = masterData;
      if (outPattern) {
        const outFile = fixedOutFile ?? reserveOutFile(userDir, outPattern);
        fs.mkdirSync(path.dirname(outFile), { recursive: true });
        try {
          const r = await epcis.exportToFile(events, outFile, doc);
          lastOutFile = outFile;
          return { count: r.events, payload: { file: outFile, format: doc.format, events: r.events, bytes: r.bytes } };
        } catch (err) {
          if (!fixedOutFile) fs.rmSync(outFile, { force: true });
          throw err;
        }
      }
      const list: epcis.EpcisEvent[] = [];
      for (const ev of events) {
        list.push(ev);
        if (list.length > MAX_EVENTS_IN_MESSAGE) throw new InputError("DocumentTooLarge", `more than ${MAX_EVENTS_IN_MESSAGE} EPCIS events for one message: configure an output file (streamed) or export a shorter period`);
      }
      if (doc.format === "xml12") {
        const sink = new StringSink();
        await epcis.writeDocument(list, sink, doc);
        return { count: list.length, payload: sink.parts.join("") };
      }
      return { count: list.length, payload: epcis.buildDocument(list, doc) };
    }

    /** an empty export to a fresh file name is not kept (nothing announces it) */
    function dropEmpty(payload: unknown): void {
      const f = (payload as { file?: unknown } | null)?.file;
      if (!fixedOutFile && typeof f === "string") fs.rmSync(f, { force: true });
    }

    async function fromAudit(msg: NodeMessageInFlow, o: NonNullable<typeof options>): Promise<{ count: number; payload: unknown; info: Record<string, unknown> } | null> {
      if (!pool || !pool.auditRecords) throw new InputError("PoolUnavailable", "the configured pss-pool offers no audit log here");
      // every pool of the file gives its bare serials its own GTIN (units of the unit GTIN, serialized cases of the case
      // GTIN); the node's GTIN is for pools whose criteria name none
      const byPool = pool.gtinsByPool?.() ?? {};
      const withPoolGtins = (b: epcis.BuildOptions): epcis.BuildOptions => (Object.keys(byPool).length ? { ...b, gtinByPool: { ...byPool, ...(b.gtinByPool ?? {}) } } : b);
      const masterData = masterDataOf(msg);
      const read = pool.auditRecords.bind(pool);
      // an object may name a period; anything else (a timestamp, a string) just starts an export
      const p = isPlainObject(msg.payload) ? payloadObject(msg.payload, true) : {};
      // a commissioning's lot and expiry may sit on its label collection: looked up once per collection and export
      const lcProps = new Map<string, Record<string, string> | undefined>();
      const lookup = pool.labelCollectionProperties?.bind(pool);
      const build: epcis.BuildOptions = withPoolGtins(lookup
        ? { ...o.build, labelCollectionProperties: (id) => (lcProps.has(id) ? lcProps.get(id) : (lcProps.set(id, lookup(id)), lcProps.get(id))) }
        : o.build);
      if (config.scope === "shipment") {
        // the shipping node's result (payload.serialNumbers), or any message naming the shipped items
        const shipped = p.serialNumbers;
        if (!Array.isArray(shipped) || shipped.length === 0 || !shipped.every((s) => typeof s === "string" && s.length > 0)) {
          throw new InputError("InvalidArgument", "scope shipment: msg.payload.serialNumbers must list the shipped items (wire the shipping node's output here)");
        }
        const history = () => epcis.shipmentHistory(() => perParent(read({})), shipped as string[]);
        const preflight: epcis.PreflightOptions = {};
        if (o.market) preflight.market = o.market;
        const r = await emit(epcis.fromAuditRecords(history(), build), preflight, o, masterData);
        if (r.count === 0 && !config.emitEmpty) {
          dropEmpty(r.payload);
          return null;
        }
        return { ...r, info: { source: "audit", scope: "shipment", shipped, events: r.count } };
      }
      const { q, sinceLast } = auditQuery(p);
      const ctx = node.context();
      const last = Number(ctx.get(CURSOR_KEY) ?? 0) || 0;
      if (sinceLast) q.fromSeq = last + 1;
      let lastSeq = sinceLast ? last : 0;
      const track = function* (): Generator<Input> {
        for (const r of read(q)) {
          if (r.seq > lastSeq) lastSeq = r.seq;
          yield r;
        }
      };
      // the events before the period build pre-flight's state (commissioned, packed, destroyed); they are checked, not exported
      const before = function* (): Generator<Input> {
        if (q.fromSeq !== undefined && q.fromSeq > 1) yield* read({ toSeq: q.fromSeq - 1 });
        else if (q.fromTime !== undefined) for (const r of read({ toTime: q.fromTime })) if (r.time < (q.fromTime as string)) yield r;
      };
      const preflight: epcis.PreflightOptions = { priorEvents: epcis.fromAuditRecords(perParent(before()), build) };
      if (o.market) preflight.market = o.market;
      const r = await emit(epcis.fromAuditRecords(perParent(track()), build), preflight, o, masterData);
      if (sinceLast) ctx.set(CURSOR_KEY, lastSeq);
      if (r.count === 0 && !config.emitEmpty) {
        dropEmpty(r.payload);
        return null;
      }
      const info: Record<string, unknown> = { source: "audit", events: r.count, query: q };
      if (sinceLast) info.lastSeq = lastSeq;
      return { ...r, info };
    }

    async function fromMessages(msg: NodeMessageInFlow, o: NonNullable<typeof options>): Promise<{ count: number; payload: unknown; info: Record<string, unknown> } | null> {
      const masterData = masterDataOf(msg);
      const flush = msg.flush === true || msg.topic === "flush";
      const isTrigger = msg.payload === undefined || msg.payload === null || msg.payload === "" || typeof msg.payload === "number" || typeof msg.payload === "boolean";
      if (!(flush && isTrigger)) {
        // built as they come (the time of the message, when it names none): a bad event is refused now, not at the flush
        const built = [...epcis.fromEvents(perParent(inputsOfMessage(msg.payload, new Date().toISOString())), o.build)];
        pending.push(...built);
      }
      if (!flush && !(flushAfter > 0 && pending.length >= flushAfter)) {
        node.status({ fill: "blue", shape: "ring", text: RED._("pss-epcis.status.gathered", { count: pending.length.toLocaleString("en-US") }) });
        return null;
      }
      const batch = pending;
      pending = [];
      // pre-flight on a copy of the state of every clean flush before: a refused batch leaves that state as it was
      const trial = history ? history.fork() : new epcis.Preflight(o.market ? { market: o.market } : {});
      for (const ev of batch) trial.check(ev);
      trial.assert();
      const r = await emit(batch, undefined, o, masterData);
      history = trial;
      if (r.count === 0 && !config.emitEmpty) {
        dropEmpty(r.payload);
        return null;
      }
      return { ...r, info: { source: "messages", events: r.count } };
    }

    onInput(node, {
      what: "pss-epcis",
      run: async (msg) => {
        if (configError || !options) throw configError;
        try {
          return await (source === "audit" ? fromAudit(msg, options) : fromMessages(msg, options));
        } catch (err) {
          throw nodeError(err);
        }
      },
      ok: (out, msg, send) => {
        if (!out) return source === "audit" ? { fill: "green", shape: "ring", text: RED._("pss-epcis.status.none") } : undefined;
        msg.payload = out.payload;
        (msg as Record<string, unknown>).epcis = out.info;
        send(msg);
        return { fill: "green", shape: "dot", text: RED._("pss-epcis.status.sent", { count: out.count.toLocaleString("en-US") }) + (lastOutFile ? ` → ${path.relative(userDir, lastOutFile)}` : "") };
      },
    });

    node.on("close", (_removed: boolean, done: () => void) => {
      pending = [];
      history = undefined;
      done();
    });
  }
  RED.nodes.registerType("pss-epcis", PssEpcisNode as never);
}
