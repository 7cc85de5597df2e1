/* PSS events (audit records or event messages) -> EPCIS 2.0 JSON-LD events, per the mapping in cbv.ts. Lazy:
   a generator, so a million records never sit in memory at once. */
import { EVENTS, type PssEvent } from "../lifecycle";
import { CBV_BTT, MAPPING } from "./cbv";
import { EpcisError } from "./errors";
import { eventHashId, type HashOptions } from "./hash";
import { identifierOf, locationUri, partyUri, type IdentifierOptions, type LocationSpec } from "./ids";

/** An EPCIS 2.0 event as it appears in a JSON-LD document. */
export interface EpcisEvent {
  type: "ObjectEvent" | "AggregationEvent";
  eventTime: string;
  eventTimeZoneOffset: string;
  eventID?: string;
  epcList?: string[];
  parentID?: string;
  childEPCs?: string[];
  action: "ADD" | "OBSERVE" | "DELETE";
  bizStep?: string;
  disposition?: string;
  readPoint?: { id: string };
  bizLocation?: { id: string };
  bizTransactionList?: Array<{ type?: string; bizTransaction: string }>;
  sourceList?: Array<{ type: string; source: string }>;
  destinationList?: Array<{ type: string; destination: string }>;
  ilmd?: Record<string, string>;
  [extension: string]: unknown;
}

/** Where an event came from: kept on the event under a symbol, so it never reaches the document. */
export const SOURCE: unique symbol = Symbol("serialflow.epcis.source");
export interface EventSource {
  event: PssEvent;
  seq?: number;
  serialNumbers: string[];
  /** the number of children the packing record declared (context.count) */
  declaredCount?: number;
}

/** A PSS event as a message or an audit record carries it (AuditRecord fits). */
export interface PssEventInput {
  event: string;
  serialNumbers: string[];
  /** ISO 8601 or a Date; default: now */
  time?: string | Date;
  context?: Record<string, string>;
  poolId?: string;
  seq?: number;
  /** the label collection the event brought (an audit record's labelCollectionId): its properties are looked up */
  labelCollectionId?: string;
  /** the label collection's properties as the event carried them (lot, expiry, ...) */
  labelProperties?: Record<string, string>;
}

export interface BuildOptions extends IdentifierOptions, HashOptions {
  /** also emit pool and label-phase events (provisioning ... label_scrapping); default false */
  includeInternal?: boolean;
  /** readPoint: a GLN ("GLN" or "GLN.extension"), { gln, extension } or a URI; context.readPoint overrides */
  readPoint?: LocationSpec;
  /** bizLocation, same forms; context.bizLocation overrides */
  bizLocation?: LocationSpec;
  /**
   * eventTimeZoneOffset: a fixed "+hh:mm", or an IANA time zone ("Europe/Berlin") whose offset is taken at each
   * event's own time (so summer and winter time each get theirs); default "+00:00". Event times themselves stay as given.
   */
  timeZoneOffset?: string;
  /** "hash" (CBV 2.0 event hash, the default) or "none" */
  eventId?: "hash" | "none";
  /** the stored properties of a label collection, by id (e.g. store.labelCollectionProperties): lot/expiry of audit records */
  labelCollectionProperties?: (labelCollectionId: string) => Record<string, string> | undefined;
}

const TZ = /^([+]|[-])((0[0-9]|1[0-3]):([0-5][0-9])|14:00)$/;
const PSS = new Set<string>(EVENTS);

/** The business transactions of a record's context: `bizTransaction` (+ `bizTransactionType`, default po), and
 *  `bizTransactions`, a JSON list [{ type, bizTransaction }] for several (po, desadv, inv ...), types from the CBV. */
