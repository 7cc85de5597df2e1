/* The EPCIS reader: an EPCIS 2.0 JSON-LD document, or an EPCIS 1.2 / 2.0 XML document, in; its events out in the
   JSON-LD shape, checked at run time by our own rules (required fields per event type, CBV vocabularies, URIs,
   EPC URIs, quantities, date-times). Every problem names the event (index, eventID) and the field. */
import { CBV_BIZSTEPS, CBV_BTT, CBV_DISPOSITIONS, CBV_SDT } from "./cbv";
import { epcUrnToDigitalLink } from "./epc-dl";
import { EpcisError, describeProblem, type EventProblem } from "./errors";
import { canonicalTime, contextNamespaces } from "./hash";
import { parseXml, type XmlElement } from "./xml";

export const EVENT_TYPES = ["ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent", "AssociationEvent"] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** A received event, JSON-LD shaped (XML is converted: extension elements become "{namespace}local" keys). */
export type ReceivedEvent = Record<string, unknown> & { type: string };

export interface ReadDocument {
  format: "json" | "xml";
  /** "2.0", "1.2", ... as the document declares it */
  schemaVersion: string;
  events: ReceivedEvent[];
  /** CURIE prefixes the JSON-LD @context declares (for the event hash of extension fields) */
  namespaces: Record<string, string>;
}

export interface ReadOptions {
  /** the largest number of problems listed (default 100) */
  maxProblems?: number;
  /** "json": CBV values as EPCIS 2.0 JSON-LD writes them (bare terms or web URIs, never URNs); "xml": URNs too */
  format?: "json" | "xml";
}

type Obj = Record<string, unknown>;

// ------------------------------------------------------------------ parsing

/** Parses a document (object, JSON text, XML text or Buffer) into its events, without checking them. */
export function parseEpcisDocument(input: unknown): ReadDocument {
  if (Buffer.isBuffer(input)) input = input.toString("utf8");
  if (typeof input === "string") {
    const t = input.replace(/^\uFEFF/, "").trimStart();
    if (t.startsWith("<")) return fromXml(parseXml(t));
    let doc: unknown;
    try {
      doc = JSON.parse(t);
    } catch (err) {
      throw new EpcisError("InvalidDocument", `the document is neither XML nor JSON: ${(err as Error).message}`);
    }
    return fromJson(doc);
  }
  return fromJson(input);
}

/** The events of a document and the namespaces their extension fields use: what the event hash needs. */
export function eventsForHash(input: unknown): { events: ReceivedEvent[]; namespaces: Record<string, string> } {
  const d = parseEpcisDocument(input);
  return { events: d.events, namespaces: d.namespaces };
}

function fromJson(doc: unknown): ReadDocument {
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) throw docError("type", "an EPCIS document is a JSON object");
  const d = doc as Obj;
  if (d.type !== "EPCISDocument" && d.type !== "EPCISQueryDocument") throw docError("type", `must be "EPCISDocument" (or "EPCISQueryDocument"), got ${JSON.stringify(d.type)}`);
  const body = d.epcisBody as Obj | undefined;
  const list = d.type === "EPCISDocument" ? body?.eventList : ((body?.queryResults as Obj | undefined)?.resultsBody as Obj | undefined)?.eventList;
  if (!Array.isArray(list)) throw docError("epcisBody.eventList", "is missing or not an array");
  const events = list.map((e, i) => {
    if (!e || typeof e !== "object" || Array.isArray(e)) throw new EpcisError("InvalidDocument", `event ${i} is not an object`, undefined, [{ index: i, field: "(event)", message: "is not an object" }]);
    return e as ReceivedEvent;
  });
  return { format: "json", schemaVersion: String(d.schemaVersion ?? ""), events, namespaces: contextNamespaces(d["@context"]) };
}

function docError(field: string, message: string): EpcisError {
  const p: EventProblem = { index: -1, field, message };
  return new EpcisError("InvalidDocument", describeProblem(p), undefined, [p]);
}

// ------------------------------------------------------------------ XML (1.2 and 2.0) -> JSON-LD shape

const LISTS_OF_EPC = new Set(["epcList", "childEPCs", "inputEPCList", "outputEPCList"]);
const QUANTITY_LISTS = new Set(["quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"]);
const TEXT_FIELDS = new Set(["eventTime", "recordTime", "eventTimeZoneOffset", "eventID", "action", "bizStep", "disposition", "parentID", "transformationID", "certificationInfo"]);

