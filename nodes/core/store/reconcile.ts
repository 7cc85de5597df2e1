/* Reconciliation: the numbers a crash (or a lost answer) left Allocated or Encoded for units that never came, listed
   by pool, collection and age; invalidated (never printed: Allocated -> SNInvalid) or scrapped (printed: Encoded ->
   LabelScrapped) in one audited transaction; and the end-of-batch report per pool and per lot. */
import { STATES, SerialNumberState, stateFromEnum, stateToEnum } from "../lifecycle";
import { PssError } from "./errors";
import type { Dict, SqlitePoolStore } from "./index";

export interface StrandedGroup {
  poolId: string;
  /** the SNCollection the numbers were handed out in ("" when none) */
  snCollectionId: string;
  state: "Allocated" | "Encoded";
  /** when the collection (or, for Encoded numbers, its label collection) was made, ISO 8601 */
  since: string;
  serialNumbers: string[];
}

export interface StrandedQuery {
  poolId?: string;
  /** only numbers whose collection is at least this old (ms); 0 or absent: all */
  olderThanMs?: number;
}

export interface ReconcileResult {
  groups: StrandedGroup[];
  /** Allocated numbers invalidated (applied only) */
  invalidated: number;
  /** Encoded labels scrapped (applied only) */
  scrapped: number;
  applied: boolean;
}

const STRANDED = [stateToEnum("Allocated"), stateToEnum("Encoded")];

/** Allocated and Encoded numbers, by pool, collection and state, oldest collection first. */
export function strandedNumbers(store: SqlitePoolStore, q: StrandedQuery = {}): StrandedGroup[] {
  if (q.poolId !== undefined && !store.getPool(q.poolId)) throw new PssError("UnknownPool", `pool ${q.poolId} does not exist in ${store.file} (pools: ${store.listPools().map((p) => p.poolId).join(", ") || "none"})`);
  const older = q.olderThanMs ?? 0;
  if (typeof older !== "number" || !Number.isFinite(older) || older < 0) throw new PssError("InvalidArgument", `olderThan must be a duration of 0 or more, got ${JSON.stringify(q.olderThanMs)}`);
  const cutoff = new Date(Date.now() - older).toISOString();
  const rows = store.db.prepare(`SELECT p.pool_id AS pool, coalesce(c.id, '') AS coll, s.state AS state,
      max(coalesce(c.created, ''), coalesce(l.created, '')) AS since, s.value AS v
    FROM serial_number s JOIN pool p ON p.pk = s.pool
    LEFT JOIN sn_collection c ON c.pk = s.sn_collection LEFT JOIN label_collection l ON l.pk = s.label_collection
    WHERE s.state IN (${STRANDED.join(",")}) AND (? IS NULL OR p.pool_id = ?)
    ORDER BY since, p.pool_id, coll, s.state, s.value`).raw(true).iterate(q.poolId ?? null, q.poolId ?? null) as IterableIterator<[string, string, number, string, string]>;
  const out: StrandedGroup[] = [];
  let g: StrandedGroup | undefined;
  for (const [pool, coll, state, since, v] of rows) {
    // a number without a known time counts as old: it cannot belong to a unit on its way right now
    if (older > 0 && since !== "" && since > cutoff) continue;
    const st = stateFromEnum(state) as "Allocated" | "Encoded";
    if (!g || g.poolId !== pool || g.snCollectionId !== coll || g.state !== st || g.since !== since) out.push((g = { poolId: pool, snCollectionId: coll, state: st, since, serialNumbers: [] }));
    g.serialNumbers.push(v);
  }
  return out;
}

/**
 * Lists the stranded numbers and, with `apply`, invalidates the Allocated ones (never printed) and scraps the
 * Encoded ones (printed labels) in one transaction, one audit record per group. Listing and change happen under the
 * same write lock, so a number that moved on in between is not touched.
 */
export function reconcile(store: SqlitePoolStore, q: StrandedQuery & { apply?: boolean; actor?: string; context?: Dict } = {}): ReconcileResult {
  if (!q.apply) return { groups: strandedNumbers(store, q), invalidated: 0, scrapped: 0, applied: false };
  return store.transaction(() => {
    const groups = strandedNumbers(store, q);
    let invalidated = 0;
    let scrapped = 0;
    for (const g of groups) {
      const context: Dict = { ...(q.context ?? {}), reconcile: g.state === "Allocated" ? "never printed" : "printed, never commissioned", ...(g.snCollectionId ? { snCollectionId: g.snCollectionId } : {}) };
      const event = g.state === "Allocated" ? "sn_invalidating" : "label_scrapping";
      const r = store.applyEvent(event, { serialNumbers: g.serialNumbers, poolId: g.poolId, actor: q.actor, context });
      if (g.state === "Allocated") invalidated += r.applied;
      else scrapped += r.applied;
    }
    return { groups, invalidated, scrapped, applied: true };
  }, { actor: q.actor });
}

export interface BatchCounts {
  /** numbers that left the free pool (Allocated, and every state after it, invalidated ones included) */
  requested: number;
  /** labels printed: Encoded and every state after it */
  printed: number;
  /** commissioned: Commissioned, Sampled, Inactive, Destroyed, Released */
  commissioned: number;
  released: number;
  scrapped: number;
  /** LabelSampled and Sampled */
  sampled: number;
  invalidated: number;
  stillAllocated: number;
  stillEncoded: number;
  /** parents being filled by an aggregator (children waiting, parent not closed) */
  openParents: number;
  states: Record<SerialNumberState, number>;
}

