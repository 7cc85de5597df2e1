/* One pool of a pool file, read for a copy into another engine (`serialflow pool copy`, pg/copy.ts): the pool, its
   collections, the label collections its numbers use, its numbers with their states and properties, and its audit
   records with their seq and hashes. Every read runs in one read transaction (one snapshot of the file) on the
   store's connection, in pages, so a copy of millions of numbers never holds them all; the file is never written.
   The SQL of the pool file stays here, next to the store; the other engine's SQL stays with that engine. */
import type { Pool, SqlitePoolStore } from "./index";
import type { AuditRow } from "./audit";
import { PssError } from "./errors";
import { STATES, SerialNumberState } from "../lifecycle";

/** A pool as stored in the file (selectionCriteria as its JSON text). */
export type SnapshotPool = Omit<Pool, "selectionCriteria"> & { selectionCriteria: string };

export interface SnapshotCollection {
  id: string;
  description: string;
  /** the OPEN-SCS enum value */
  state: number;
  created: string;
  actor: string;
}

export interface SnapshotLabel {
  id: string;
  description: string;
  properties: string;
  created: string;
}

export interface SnapshotNumber {
  value: string;
  /** the OPEN-SCS enum value */
  state: number;
  /** the SNCollection's id, or null */
  coll: string | null;
  /** the LabelCollection's id, or null */
  label: string | null;
  /** as stored: JSON text, or null */
  properties: string | null;
}

export interface PoolSnapshot {
  file: string;
  pool: SnapshotPool;
  /** the file's audit head when the snapshot was taken (all pools) */
  head: { seq: number; hash: string };
  /** numbers of the pool in each state, counted from the stored numbers */
  counts: Record<SerialNumberState, number>;
  /** the same from the file's per-state counters (pool_count) */
  storedCounts: Record<SerialNumberState, number>;
  numbers: number;
  /** what the copy cannot carry (a PostgreSQL schema has no table for it yet) */
  packed: number;
  pendingScans: number;
  openTokens: number;
  namedRequests: number;
  collections(): Generator<SnapshotCollection[]>;
  labels(): Generator<SnapshotLabel[]>;
  numberPages(): Generator<SnapshotNumber[]>;
  /** the pool's audit records' seq and hash only, in seq order (cheap: a first pass for the copy's digest) */
  auditKeys(): Generator<Array<{ seq: number; hash: string }>>;
  /** the pool's audit records as stored, in seq order */
  auditRows(): Generator<AuditRow[]>;
  /** ends the read transaction */
  end(): void;
}

const zero = () => Object.fromEntries(STATES.map((s) => [s, 0])) as Record<SerialNumberState, number>;

function tableExists(store: SqlitePoolStore, name: string): boolean {
  return store.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
}

/**
 * Opens a snapshot of pool `poolId` of the store's file (a read transaction that end() closes). Refuses an unknown
 * pool (UnknownPool, naming the file's pools).
 */
