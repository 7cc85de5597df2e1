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

const STANDARD = new Set([
  "type", "eventTime", "eventTimeZoneOffset", "recordTime", "eventID", "certificationInfo", "errorDeclaration", "@context",
  "epcList", "parentID", "inputEPCList", "childEPCs", "quantityList", "childQuantityList", "inputQuantityList", "outputEPCList",
  "outputQuantityList", "action", "transformationID", "bizStep", "disposition", "persistentDisposition", "readPoint", "bizLocation",
  "bizTransactionList", "sourceList", "destinationList", "sensorElementList", "ilmd",
]);

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
  return Number.isInteger(n) ? BigInt(n).toString() : String(n);
}

/** Rules 5, 6, 14-18 applied to one value. */
function canonicalValue(v: Json): string {
  if (typeof v === "number") return canonicalNumber(String(v));
  if (typeof v === "boolean") return String(v);
  const s = String(v ?? "").trim();
  for (const kind of ["bizStep", "disposition", "btt", "sdt"] as const) {
    const w = cbvWebUri(kind, s);
    if (w !== s && s.startsWith("urn:epcglobal:cbv:")) return w;
  }
  if (s.startsWith("urn:epc:") || /^https?:\/\//.test(s)) return canonicalDigitalLink(s);
  return canonicalNumber(s);
}

function expandKey(key: string, ns: Record<string, string>): string {
  const c = key.indexOf(":");
  if (c < 0 || /^https?:/.test(key)) return key;
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
    return [k + (text !== undefined ? "=" + canonicalValue(text) : "") + kids.join("")];
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

/** The canonical pre-hash string of one EPCIS 2.0 JSON-LD event. */
export function preHashString(event: Record<string, unknown>, options: HashOptions = {}): string {
  const ev = event as Obj;
  if (!ev || typeof ev !== "object" || typeof ev.type !== "string") throw new EpcisError("BadInput", "preHashString needs an EPCIS event object with a type");
  const ns = { ...DEFAULT_NAMESPACES, ...(options.namespaces ?? {}) };
  const epcs = (f: string) => list(f, ((ev[f] as Json[] | undefined) ?? []).map((e) => "epc=" + canonicalValue(e)));
  const scalar = (f: string, kind?: "bizStep" | "disposition") => {
    const v = ev[f];
    if (v === undefined || v === null || v === "") return "";
    return `${f}=${kind ? cbvWebUri(kind, String(v).trim()) : canonicalValue(v)}`;
  };
  const trailing: string[] = [];
  const place = (f: "readPoint" | "bizLocation") => {
    const o = ev[f] as Obj | undefined;
    if (!o) return "";
    const extra = Object.keys(o).filter((k) => k !== "id");
    // CBV 2.0: extensions inside readPoint/bizLocation go to the trailing block under their parent's name
    if (extra.length) trailing.push(f + extra.flatMap((k) => generic(k, o[k], ns)).sort(cmp).join(""));
    return o.id === undefined ? "" : `${f}id=${canonicalValue(o.id)}`;
  };
  let s = `eventType=${ev.type}`;
  if (ev.eventTime !== undefined) s += `eventTime=${canonicalTime(String(ev.eventTime))}`;
  if (ev.eventTimeZoneOffset !== undefined) s += `eventTimeZoneOffset=${String(ev.eventTimeZoneOffset).trim()}`;
  s += epcs("epcList");
  s += scalar("parentID");
  s += epcs("inputEPCList");
  s += epcs("childEPCs");
  for (const f of ["quantityList", "childQuantityList", "inputQuantityList"]) s += list(f, ((ev[f] as Json[] | undefined) ?? []).map(quantity));
  s += epcs("outputEPCList");
  s += list("outputQuantityList", ((ev.outputQuantityList as Json[] | undefined) ?? []).map(quantity));
  s += scalar("action");
  s += scalar("transformationID");
  s += scalar("bizStep", "bizStep");
  s += scalar("disposition", "disposition");
  const pd = ev.persistentDisposition as Obj | undefined;
  if (pd) {
    const part = (k: string) => [...((pd[k] as Json[] | undefined) ?? [])].map((d) => `${k}=${cbvWebUri("disposition", String(d).trim())}`).sort(cmp).join("");
    s += "persistentDisposition" + part("set") + part("unset");
  }
  s += place("readPoint");
  s += place("bizLocation");
  s += list("bizTransactionList", typed(ev.bizTransactionList as Json[] | undefined, "bizTransaction", "btt"));
  s += list("sourceList", typed(ev.sourceList as Json[] | undefined, "source", "sdt"));
  s += list("destinationList", typed(ev.destinationList as Json[] | undefined, "destination", "sdt"));
  if (ev.sensorElementList !== undefined) throw new EpcisError("BadInput", "sensorElementList is not supported by this event hash implementation");
  const ilmd = ev.ilmd as Obj | undefined;
  if (ilmd && Object.keys(ilmd).length) s += "ilmd" + Object.keys(ilmd).flatMap((k) => generic(k, ilmd[k], ns)).sort(cmp).join("");
  const ext = Object.keys(ev).filter((k) => !STANDARD.has(k)).flatMap((k) => generic(k, ev[k], ns));
  s += [...trailing, ...ext].sort(cmp).join("");
  return s;
}

/** ni:///sha-256;<hex>?ver=CBV2.0 */
export function eventHashId(event: Record<string, unknown>, options: HashOptions = {}): string {
  return `ni:///sha-256;${crypto.createHash("sha256").update(preHashString(event, options), "utf8").digest("hex")}?ver=CBV2.0`;
}