function businessTransactions(ctx: Record<string, string>): Array<{ type: string; bizTransaction: string }> {
  const out: Array<{ type: string; bizTransaction: string }> = [];
  if (ctx.bizTransaction) out.push({ type: ctx.bizTransactionType ?? "po", bizTransaction: ctx.bizTransaction });
  if (ctx.bizTransactions) {
    let list: unknown;
    try {
      list = JSON.parse(ctx.bizTransactions);
    } catch {
      list = undefined;
    }
    if (!Array.isArray(list)) throw new EpcisError("BadInput", `context.bizTransactions must be a JSON list of { type, bizTransaction }, not ${JSON.stringify(ctx.bizTransactions).slice(0, 80)}`);
    for (const b of list as Array<{ type?: unknown; bizTransaction?: unknown }>) {
      if (!b || typeof b.bizTransaction !== "string" || !/^[A-Za-z][A-Za-z0-9+.-]*:\S+$/.test(b.bizTransaction)) throw new EpcisError("BadInput", `context.bizTransactions: ${JSON.stringify(b)} has no bizTransaction URI`);
      const type = b.type === undefined ? "po" : b.type;
      if (typeof type !== "string" || !CBV_BTT.has(type)) throw new EpcisError("BadInput", `context.bizTransactions: type ${JSON.stringify(type)} is not a CBV business transaction type (${[...CBV_BTT].join(", ")})`);
      out.push({ type, bizTransaction: b.bizTransaction });
    }
  }
  return out;
}

/** "261231" or "2026-12-31" -> "2026-12-31"; day 00 = the last day of the month (GS1 General Specifications). */
export function expiryToDate(expiry: string, now = new Date()): string {
  if (/^\d{4}-\d{2}-\d{2}$/.test(expiry) && !Number.isNaN(Date.parse(expiry + "T00:00:00Z"))) return expiry;
  const m = /^(\d{2})(\d{2})(\d{2})$/.exec(expiry);
  if (!m) throw new EpcisError("BadExpiry", `expiry ${JSON.stringify(expiry)} is neither YYMMDD nor YYYY-MM-DD`);
  const yy = Number(m[1]);
  const mm = Number(m[2]);
  let dd = Number(m[3]);
  if (mm < 1 || mm > 12) throw new EpcisError("BadExpiry", `expiry ${expiry}: month ${m[2]} is not 01-12`);
  // GS1 century rule: a two-digit year within 50 years ahead, else the past century
  const cur = now.getUTCFullYear();
  let year = Math.floor(cur / 100) * 100 + yy;
  if (year - cur >= 51) year -= 100;
  else if (year - cur <= -50) year += 100;
  const last = new Date(Date.UTC(year, mm, 0)).getUTCDate();
  if (dd === 0) dd = last;
  if (dd > last) throw new EpcisError("BadExpiry", `expiry ${expiry}: day ${m[3]} does not exist in ${year}-${m[2]}`);
  return `${year}-${m[2]}-${String(dd).padStart(2, "0")}`;
}

// one formatter per zone: building it is the costly part
const ZONES = new Map<string, Intl.DateTimeFormat>();

function zoneFormat(zone: string): Intl.DateTimeFormat {
  let f = ZONES.get(zone);
  if (!f) {
    // an offset-like string that is not a valid ±hh:mm is refused here, not left to Intl's own reading
    if (/^[+-]|^\d/.test(zone)) throw new EpcisError("BadOption", `timeZoneOffset ${JSON.stringify(zone)} is neither ±hh:mm within ±14:00 nor an IANA time zone such as Europe/Berlin`);
    try {
      f = new Intl.DateTimeFormat("en-US", { timeZone: zone, timeZoneName: "longOffset" });
    } catch {
      throw new EpcisError("BadOption", `timeZoneOffset ${JSON.stringify(zone)} is neither ±hh:mm within ±14:00 nor an IANA time zone known here (e.g. Europe/Berlin, America/New_York)`);
    }
    if (ZONES.size < 100) ZONES.set(zone, f);
  }
  return f;
}

/**
 * The eventTimeZoneOffset for a moment: a fixed "±hh:mm" as given, or the offset an IANA zone has at that moment
 * (DST-aware). Throws BadOption for anything else.
 */
export function timeZoneOffsetAt(zone: string, at: Date | string): string {
  if (typeof zone !== "string" || zone.trim() === "") throw new EpcisError("BadOption", `timeZoneOffset must be ±hh:mm or an IANA time zone, not ${JSON.stringify(zone)}`);
  if (TZ.test(zone)) return zone;
  const f = zoneFormat(zone.trim());
  const d = typeof at === "string" ? new Date(Date.parse(at)) : at;
  const name = f.formatToParts(d).find((p) => p.type === "timeZoneName")?.value ?? "";
  if (name === "GMT" || name === "UTC") return "+00:00";
  const m = /^(?:GMT|UTC)([+-])(\d{1,2})(?::?(\d{2}))?$/.exec(name);
  if (!m) throw new EpcisError("BadOption", `time zone ${zone}: its offset at ${d.toISOString()} reads ${JSON.stringify(name)}, not GMT±hh:mm`);
  return `${m[1]}${m[2].padStart(2, "0")}:${m[3] ?? "00"}`;
}

