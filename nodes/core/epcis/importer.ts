/* EPCIS in: a received document applied to the pool as the PSS events it reports (commissioning, packing,
   unpacking, shipping, decommissioning, destroying, sampling), through the store's state guard and the
   aggregation rules. All or nothing per document (one store transaction), idempotent by CBV 2.0 event hash
   (table epcis_applied in the pool file), every refusal listed per event. */
import type { PssEvent } from "../lifecycle";
import type { SqlitePoolStore } from "../store";
import { aggregationFor } from "../aggregation";
import { MAPPING, OPENSCS_BIZSTEP } from "./cbv";
import { EpcisError, describeProblem, type EventProblem } from "./errors";
import { eventHashId } from "./hash";
import { isSscc, serialOfUri } from "./ids";
import { cbvTerm, readEpcisDocument, type ReceivedEvent } from "./reader";

const APPLIED_SCHEMA = `CREATE TABLE IF NOT EXISTS epcis_applied (
  hash TEXT PRIMARY KEY,
  pool_id TEXT NOT NULL,
  event TEXT NOT NULL,
  applied TEXT NOT NULL,
  actor TEXT NOT NULL
)`;

export interface ImportOptions {
  /** the pool that receives serial numbers the store does not know yet (commissioned by the document) */
  poolId: string;
  /** the pool for unknown SSCCs (logistic units); default poolId */
  logisticPoolId?: string;
  actor?: string;
  /** the serial number stored for an identifier; default: the serial of an SGTIN, the SSCC, else the URI */
  serialOf?: (uri: string) => string;
  /** an event the import does not map (receiving, TransactionEvent, ...): "refuse" the document (default) or "skip" it */
  unsupported?: "refuse" | "skip";
}

export interface ImportSummary {
  returnStatus: "NoError";
  /** events in the document */
  events: number;
  /** events applied now */
  applied: number;
  /** events applied before (same event hash): left alone */
  duplicates: number;
  /** events not mapped to a PSS event, skipped (unsupported: "skip") */
  skipped: number;
  /** applied events per PSS event */
  byEvent: Record<string, number>;
  /** serial numbers the store did not know, created by commissioning events */
  added: number;
  /** the event hashes applied now */
  hashes: string[];
}

/** What one received event does to the pool. */
type Plan =
  | { kind: "event"; event: PssEvent; serialNumbers: string[]; context: Record<string, string> }
  | { kind: "aggregation"; event: "packing" | "unpacking"; parent: string; children: string[]; context: Record<string, string> }
  | { kind: "skip"; reason: string };

/** The PSS event behind an ObjectEvent's bizStep (CBV term or OPEN-SCS vocabulary), reverse of the export mapping. */
function pssEventOf(bizStep: string): PssEvent | undefined {
  const term = cbvTerm("bizStep", bizStep);
  for (const [event, m] of Object.entries(MAPPING) as Array<[PssEvent, (typeof MAPPING)[PssEvent]]>) {
    if (m.type !== "ObjectEvent" || m.internal) continue;
    if (term !== undefined ? m.bizStep === term : m.bizStep === bizStep) return event;
  }
  return bizStep.startsWith(OPENSCS_BIZSTEP) ? (bizStep.slice(OPENSCS_BIZSTEP.length) as PssEvent) : undefined;
}

function contextOf(ev: ReceivedEvent, hash: string): Record<string, string> {
  const c: Record<string, string> = { epcisEventHash: hash, eventTime: String(ev.eventTime) };
  const ilmd = (ev.ilmd ?? {}) as Record<string, unknown>;
  const pick = (...keys: string[]) => keys.map((k) => ilmd[k]).find((v) => typeof v === "string") as string | undefined;
  const lot = pick("cbvmda:lotNumber", "{urn:epcglobal:cbv:mda}lotNumber", "lotNumber");
  const expiry = pick("cbvmda:itemExpirationDate", "{urn:epcglobal:cbv:mda}itemExpirationDate", "itemExpirationDate");
  if (lot) c.lot = lot;
  if (expiry) c.expiry = expiry;
  const first = (f: string, item: string) => ((ev[f] as Array<Record<string, string>> | undefined) ?? [])[0]?.[item];
  const bt = first("bizTransactionList", "bizTransaction");
  if (bt) c.bizTransaction = bt;
  const src = first("sourceList", "source");
  if (src) c.source = src;
  const dst = first("destinationList", "destination");
  if (dst) c.destination = dst;
  return c;
}

