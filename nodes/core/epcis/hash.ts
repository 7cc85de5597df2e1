/* The CBV 2.0 "EPCIS event hash ID" (CBV 2.0 §8.9; reference implementation RalphTro/epcis-event-hash-generator):
   a canonical pre-hash string of the event, SHA-256, wrapped as ni:///sha-256;<hex>?ver=CBV2.0.
   Written here rather than taken from epcis2.js, which pulls crypto-js 3, superagent and a dozen more packages. */
import * as crypto from "crypto";
import { cbvWebUri } from "./cbv";
import { canonicalDigitalLink } from "./ids";
import { EpcisError } from "./errors";

/** CURIE prefixes -> namespaces for extension and ILMD keys (cbvmda as its XML namespace, so XML and JSON hash alike). */
export const DEFAULT_NAMESPACES: Readonly<Record<string, string>> = {
  cbvmda: "urn:epcglobal:cbv:mda",
  gs1: "https://gs1.org/voc/",
  cbv: "https://ref.gs1.org/cbv/",
  epcis: "https://ref.gs1.org/epcis/",
};

export interface HashOptions {
  /** extra CURIE prefixes used by extension fields, e.g. { example: "https://ns.example.com/epcis/" } */
  namespaces?: Record<string, string>;
}

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

const GS1_VOC = "https://ref.gs1.org/voc/";

/** Fields the pre-hash string leaves out (the reference implementation's ignore list, and CBV 2.0 §8.9 rule 4). */
const EXCLUDED = new Set(["type", "recordTime", "eventID", "errorDeclaration", "certificationInfo", "@context", "@type", "rdfs:comment", "{http://www.w3.org/2000/01/rdf-schema#}comment"]);

/** Fields with a place in the canonical order; anything else is an extension (the sorted block at the end). */
const ORDERED = new Set([
  "eventTime", "eventTimeZoneOffset", "parentID", "epcList", "inputEPCList", "childEPCs", "quantityList", "childQuantityList", "inputQuantityList",
  "outputEPCList", "outputQuantityList", "action", "transformationID", "bizStep", "disposition", "persistentDisposition", "readPoint", "bizLocation",
  "bizTransactionList", "sourceList", "destinationList", "sensorElementList", "ilmd",
]);

/** sensorMetadata and sensorReport fields, in the reference implementation's order */
const SENSOR_METADATA = ["time", "startTime", "endTime", "deviceID", "deviceMetadata", "rawData", "dataProcessingMethod", "bizRules"];
const SENSOR_REPORT = [
  "type", "exception", "deviceID", "deviceMetadata", "rawData", "dataProcessingMethod", "time", "microorganism", "chemicalSubstance", "value",
  "component", "stringValue", "booleanValue", "hexBinaryValue", "uriValue", "minValue", "maxValue", "meanValue", "sDev", "percRank", "percValue",
  "uom", "coordinateReferenceSystem",
];

/** The CURIE prefixes a JSON-LD document declares in its @context (objects only; the EPCIS context URL adds the defaults). */
export function contextNamespaces(context: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of Array.isArray(context) ? context : [context]) {
    if (c && typeof c === "object") for (const [k, v] of Object.entries(c as Record<string, unknown>)) if (typeof v === "string" && !k.startsWith("@")) out[k] = v;
  }
  return out;
}

/** An ISO 8601 date-time in UTC with exactly three decimals (rules 8-9), the 4th decimal rounding half up. */
export function canonicalTime(t: string): string {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/.exec(String(t).trim());
  if (!m) throw new EpcisError("BadTime", `${JSON.stringify(t)} is not an ISO 8601 date-time with a time zone`);
  const base = Date.parse(m[1] + m[3]);
  if (Number.isNaN(base)) throw new EpcisError("BadTime", `${JSON.stringify(t)} is not a valid date-time`);
  const frac = (m[2] ?? "").padEnd(4, "0");
  const ms = Number(frac.slice(0, 3)) + (Number(frac[3]) >= 5 ? 1 : 0);
  return new Date(base + ms).toISOString();
}

function canonicalNumber(v: string): string {
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v)) return v;
  const n = Number(v);
  if (!Number.isFinite(n)) return v;
  // an integer literal keeps every digit (a 24-digit stringValue is not rounded through a double)
  if (/^[+-]?\d+$/.test(v)) return BigInt(v).toString();
  return Number.isInteger(n) ? BigInt(n).toString() : String(n);
}