function isoTime(t: string | Date | undefined): string {
  if (t === undefined) return new Date().toISOString();
  if (t instanceof Date) {
    if (Number.isNaN(t.getTime())) throw new EpcisError("BadTime", "event time is an invalid Date");
    return t.toISOString();
  }
  if (typeof t !== "string" || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(t) || Number.isNaN(Date.parse(t))) {
    throw new EpcisError("BadTime", `event time ${JSON.stringify(t)} is not an ISO 8601 date-time with a time zone`);
  }
  return t;
}

// lot and expiry as keys by AI or by name, any case: "10", "(10)", "lot", "batch" / "17", "(17)", "expiry"
const LOT_KEYS = ["10", "(10)", "lot", "batch"];
const EXPIRY_KEYS = ["17", "(17)", "expiry"];

function pick(dict: Record<string, string> | undefined, keys: string[]): string | undefined {
  if (!dict) return undefined;
  for (const k of keys) if (typeof dict[k] === "string" && dict[k] !== "") return dict[k];
  for (const [k, v] of Object.entries(dict)) if (typeof v === "string" && v !== "" && keys.includes(k.trim().toLowerCase())) return v;
  return undefined;
}

/**
 * The lot and expiry of a commissioning: the event context first, then the label collection's properties as the
 * event carried them, then as stored under its id. Keys by AI ("10", "(10)", "17", "(17)") or name (lot, batch,
 * expiry), any case.
 */
export function lotAndExpiry(input: PssEventInput, options: BuildOptions = {}): { lot?: string; expiry?: string } {
  const sources: Array<Record<string, string> | undefined> = [input.context, input.labelProperties];
  if (input.labelCollectionId && options.labelCollectionProperties) sources.push(options.labelCollectionProperties(input.labelCollectionId));
  let lot: string | undefined;
  let expiry: string | undefined;
  for (const s of sources) {
    lot ??= pick(s, LOT_KEYS);
    expiry ??= pick(s, EXPIRY_KEYS);
  }
  return { ...(lot !== undefined ? { lot } : {}), ...(expiry !== undefined ? { expiry } : {}) };
}