const key = (el: XmlElement) => (el.ns ? `{${el.ns}}${el.name}` : el.name);

function put(o: Obj, k: string, v: unknown): void {
  if (!(k in o)) o[k] = v;
  else if (Array.isArray(o[k]) && (o[k] as unknown[] & { __multi?: true }).__multi) (o[k] as unknown[]).push(v);
  else {
    const arr = [o[k], v] as unknown[] & { __multi?: true };
    Object.defineProperty(arr, "__multi", { value: true, enumerable: false });
    o[k] = arr;
  }
}

/** An extension element: its text, or an object of its attributes and children (repeated names -> arrays); an
 *  attribute counts as a child field, as the reference generator reads it (`<x:f x:a="2"/>` -> {x}f{x}a=2). */
function extValue(el: XmlElement): unknown {
  // xsi:type and the other XML Schema instance attributes say how to read the value: not data of the event
  const attrs = Object.entries(el.attrs).filter(([k]) => !k.startsWith("{http://www.w3.org/2001/XMLSchema-instance}"));
  if (!el.children.length && !attrs.length) return el.text.trim();
  const o: Obj = {};
  if (el.text.trim() !== "") o["#text"] = el.text.trim();
  for (const [k, v] of attrs) put(o, k, v);
  for (const c of el.children) put(o, key(c), extValue(c));
  return o;
}

function attrsObject(el: XmlElement): Obj {
  const o: Obj = {};
  for (const [k, v] of Object.entries(el.attrs)) o[k] = v;
  return o;
}

function fromXml(root: XmlElement): ReadDocument {
  if (root.name !== "EPCISDocument" && root.name !== "EPCISQueryDocument") throw docError("(root)", `the root element is <${root.name}>, not EPCISDocument`);
  const find = (el: XmlElement, name: string): XmlElement | undefined => {
    for (const c of el.children) {
      if (c.name === name && c.ns === "") return c;
      const f = find(c, name);
      if (f) return f;
    }
    return undefined;
  };
  const list = find(root, "EventList");
  if (!list) throw docError("EPCISBody.EventList", "is missing");
  const events: ReceivedEvent[] = [];
  const collect = (el: XmlElement) => {
    for (const c of el.children) {
      if (c.name === "extension" && c.ns === "") collect(c); // EPCIS 1.2 wraps TransformationEvent in <extension>
      else events.push(eventFromXml(c));
    }
  };
  collect(list);
  return { format: "xml", schemaVersion: root.attrs.schemaVersion ?? "", events, namespaces: {} };
}

function eventFromXml(el: XmlElement): ReceivedEvent {
  const ev: ReceivedEvent = { type: el.name };
  const fill = (target: Obj, parent: XmlElement) => {
    for (const c of parent.children) {
      if (c.ns) {
        put(target, key(c), extValue(c));
        continue;
      }
      const n = c.name;
      const texts = (child: string) => c.children.filter((x) => x.name === child && !x.ns).map((x) => x.text.trim());
      if (n === "extension" || n === "baseExtension") fill(target, c);
      else if (TEXT_FIELDS.has(n)) target[n] = c.text.trim();
      else if (LISTS_OF_EPC.has(n)) target[n] = texts("epc");
      else if (QUANTITY_LISTS.has(n)) {
        target[n] = c.children.filter((x) => x.name === "quantityElement").map((q) => {
          const o: Obj = {};
          for (const f of q.children) if (!f.ns) o[f.name] = f.name === "quantity" ? numberOrText(f.text.trim()) : f.text.trim();
          return o;
        });
      } else if (n === "readPoint" || n === "bizLocation") {
        const o: Obj = {};
        fill(o, c);
        target[n] = o;
      } else if (n === "id") target.id = c.text.trim();
      else if (n === "bizTransactionList" || n === "sourceList" || n === "destinationList") {
        const item = n === "bizTransactionList" ? "bizTransaction" : n === "sourceList" ? "source" : "destination";
        target[n] = c.children.filter((x) => x.name === item).map((x) => (x.attrs.type !== undefined ? { type: x.attrs.type, [item]: x.text.trim() } : { [item]: x.text.trim() }));
      } else if (n === "ilmd") {
        const o: Obj = {};
        const ilmdFill = (p: XmlElement) => {
          for (const x of p.children) {
            if (x.name === "extension" && !x.ns) ilmdFill(x);
            else put(o, key(x), extValue(x));
          }
        };
        ilmdFill(c);
        target.ilmd = o;
      } else if (n === "persistentDisposition") {
        target.persistentDisposition = { ...(texts("set").length ? { set: texts("set") } : {}), ...(texts("unset").length ? { unset: texts("unset") } : {}) };
      } else if (n === "sensorElementList") {
        target.sensorElementList = c.children.filter((x) => x.name === "sensorElement").map((se) => {
          const o: Obj = {};
          for (const x of se.children) {
            if (x.name === "sensorMetadata" && !x.ns) o.sensorMetadata = attrsObject(x);
            else if (x.name === "sensorReport" && !x.ns) ((o.sensorReport ??= []) as Obj[]).push(attrsObject(x));
            else put(o, key(x), extValue(x));
          }
          return o;
        });
      } else if (n === "errorDeclaration") {
        const o: Obj = {};
        for (const x of c.children) {
          if (x.name === "correctiveEventIDs" && !x.ns) o.correctiveEventIDs = x.children.map((y) => y.text.trim());
          else if (x.name === "extension" && !x.ns) for (const y of x.children) put(o, key(y), extValue(y));
          else put(o, key(x), x.ns ? extValue(x) : x.text.trim());
        }
        target.errorDeclaration = o;
      } else put(target, n, extValue(c));
    }
  };
  fill(ev, el);
  return ev;
}