function planOf(ev: ReceivedEvent, hash: string, serialOf: (uri: string) => string): Plan | EventProblem {
  const bad = (field: string, message: string): EventProblem => ({ index: -1, field, message, code: "UnsupportedEvent" });
  const context = contextOf(ev, hash);
  const list = (f: string) => ((ev[f] as string[] | undefined) ?? []);
  if (ev.type === "AggregationEvent") {
    if (ev.action === "OBSERVE") return { kind: "skip", reason: "an AggregationEvent with action OBSERVE changes no state" };
    if (list("childQuantityList" as string).length && !list("childEPCs").length) return bad("childQuantityList", "packing by quantity names no serial numbers: the pool cannot apply it");
    const event = ev.action === "ADD" ? "packing" : "unpacking";
    const children = list("childEPCs").map(serialOf);
    if (event === "packing" && !children.length) return bad("childEPCs", "packing needs the children's identifiers");
    return { kind: "aggregation", event, parent: serialOf(String(ev.parentID)), children, context };
  }
  if (ev.type !== "ObjectEvent") return { kind: "skip", reason: `${ev.type} has no PSS event` };
  if (typeof ev.bizStep !== "string") return { kind: "skip", reason: "an ObjectEvent without bizStep has no PSS event" };
  const event = pssEventOf(ev.bizStep);
  if (!event || !(event in MAPPING)) return { kind: "skip", reason: `bizStep ${ev.bizStep} has no PSS event the import applies` };
  const m = MAPPING[event];
  if (m.internal) return { kind: "skip", reason: `${event} is a pool-internal event` };
  if (m.action !== ev.action) return bad("action", `${ev.action} does not go with bizStep ${ev.bizStep} (${m.action} expected)`);
  const epcs = list("epcList");
  if (!epcs.length) return bad("epcList", `${event} needs the serial numbers' identifiers (quantityList names none)`);
  return { kind: "event", event, serialNumbers: epcs.map(serialOf), context };
}

function problemOf(err: unknown, index: number, ev: ReceivedEvent, field: string): EventProblem {
  const e = err as { code?: string; message?: string; details?: Array<{ serialNumber?: string }> };
  const serials = (e.details ?? []).map((d) => d.serialNumber).filter((s): s is string => typeof s === "string");
  return {
    index,
    ...(typeof ev.eventID === "string" ? { eventID: ev.eventID } : {}),
    field,
    message: e.message ?? String(err),
    code: e.code ?? "Refused",
    ...(serials.length ? { serialNumbers: serials } : {}),
  };
}

/** The event hashes already applied to this pool file. */
export function appliedEventHashes(store: SqlitePoolStore): Set<string> {
  store.transaction((tx) => tx.db.exec(APPLIED_SCHEMA));
  return new Set(store.db.prepare("SELECT hash FROM epcis_applied").pluck().all() as string[]);
}

/**
 * Applies a received EPCIS document (object, JSON-LD or XML text, Buffer) to the pool, all or nothing. Throws
 * EpcisError("InvalidDocument") when the reader's checks fail and EpcisError("ImportRefused") when the pool
 * refuses an event; `problems` lists every refusal with the event's index, eventID and field.
 */