/** Rules 5, 6, 14-18 applied to one value. */
function canonicalValue(v: Json): string {
  if (typeof v === "number") return canonicalNumber(String(v));
  if (typeof v === "boolean") return String(v);
  const s = String(v ?? "").trim();
  if (s.startsWith("urn:epcglobal:cbv:")) {
    for (const kind of ["bizStep", "disposition", "btt", "sdt"] as const) {
      const w = cbvWebUri(kind, s);
      if (w !== s) return w;
    }
    if (s.startsWith("urn:epcglobal:cbv:er:")) return "https://ref.gs1.org/cbv/ER-" + s.slice(21);
  }
  if (s.startsWith("urn:epc:") || /^https?:\/\//.test(s)) return canonicalDigitalLink(s);
  return canonicalNumber(s);
}

/** A date-time field (name holds "time", not "offset"): canonical UTC when it parses, else as a value. */
function timeValue(v: Json): string {
  try {
    return canonicalTime(String(v));
  } catch {
    return canonicalValue(v);
  }
}

/** A term of the GS1 vocabulary (sensor type, exception): bare or gs1: -> ref.gs1.org/voc; any other CURIE or URI
 *  as written (the reference's published vectors keep "example:someSensorProperty"). */
function vocabTerm(v: Json): string {
  const s = String(v).trim();
  if (!s.includes(":")) return GS1_VOC + s;
  if (s.startsWith("gs1:")) return GS1_VOC + s.slice(4);
  return s;
}

function expandKey(key: string, ns: Record<string, string>): string {
  const c = key.indexOf(":");
  if (c < 0 || key.startsWith("{") || /^https?:/.test(key)) return key;
  const uri = ns[key.slice(0, c)];
  return uri === undefined ? key : `{${uri}}${key.slice(c + 1)}`;
}

/** Extension/ILMD content (rules 19-20): "{ns}local=value" or "{ns}local" + children, siblings sorted. */
function generic(key: string, v: Json, ns: Record<string, string>): string[] {
  const k = expandKey(key, ns);
  if (Array.isArray(v)) return v.flatMap((x) => generic(key, x, ns));
  if (v !== null && typeof v === "object") {
    const text = (v as Obj)["#text"];
    const kids = Object.keys(v).filter((x) => x !== "#text" && !x.startsWith("@")).flatMap((x) => generic(x, (v as Obj)[x], ns)).sort(cmp);
    return [k + (text !== undefined && String(text).trim() !== "" ? "=" + canonicalValue(text) : "") + kids.join("")];
  }
  const val = canonicalValue(v);
  return [val === "" ? k : `${k}=${val}`];
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function list(name: string, items: string[]): string {
  return items.length ? name + [...items].sort(cmp).join("") : "";
}

function quantity(el: Json): string {
  const q = el as Obj;
  let s = "quantityElement";
  if (q.epcClass !== undefined) s += "epcClass=" + canonicalValue(q.epcClass);
  if (q.quantity !== undefined) s += "quantity=" + canonicalValue(q.quantity);
  if (q.uom !== undefined) s += "uom=" + canonicalValue(q.uom);
  return s;
}

function typed(items: Json[] | undefined, field: string, kind: "btt" | "sdt"): string[] {
  return (items ?? []).map((x) => {
    const o = x as Obj;
    const type = o.type === undefined ? "" : "type=" + cbvWebUri(kind, String(o.type).trim());
    return type + field + "=" + canonicalValue(o[field]);
  });
}

function asList(v: Json | undefined): Json[] {
  return v === undefined || v === null ? [] : Array.isArray(v) ? v : [v];
}

/** Extension fields of a standard object: its keys outside `known`, as generic strings. */
function leftovers(o: Obj, known: readonly string[], ns: Record<string, string>): string[] {
  return Object.keys(o).filter((k) => !known.includes(k) && !k.startsWith("@")).flatMap((k) => generic(k, o[k], ns));
}

/**
 * sensorElementList (EPCIS 2.0 §7.3.8): each element as "sensorElement" + its metadata fields in order + its
 * reports sorted, elements sorted; extension fields inside go to the trailing block under "sensorElement".
 */
function sensorElements(v: Json | undefined, ns: Record<string, string>, trailing: string[]): string {
  const ordered: string[] = [];
  for (const el of asList(v)) {
    const e = (el ?? {}) as Obj;
    const field = (name: string, val: Json) => {
      if (val === undefined || val === null || String(val).trim() === "") return "";
      if (name === "type" || name === "exception") return `${name}=${vocabTerm(val)}`;
      if (name === "component") return `${name}=${String(val).trim().replace(/^cbv:/, "https://ref.gs1.org/cbv/")}`;
      if (/time/i.test(name)) return `${name}=${timeValue(val)}`;
      return `${name}=${canonicalValue(val)}`;
    };
    const md = e.sensorMetadata as Obj | undefined;
    const mdText = md ? SENSOR_METADATA.map((k) => field(k, md[k])).join("") : "";
    const reports = asList(e.sensorReport).map((r) => SENSOR_REPORT.map((k) => field(k, (r as Obj)[k])).join("")).filter((x) => x !== "").map((x) => "sensorReport" + x);
    const body = (mdText ? "sensorMetadata" + mdText : "") + reports.sort(cmp).join("");
    if (body) ordered.push("sensorElement" + body);
    const rest: string[] = [];
    if (md) {
      const x = leftovers(md, SENSOR_METADATA, ns).sort(cmp);
      if (x.length) rest.push("sensorMetadata" + x.join(""));
    }
    for (const r of asList(e.sensorReport)) {
      const x = leftovers(r as Obj, SENSOR_REPORT, ns).sort(cmp);
      if (x.length) rest.push("sensorReport" + x.join(""));
    }
    rest.push(...leftovers(e, ["sensorMetadata", "sensorReport"], ns));
    if (rest.length) trailing.push("sensorElement" + rest.sort(cmp).join(""));
  }
  return ordered.sort(cmp).join("");
}

/** The canonical pre-hash string of one EPCIS 2.0 JSON-LD event. */
export function preHashString(event: Record<string, unknown>, options: HashOptions = {}): string {
  const ev = event as Obj;
  if (!ev || typeof ev !== "object" || typeof ev.type !== "string") throw new EpcisError("BadInput", "preHashString needs an EPCIS event object with a type");
  const ns = { ...DEFAULT_NAMESPACES, ...(options.namespaces ?? {}) };
  const epcs = (f: string) => list(f, asList(ev[f]).map((e) => "epc=" + canonicalValue(e)));
  // a CBV term written as a "cbv:" CURIE ("cbv:BizStep-receiving", as the reference's examples do) -> its web URI
  const cbvCurie = (v: string) => (v.startsWith("cbv:") && ns.cbv ? ns.cbv + v.slice(4) : v);
  const scalar = (f: string, kind?: "bizStep" | "disposition") => {
    const v = ev[f];
    if (v === undefined || v === null || v === "") return "";
    return `${f}=${kind ? canonicalValue(cbvWebUri(kind, cbvCurie(String(v).trim()))) : canonicalValue(v)}`;
  };
  // everything without a place in the order: sorted together at the end (ilmd, extensions, extensions inside standard fields)
  const trailing: string[] = [];
  const place = (f: "readPoint" | "bizLocation") => {
    const o = ev[f] as Obj | undefined;
    if (!o) return "";
    const extra = leftovers(o, ["id"], ns).sort(cmp);
    if (extra.length) trailing.push(f + extra.join(""));
    return o.id === undefined ? "" : `${f}id=${canonicalValue(o.id)}`;
  };
  let s = `eventType=${ev.type}`;
  if (ev.eventTime !== undefined) s += `eventTime=${canonicalTime(String(ev.eventTime))}`;
  if (ev.eventTimeZoneOffset !== undefined) s += `eventTimeZoneOffset=${String(ev.eventTimeZoneOffset).trim()}`;
  s += epcs("epcList");
  s += scalar("parentID");
  s += epcs("inputEPCList");
  s += epcs("childEPCs");
  for (const f of ["quantityList", "childQuantityList", "inputQuantityList"]) s += list(f, asList(ev[f]).map(quantity));
  s += epcs("outputEPCList");
  s += list("outputQuantityList", asList(ev.outputQuantityList).map(quantity));
  s += scalar("action");
  s += scalar("transformationID");
  s += scalar("bizStep", "bizStep");
  s += scalar("disposition", "disposition");
  const pd = ev.persistentDisposition as Obj | undefined;
  if (pd) {
    const part = (k: string) => asList(pd[k]).map((d) => `${k}=${canonicalValue(cbvWebUri("disposition", cbvCurie(String(d).trim())))}`).sort(cmp).join("");
    const p = part("set") + part("unset");
    if (p) s += "persistentDisposition" + p;
  }
  s += place("readPoint");
  s += place("bizLocation");
  s += list("bizTransactionList", typed(asList(ev.bizTransactionList), "bizTransaction", "btt"));
  s += list("sourceList", typed(asList(ev.sourceList), "source", "sdt"));
  s += list("destinationList", typed(asList(ev.destinationList), "destination", "sdt"));
  s += sensorElements(ev.sensorElementList, ns, trailing);
  // ilmd closes the ordered part (the reference's published vectors: after the sensor elements, before any extension)
  const ilmd = ev.ilmd as Obj | undefined;
  if (ilmd && typeof ilmd === "object") {
    const kids = Object.keys(ilmd).filter((k) => !k.startsWith("@")).flatMap((k) => generic(k, ilmd[k], ns)).sort(cmp);
    if (kids.length) s += "ilmd" + kids.join("");
  }
  // then the extensions inside standard fields, in the fields' order (readPoint, bizLocation, sensor elements),
  // then the event's own extension fields, sorted
  const ext = Object.keys(ev).filter((k) => !ORDERED.has(k) && !EXCLUDED.has(k) && expandKey(k, ns) !== "{http://www.w3.org/2000/01/rdf-schema#}comment").flatMap((k) => generic(k, ev[k], ns));
  s += trailing.join("") + ext.sort(cmp).join("");
  return s;
}

/** ni:///sha-256;<hex>?ver=CBV2.0 */
export function eventHashId(event: Record<string, unknown>, options: HashOptions = {}): string {
  return `ni:///sha-256;${crypto.createHash("sha256").update(preHashString(event, options), "utf8").digest("hex")}?ver=CBV2.0`;
}