function numberOrText(s: string): number | string {
  return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s) ? Number(s) : s;
}

// ------------------------------------------------------------------ checks

const URI = /^[a-zA-Z][a-zA-Z0-9+.-]*:\S+$/;
const OFFSET = /^[+-](0\d|1[0-4]):[0-5]\d$/;
const UOM = /^[A-Z0-9]{2,3}$/;

/** A CBV term of a kind as a bare term when it is CBV (bare, URN or web URI), else undefined. */
export function cbvTerm(kind: "bizStep" | "disposition" | "btt" | "sdt", value: string): string | undefined {
  const [urn, web, terms] = {
    bizStep: ["urn:epcglobal:cbv:bizstep:", "https://ref.gs1.org/cbv/BizStep-", CBV_BIZSTEPS],
    disposition: ["urn:epcglobal:cbv:disp:", "https://ref.gs1.org/cbv/Disp-", CBV_DISPOSITIONS],
    btt: ["urn:epcglobal:cbv:btt:", "https://ref.gs1.org/cbv/BTT-", CBV_BTT],
    sdt: ["urn:epcglobal:cbv:sdt:", "https://ref.gs1.org/cbv/SDT-", CBV_SDT],
  }[kind] as [string, string, ReadonlySet<string>];
  const bare = value.startsWith(urn) ? value.slice(urn.length) : value.startsWith(web) ? value.slice(web.length) : value.startsWith("cbv:") ? value.replace(/^cbv:[A-Za-z]+-/, "") : value;
  return terms.has(bare) ? bare : undefined;
}

/** Checks every event; returns the problems found (empty when the document is sound). */
export function checkEvents(events: ReceivedEvent[], options: ReadOptions = {}): EventProblem[] {
  const max = options.maxProblems ?? 100;
  const out: EventProblem[] = [];
  events.forEach((ev, index) => {
    if (out.length < max) out.push(...checkEvent(ev, index, options.format ?? "xml").slice(0, max - out.length));
  });
  return out;
}