export function importEpcisDocument(store: SqlitePoolStore, input: unknown, options: ImportOptions): ImportSummary {
  if (!options || typeof options.poolId !== "string" || !options.poolId) throw new EpcisError("BadOption", "importEpcisDocument needs options.poolId: the pool that receives new serial numbers");
  for (const p of [options.poolId, options.logisticPoolId]) {
    if (p !== undefined && !store.getPool(p)) throw new EpcisError("BadOption", `pool ${p} does not exist in ${store.file}`);
  }
  const doc = readEpcisDocument(input);
  const serialOf = options.serialOf ?? serialOfUri;
  const actor = options.actor ?? "epcis-import";
  const agg = aggregationFor(store);
  const summary: ImportSummary = { returnStatus: "NoError", events: doc.events.length, applied: 0, duplicates: 0, skipped: 0, byEvent: {}, added: 0, hashes: [] };
  const problems: EventProblem[] = [];
  const seenNow = new Set<string>();
  store.transaction((tx) => {
    // created inside the document's transaction: a refused first document leaves the file as it was
    tx.db.exec(APPLIED_SCHEMA);
    const known = tx.db.prepare("SELECT 1 FROM epcis_applied WHERE hash = ?").pluck();
    const remember = tx.db.prepare("INSERT INTO epcis_applied (hash, pool_id, event, applied, actor) VALUES (?, ?, ?, ?, ?)");
    doc.events.forEach((ev, index) => {
      let hash: string;
      try {
        hash = eventHashId(ev, { namespaces: doc.namespaces });
      } catch (err) {
        problems.push(problemOf(err, index, ev, "(event hash)"));
        return;
      }
      if (seenNow.has(hash) || known.get(hash) !== undefined) {
        summary.duplicates++;
        return;
      }
      seenNow.add(hash);
      let plan: Plan | EventProblem;
      try {
        plan = planOf(ev, hash, serialOf);
      } catch (err) {
        problems.push(problemOf(err, index, ev, "(identifiers)"));
        return;
      }
      if ("message" in plan) {
        problems.push({ ...plan, index, ...(typeof ev.eventID === "string" ? { eventID: ev.eventID } : {}) });
        return;
      }
      if (plan.kind === "skip") {
        if ((options.unsupported ?? "refuse") === "skip") summary.skipped++;
        else problems.push({ index, ...(typeof ev.eventID === "string" ? { eventID: ev.eventID } : {}), field: "bizStep", message: `not applied to the pool: ${plan.reason}`, code: "UnsupportedEvent" });
        return;
      }
      const p = plan;
      try {
        // each event in a savepoint of the document's transaction: a refusal is listed and the next event still checked
        store.transaction(() => {
          if (p.kind === "aggregation") {
            if (p.event === "packing") agg.pack([{ parent: p.parent, children: p.children }], { actor, context: p.context });
            else agg.unpackMany([{ parent: p.parent, children: p.children }], { actor, context: p.context });
          } else {
            if (p.event === "commissioning") summary.added += provisionUnknown(store, p.serialNumbers, options, actor, hash, p.context);
            store.applyEvent(p.event, { serialNumbers: p.serialNumbers, context: p.context, actor });
          }
          remember.run(hash, options.poolId, p.event, new Date().toISOString(), actor);
        }, { actor });
      } catch (err) {
        problems.push(problemOf(err, index, ev, p.kind === "aggregation" ? (p.event === "packing" ? "childEPCs" : "parentID") : "epcList"));
        return;
      }
      summary.applied++;
      summary.byEvent[p.event] = (summary.byEvent[p.event] ?? 0) + 1;
      summary.hashes.push(hash);
    });
    // all or nothing: one refused event rolls the whole document back
    if (problems.length) {
      const head = problems.slice(0, 3).map(describeProblem).join("; ");
      throw new EpcisError("ImportRefused", `EPCIS document refused, nothing applied: ${problems.length} event(s) refused: ${head}${problems.length > 3 ? "; ..." : ""}`, undefined, problems);
    }
  }, { actor });
  return summary;
}

/** Serial numbers a commissioning event names that the store does not know: created in the receiving pool and
 *  brought to Encoded (audited, with the event hash in the context), so the commissioning passes the guard. */
function provisionUnknown(store: SqlitePoolStore, serials: string[], o: ImportOptions, actor: string, hash: string, context: Record<string, string>): number {
  const unknown = serials.filter((s) => store.getSerialNumber(s) === undefined);
  if (!unknown.length) return 0;
  const logistic = unknown.filter((s) => /^[0-9]{18}$/.test(s) || isSscc(s));
  const items = unknown.filter((s) => !logistic.includes(s));
  const groups: Array<[string, string[]]> = [[o.poolId, items], [o.logisticPoolId ?? o.poolId, logistic]];
  for (const [poolId, values] of groups) {
    if (!values.length) continue;
    const pool = store.getPool(poolId);
    store.pushTo("Encoded", { snCollection: { id: `EPCIS-${hash.slice(14, 30)}-${poolId}`, serialNumbers: values }, poolSelectionCriteria: { PoolID: pool?.poolId ?? poolId }, actor, context: { epcisEventHash: context.epcisEventHash } });
  }
  return unknown.length;
}