/** One PSS event -> its EPCIS event, or null when it stays internal (or is a store bookkeeping action). */
export function toEpcisEvent(input: PssEventInput, options: BuildOptions = {}): EpcisEvent | null {
  if (!input || typeof input !== "object" || typeof input.event !== "string") throw new EpcisError("BadInput", `expected { event, serialNumbers, time?, context? }, got ${JSON.stringify(input)?.slice(0, 120)}`);
  if (!PSS.has(input.event)) {
    // pool_creating, pool_updating, sn_adding, sn_binding: the store's own bookkeeping, never an EPCIS event
    if (["pool_creating", "pool_updating", "sn_adding", "sn_binding"].includes(input.event)) return null;
    throw new EpcisError("UnknownEvent", `${JSON.stringify(input.event)} is not a PSS event (events: ${EVENTS.join(", ")})`);
  }
  const event = input.event as PssEvent;
  // the contents a shipped parent took along (the store's record per parent under it): the shipped parent's own
  // event and the aggregation events say what left; a unit-level copy of the shipment is not sent
  if (event === "shipping" && input.context?.aggregationRoot !== undefined && input.context?.parent !== undefined) return null;
  const map = MAPPING[event];
  if (map.internal && !options.includeInternal) return null;
  if (!Array.isArray(input.serialNumbers)) throw new EpcisError("BadInput", `${event}: serialNumbers must be an array`);
  const ctx = input.context ?? {};
  const eventTime = isoTime(input.time);
  const tz = timeZoneOffsetAt(options.timeZoneOffset ?? "+00:00", eventTime);
  const id = (sn: string) => identifierOf(sn, ctx, input.poolId, options);
  // built in document order in one literal: no deletes, so the object keeps a fast shape
  const ev: EpcisEvent = { type: map.type, eventTime, eventTimeZoneOffset: tz, action: map.action };
  if ((options.eventId ?? "hash") === "hash") ev.eventID = "";
  let declaredCount: number | undefined;
  if (map.type === "AggregationEvent") {
    const parent = ctx.parent;
    if (!parent) throw new EpcisError("MissingParent", `${event} record${input.seq !== undefined ? ` ${input.seq}` : ""} of ${input.serialNumbers.slice(0, 3).join(", ")} names no parent: the aggregation record must carry context.parent`);
    // a parent from another pool than its children (a serialized case of a case-GTIN pool: context.parentPool) takes
    // that pool's GTIN; the record's own context GTIN is the children's
    ev.parentID = ctx.parentPool ? identifierOf(parent, {}, ctx.parentPool, options) : id(parent);
    const children = input.serialNumbers.filter((s) => s !== parent).map(id);
    if (children.length) ev.childEPCs = children;
    else if (event === "packing") throw new EpcisError("BadInput", `packing into ${parent} names no children`);
    if (ctx.count !== undefined) {
      declaredCount = Number(ctx.count);
      if (!Number.isInteger(declaredCount) || declaredCount < 0) throw new EpcisError("BadInput", `${event} into ${parent}: context.count ${JSON.stringify(ctx.count)} is not a whole number`);
    }
  } else {
    if (input.serialNumbers.length === 0) throw new EpcisError("BadInput", `${event} names no serial numbers`);
    ev.epcList = input.serialNumbers.map(id);
  }
  ev.action = map.action;
  // inspecting is always sampling: the pool moves the pack to Sampled whatever the record's context says
  ev.bizStep = map.bizStep;
  ev.disposition = map.disposition;
  const rp = ctx.readPoint ?? options.readPoint;
  if (rp !== undefined) ev.readPoint = { id: locationUri(rp, options, "readPoint") };
  const bl = ctx.bizLocation ?? options.bizLocation;
  if (bl !== undefined) ev.bizLocation = { id: locationUri(bl, options, "bizLocation") };
  const bts = businessTransactions(ctx);
  if (bts.length) ev.bizTransactionList = bts;
  // source and destination as trading partners expect them: the owning party and, where given, the location (GLN/SGLN)
  const sources: Array<{ type: string; source: string }> = [];
  if (ctx.source) sources.push({ type: "owning_party", source: partyUri(ctx.source, options, "source") });
  if (ctx.sourceLocation) sources.push({ type: "location", source: locationUri(ctx.sourceLocation, options, "sourceLocation") });
  if (sources.length) ev.sourceList = sources;
  const destinations: Array<{ type: string; destination: string }> = [];
  if (ctx.destination) destinations.push({ type: "owning_party", destination: partyUri(ctx.destination, options, "destination") });
  if (ctx.destinationLocation) destinations.push({ type: "location", destination: locationUri(ctx.destinationLocation, options, "destinationLocation") });
  if (destinations.length) ev.destinationList = destinations;
  if (event === "commissioning") {
    const { lot, expiry } = lotAndExpiry(input, options);
    if (lot !== undefined || expiry !== undefined) {
      ev.ilmd = {};
      if (lot !== undefined) ev.ilmd["cbvmda:lotNumber"] = lot;
      if (expiry !== undefined) ev.ilmd["cbvmda:itemExpirationDate"] = expiryToDate(expiry);
    }
  }
  // the hash ignores eventID (CBV 2.0), so it is computed on the finished event
  if (ev.eventID !== undefined) ev.eventID = eventHashId(ev, options);
  return attach(ev, { event, seq: input.seq, serialNumbers: input.serialNumbers, declaredCount });
}

function attach(ev: EpcisEvent, src: EventSource): EpcisEvent {
  if (src.seq === undefined) delete src.seq;
  if (src.declaredCount === undefined) delete src.declaredCount;
  Object.defineProperty(ev, SOURCE, { value: src, enumerable: false });
  return ev;
}

/** The source record of an event built here, if any. */
export function sourceOf(ev: EpcisEvent): EventSource | undefined {
  return (ev as unknown as Record<symbol, EventSource | undefined>)[SOURCE];
}

/** Audit records (store.auditRecords()) -> EPCIS events, lazily, in the records' order. */
export function* fromAuditRecords(records: Iterable<PssEventInput>, options: BuildOptions = {}): Generator<EpcisEvent> {
  for (const r of records) {
    const ev = toEpcisEvent(r, options);
    if (ev) yield ev;
  }
}

/** Event messages ({ event, serialNumbers, time?, context? }) -> EPCIS events, lazily. */
export function* fromEvents(events: Iterable<PssEventInput>, options: BuildOptions = {}): Generator<EpcisEvent> {
  yield* fromAuditRecords(events, options);
}