export interface BatchReport {
  poolId: string;
  pool: BatchCounts;
  /** per lot ("" = numbers with no lot: never printed, or printed without one) */
  lots: Array<{ lot: string } & BatchCounts>;
  /** every number accounted for: none Allocated or Encoded, no open parent */
  accountedFor: boolean;
}

const PRINTED: SerialNumberState[] = ["Encoded", "LabelSampled", "LabelScrapped", "Commissioned", "Sampled", "Inactive", "Destroyed", "Released"];
const COMMISSIONED: SerialNumberState[] = ["Commissioned", "Sampled", "Inactive", "Destroyed", "Released"];
const LOT_KEYS = ["lot", "batch", "10"];

function counts(states: Record<SerialNumberState, number>, openParents: number): BatchCounts {
  const sum = (xs: SerialNumberState[]) => xs.reduce((n, s) => n + states[s], 0);
  return {
    requested: sum(["Allocated", "SNInvalid", ...PRINTED]),
    printed: sum(PRINTED),
    commissioned: sum(COMMISSIONED),
    released: states.Released,
    scrapped: states.LabelScrapped,
    sampled: states.LabelSampled + states.Sampled,
    invalidated: states.SNInvalid,
    stillAllocated: states.Allocated,
    stillEncoded: states.Encoded,
    openParents,
    states,
  };
}

function lotOf(json: string | null, pairs: boolean): string | undefined {
  if (!json) return undefined;
  let entries: Array<[string, unknown]>;
  try {
    const x = JSON.parse(json) as unknown;
    entries = pairs && Array.isArray(x) ? (x as Array<[string, unknown]>) : Object.entries(x as Record<string, unknown>);
  } catch {
    return undefined;
  }
  for (const k of LOT_KEYS) {
    const hit = entries.find(([key, v]) => key.toLowerCase() === k && typeof v === "string" && v !== "");
    if (hit) return hit[1] as string;
  }
  return undefined;
}

/** The end-of-batch report of each pool (or one): counts by outcome, for the pool and for each lot. */
export function batchReport(store: SqlitePoolStore, poolId?: string): BatchReport[] {
  const pools = poolId === undefined ? store.listPools() : [store.getPool(poolId) ?? (() => { throw new PssError("UnknownPool", `pool ${poolId} does not exist in ${store.file}`); })()];
  const db = store.db;
  const hasAgg = !!db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'agg_pending'").get();
  const out: BatchReport[] = [];
  for (const p of pools) {
    const zero = () => Object.fromEntries(STATES.map((s) => [s, 0])) as Record<SerialNumberState, number>;
    const all = zero();
    const lots = new Map<string, Record<SerialNumberState, number>>();
    const rows = db.prepare(`SELECT s.state, s.properties, l.properties AS lp, count(*) AS n FROM serial_number s JOIN pool p ON p.pk = s.pool
      LEFT JOIN label_collection l ON l.pk = s.label_collection WHERE p.pool_id = ? AND s.state NOT IN (0, 1)
      GROUP BY s.state, s.properties, l.properties`).raw(true).iterate(p.poolId) as IterableIterator<[number, string | null, string | null, number]>;
    for (const [state, props, lp, n] of rows) {
      const s = stateFromEnum(state);
      const lot = lotOf(props, false) ?? lotOf(lp, true) ?? "";
      all[s] += n;
      const l = lots.get(lot) ?? zero();
      l[s] += n;
      lots.set(lot, l);
    }
    const free = store.countByState(p.poolId);
    all.Unassigned = free.Unassigned;
    all.Unallocated = free.Unallocated;
    const open = new Map<string, number>();
    let openAll = 0;
    if (hasAgg) {
      const pend = db.prepare(`SELECT pe.lot, count(DISTINCT pe.builder || '/' || pe.level) FROM agg_pending pe JOIN serial_number s ON s.value = pe.child
        JOIN pool p ON p.pk = s.pool WHERE p.pool_id = ? GROUP BY pe.lot`).raw(true).all(p.poolId) as Array<[string, number]>;
      for (const [lot, n] of pend) {
        open.set(lot, n);
        openAll += n;
      }
    }
    const lotList = [...new Set([...lots.keys(), ...open.keys()])].sort().map((lot) => ({ lot, ...counts(lots.get(lot) ?? zero(), open.get(lot) ?? 0) }));
    const pc = counts(all, openAll);
    out.push({ poolId: p.poolId, pool: pc, lots: lotList, accountedFor: pc.stillAllocated === 0 && pc.stillEncoded === 0 && openAll === 0 });
  }
  return out;
}

/** "30s", "15m", "2h", "7d", "500ms" as milliseconds. */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/i.exec(String(text));
  if (!m) throw new PssError("InvalidArgument", `${JSON.stringify(text)} is not a duration: give a number and a unit (500ms, 30s, 15m, 2h, 7d)`);
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2].toLowerCase() as "ms"];
  return Math.round(Number(m[1]) * unit);
}