function checkEvent(ev: ReceivedEvent, index: number, format: "json" | "xml"): EventProblem[] {
  const out: EventProblem[] = [];
  const eventID = typeof ev.eventID === "string" ? ev.eventID : undefined;
  const add = (field: string, message: string) => out.push({ index, ...(eventID ? { eventID } : {}), field, message });
  const type = ev.type;
  if (!(EVENT_TYPES as readonly string[]).includes(type)) {
    add("type", `${JSON.stringify(type)} is not an EPCIS event type (${EVENT_TYPES.join(", ")})`);
    return out;
  }
  const time = (f: string, required: boolean) => {
    const v = ev[f];
    if (v === undefined) {
      if (required) add(f, "is required");
      return;
    }
    try {
      canonicalTime(String(v));
    } catch {
      add(f, `${JSON.stringify(v)} is not an ISO 8601 date-time with a time zone`);
    }
  };
  time("eventTime", true);
  time("recordTime", false);
  if (ev.eventTimeZoneOffset === undefined) add("eventTimeZoneOffset", "is required");
  else if (typeof ev.eventTimeZoneOffset !== "string" || !OFFSET.test(ev.eventTimeZoneOffset)) add("eventTimeZoneOffset", `${JSON.stringify(ev.eventTimeZoneOffset)} is not ±hh:mm`);
  if (ev.eventID !== undefined && (typeof ev.eventID !== "string" || !URI.test(ev.eventID))) add("eventID", `${JSON.stringify(ev.eventID)} is not a URI`);
  const action = ev.action;
  if (type !== "TransformationEvent") {
    if (action === undefined) add("action", "is required");
    else if (!["ADD", "OBSERVE", "DELETE"].includes(action as string)) add("action", `${JSON.stringify(action)} is not ADD, OBSERVE or DELETE`);
  } else if (action !== undefined) add("action", "a TransformationEvent has no action");
  const identifier = (field: string, v: unknown, cls = false) => {
    if (typeof v !== "string" || !URI.test(v)) return add(field, `${JSON.stringify(v)} is not a URI`);
    if (v.startsWith("urn:epc:")) {
      const ok = cls ? /^urn:epc:(class|idpat):/.test(v) : v.startsWith("urn:epc:id:");
      if (!ok || epcUrnToDigitalLink(v) === undefined) add(field, `${JSON.stringify(v)} is not a well-formed GS1 EPC ${cls ? "class" : "URI"} (TDS 2.x)`);
    }
  };
  const list = (f: string) => {
    const v = ev[f];
    if (v === undefined) return [];
    if (!Array.isArray(v)) {
      add(f, "must be a list");
      return [];
    }
    return v;
  };
  if (ev.parentID !== undefined) identifier("parentID", ev.parentID);
  for (const f of LISTS_OF_EPC) list(f).forEach((x, i) => identifier(`${f}[${i}]`, x));
  for (const f of QUANTITY_LISTS) {
    list(f).forEach((q, i) => {
      const at = `${f}[${i}]`;
      if (!q || typeof q !== "object") return add(at, "is not a quantity element");
      const e = q as Obj;
      if (e.epcClass === undefined) add(`${at}.epcClass`, "is required");
      else identifier(`${at}.epcClass`, e.epcClass, true);
      if (e.quantity !== undefined) {
        const n = typeof e.quantity === "number" ? e.quantity : NaN;
        if (!Number.isFinite(n) || n < 0) add(`${at}.quantity`, `${JSON.stringify(e.quantity)} is not a non-negative number`);
        else if (e.uom === undefined && !Number.isInteger(n)) add(`${at}.quantity`, `${n} without a uom counts instances: it must be an integer`);
      } else if (e.uom !== undefined) add(`${at}.uom`, "a uom needs a quantity");
      if (e.uom !== undefined && (typeof e.uom !== "string" || !UOM.test(e.uom))) add(`${at}.uom`, `${JSON.stringify(e.uom)} is not a UN/ECE Recommendation 20 unit code`);
    });
  }
  if ((type === "AggregationEvent" || type === "AssociationEvent") && action !== "OBSERVE" && ev.parentID === undefined) add("parentID", `is required in an ${type} with action ${action}`);
  if (type === "TransactionEvent" && list("bizTransactionList").length === 0) add("bizTransactionList", "a TransactionEvent needs at least one business transaction");
  if (type === "TransformationEvent" && !list("inputEPCList").length && !list("inputQuantityList").length && !list("outputEPCList").length && !list("outputQuantityList").length && ev.transformationID === undefined) {
    add("inputEPCList", "a TransformationEvent needs inputs, outputs or a transformationID");
  }
  const vocab = (field: string, kind: "bizStep" | "disposition" | "btt" | "sdt", v: unknown) => {
    if (typeof v !== "string" || v.trim() === "") return add(field, `${JSON.stringify(v)} is not a CBV term or URI`);
    // EPCIS 2.0 JSON-LD (and its JSON schema) writes CBV values as bare terms: the URN form belongs to XML
    if (format === "json" && v.startsWith("urn:epcglobal:cbv:")) return add(field, `${JSON.stringify(v)}: EPCIS 2.0 JSON-LD writes a CBV value as its bare term${cbvTerm(kind, v) ? ` (${JSON.stringify(cbvTerm(kind, v))})` : ""}, not as a URN`);
    if (cbvTerm(kind, v) !== undefined) return;
    const known = { bizStep: ["urn:epcglobal:cbv:bizstep:", "https://ref.gs1.org/cbv/BizStep-"], disposition: ["urn:epcglobal:cbv:disp:", "https://ref.gs1.org/cbv/Disp-"], btt: ["urn:epcglobal:cbv:btt:", "https://ref.gs1.org/cbv/BTT-"], sdt: ["urn:epcglobal:cbv:sdt:", "https://ref.gs1.org/cbv/SDT-"] }[kind];
    if (known.some((p) => v.startsWith(p))) return add(field, `${JSON.stringify(v)} is not in the CBV 2.0 ${kind} vocabulary`);
    if (!URI.test(v)) add(field, `${JSON.stringify(v)} is neither a CBV 2.0 ${kind} term nor a URI of your own vocabulary`);
  };
  if (ev.bizStep !== undefined) vocab("bizStep", "bizStep", ev.bizStep);
  if (ev.disposition !== undefined) vocab("disposition", "disposition", ev.disposition);
  const pd = ev.persistentDisposition as Obj | undefined;
  if (pd !== undefined) {
    if (typeof pd !== "object" || pd === null) add("persistentDisposition", "must be an object with set/unset");
    else for (const k of ["set", "unset"]) if (pd[k] !== undefined) (Array.isArray(pd[k]) ? (pd[k] as unknown[]) : [pd[k]]).forEach((d, i) => vocab(`persistentDisposition.${k}[${i}]`, "disposition", d));
  }
  for (const f of ["readPoint", "bizLocation"]) {
    const o = ev[f];
    if (o === undefined) continue;
    if (!o || typeof o !== "object" || Array.isArray(o)) add(f, "must be an object with an id");
    else if (typeof (o as Obj).id !== "string" || !URI.test((o as Obj).id as string)) add(`${f}.id`, `${JSON.stringify((o as Obj).id)} is not a URI`);
  }
  list("bizTransactionList").forEach((b, i) => {
    const o = (b ?? {}) as Obj;
    if (typeof o.bizTransaction !== "string" || !URI.test(o.bizTransaction)) add(`bizTransactionList[${i}].bizTransaction`, `${JSON.stringify(o.bizTransaction)} is not a URI`);
    if (o.type !== undefined) vocab(`bizTransactionList[${i}].type`, "btt", o.type);
  });
  for (const [f, item] of [["sourceList", "source"], ["destinationList", "destination"]] as const) {
    list(f).forEach((b, i) => {
      const o = (b ?? {}) as Obj;
      if (typeof o[item] !== "string" || !URI.test(o[item] as string)) add(`${f}[${i}].${item}`, `${JSON.stringify(o[item])} is not a URI`);
      if (o.type === undefined) add(`${f}[${i}].type`, "is required");
      else vocab(`${f}[${i}].type`, "sdt", o.type);
    });
  }
  if (ev.ilmd !== undefined && (typeof ev.ilmd !== "object" || ev.ilmd === null || Array.isArray(ev.ilmd))) add("ilmd", "must be an object");
  list("sensorElementList").forEach((s, i) => {
    const o = (s ?? {}) as Obj;
    const reports = o.sensorReport;
    if (!Array.isArray(reports) || reports.length === 0) add(`sensorElementList[${i}].sensorReport`, "a sensor element needs at least one sensor report");
  });
  const ed = ev.errorDeclaration as Obj | undefined;
  if (ed !== undefined) {
    if (typeof ed !== "object" || ed === null) add("errorDeclaration", "must be an object");
    else if (ed.declarationTime === undefined) add("errorDeclaration.declarationTime", "is required");
  }
  return out;
}

/** Reads and checks a document: its events, or EpcisError("InvalidDocument") listing every problem per event and field. */
export function readEpcisDocument(input: unknown, options: ReadOptions = {}): ReadDocument {
  const doc = parseEpcisDocument(input);
  if (doc.format === "json" && doc.schemaVersion !== "" && !/^2\.\d+$/.test(doc.schemaVersion)) throw docError("schemaVersion", `${JSON.stringify(doc.schemaVersion)}: JSON-LD documents are EPCIS 2.x`);
  if (doc.format === "xml" && doc.schemaVersion !== "" && !/^(1\.[0-2]|2\.\d+)$/.test(doc.schemaVersion)) throw docError("schemaVersion", `${JSON.stringify(doc.schemaVersion)}: this reader takes EPCIS 1.2 and 2.x XML`);
  const problems = checkEvents(doc.events, { ...options, format: doc.format });
  if (problems.length) {
    const head = problems.slice(0, 3).map(describeProblem).join("; ");
    throw new EpcisError("InvalidDocument", `the EPCIS document has ${problems.length}${problems.length >= (options.maxProblems ?? 100) ? "+" : ""} problem(s): ${head}${problems.length > 3 ? "; ..." : ""}`, undefined, problems);
  }
  return doc;
}