export function readPoolSnapshot(store: SqlitePoolStore, poolId: string, options: { pageSize?: number; auditPageSize?: number; now?: number } = {}): PoolSnapshot {
  const db = store.db;
  const pageSize = options.pageSize ?? 5_000;
  const auditPage = options.auditPageSize ?? 200;
  db.exec("BEGIN");
  try {
    const row = db.prepare("SELECT * FROM pool WHERE pool_id = ?").get(poolId) as
      | { pk: number; pool_id: string; sid_class: string; selection_criteria: string; guard_policy: "strict" | "record"; low_threshold: number; max_request: number; max_count: number; is_default: number; created: string }
      | undefined;
    if (!row) {
      const names = (db.prepare("SELECT pool_id FROM pool ORDER BY pool_id").pluck().all() as string[]).join(", ") || "none";
      throw new PssError("UnknownPool", `no pool ${JSON.stringify(poolId)} in the pool file ${store.file} (pools: ${names})`);
    }
    const pk = row.pk;
    const rule = db.prepare("SELECT pattern, min_length AS minLength, max_length AS maxLength FROM pool_serial_rule WHERE pool = ?").get(pk) as SnapshotPool["serialRule"];
    const head = db.prepare("SELECT seq, hash FROM audit_head WHERE id = 1").get() as { seq: number; hash: string };
    const counts = zero();
    for (const r of db.prepare("SELECT state, count(*) AS n FROM serial_number WHERE pool = ? GROUP BY state").all(pk) as Array<{ state: number; n: number }>) counts[STATES[r.state]] = r.n;
    const storedCounts = zero();
    for (const r of db.prepare("SELECT state, sum(n) AS n FROM pool_count WHERE pool = ? GROUP BY state").all(pk) as Array<{ state: number; n: number }>) storedCounts[STATES[r.state]] = r.n;
    const numbers = Object.values(counts).reduce((a, b) => a + b, 0);
    const count = (sql: string, ...args: unknown[]) => db.prepare(sql).pluck().get(...args) as number;
    const mine = "SELECT value FROM serial_number WHERE pool = ?";
    const packed = tableExists(store, "agg_link") ? count(`SELECT count(*) FROM agg_link WHERE child IN (${mine}) OR parent IN (${mine})`, pk, pk) : 0;
    const pendingScans = tableExists(store, "agg_pending") ? count(`SELECT count(*) FROM agg_pending WHERE child IN (${mine})`, pk) : 0;
    const openTokens = count("SELECT count(*) FROM request_token WHERE pool = ? AND expires > ?", pk, options.now ?? Date.now());
    const namedRequests = tableExists(store, "sn_request") ? count("SELECT count(*) FROM sn_request r JOIN sn_collection c ON c.pk = r.sn_collection WHERE c.pool = ?", pk) : 0;

    const collPage = db.prepare("SELECT pk, id, description, state, created, actor FROM sn_collection WHERE pool = ? AND pk > ? ORDER BY pk LIMIT ?");
    const labelPage = db.prepare(`SELECT pk, id, description, properties, created FROM label_collection
      WHERE pk IN (SELECT DISTINCT label_collection FROM serial_number WHERE pool = ? AND label_collection IS NOT NULL) AND pk > ? ORDER BY pk LIMIT ?`);
    const numberPage = db.prepare(`SELECT s.value, s.state, c.id AS coll, l.id AS label, s.properties FROM serial_number s
      LEFT JOIN sn_collection c ON c.pk = s.sn_collection LEFT JOIN label_collection l ON l.pk = s.label_collection
      WHERE s.pool = ? AND s.value > ? ORDER BY s.value LIMIT ?`);
    const keyPage = db.prepare("SELECT seq, hash FROM audit WHERE pool_id = ? AND seq > ? ORDER BY seq LIMIT ?");
    const auditRowPage = db.prepare("SELECT * FROM audit WHERE pool_id = ? AND seq > ? ORDER BY seq LIMIT ?");

    return {
      file: store.file,
      pool: {
        poolId: row.pool_id, sidClass: row.sid_class, selectionCriteria: row.selection_criteria, guardPolicy: row.guard_policy, lowThreshold: row.low_threshold,
        maxRequest: row.max_request, maxCount: row.max_count, isDefault: row.is_default === 1, created: row.created, ...(rule ? { serialRule: rule } : {}),
      },
      head,
      counts,
      storedCounts,
      numbers,
      packed,
      pendingScans,
      openTokens,
      namedRequests,
      *collections() {
        for (let after = 0; ;) {
          const rows = collPage.all(pk, after, pageSize) as Array<SnapshotCollection & { pk: number }>;
          if (rows.length === 0) return;
          after = rows[rows.length - 1].pk;
          yield rows.map(({ pk: _pk, ...c }) => c);
        }
      },
      *labels() {
        for (let after = 0; ;) {
          const rows = labelPage.all(pk, after, pageSize) as Array<SnapshotLabel & { pk: number }>;
          if (rows.length === 0) return;
          after = rows[rows.length - 1].pk;
          yield rows.map(({ pk: _pk, ...l }) => l);
        }
      },
      *numberPages() {
        for (let after = ""; ;) {
          const rows = numberPage.all(pk, after, pageSize) as SnapshotNumber[];
          if (rows.length === 0) return;
          after = rows[rows.length - 1].value;
          yield rows;
        }
      },
      *auditKeys() {
        for (let after = 0; ;) {
          const rows = keyPage.all(poolId, after, pageSize) as Array<{ seq: number; hash: string }>;
          if (rows.length === 0) return;
          after = rows[rows.length - 1].seq;
          yield rows;
        }
      },
      *auditRows() {
        for (let after = 0; ;) {
          const rows = auditRowPage.all(poolId, after, auditPage) as AuditRow[];
          if (rows.length === 0) return;
          after = rows[rows.length - 1].seq;
          yield rows;
        }
      },
      end() {
        if (db.inTransaction) db.exec("COMMIT");
      },
    };
  } catch (err) {
    if (db.inTransaction) db.exec("COMMIT");
    throw err;
  }
}
