/* The audit log's record, its canonical serialisation and hash chain, and the verifier that locates the first
   changed, removed or inserted record. Pure functions: the store feeds them rows. */
import * as crypto from "crypto";

/** Actions the store audits besides the 16 PSS events. */
export const AUDIT_ACTIONS = [
  "pool_creating", // a pool was created (no serial numbers)
  "pool_updating", // a pool's settings changed (context: the new values and, as "was.<key>", the old ones)
  "sn_adding", // numbers entered a pool as Unassigned (provision, import, or an SNto* push of unknown numbers)
  "sn_binding", // SNRequestUnassigned bound free Unassigned numbers to an SNCollection (no state change)
  "pool_copying", // PostgreSQL: a pool was copied from a pool file (`serialflow pool copy`); its records follow it
  "sn_transferring", // free numbers left a local pool for its global pool (replenish.ts): bound to the outbound transfer's collection
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export const GENESIS_HASH = "0".repeat(64);

export interface AuditRecord {
  seq: number;
  /** ISO 8601 */
  time: string;
  actor: string;
  /** a PssEvent, or one of AUDIT_ACTIONS */
  event: string;
  poolId: string;
  serialNumbers: string[];
  fromState?: string;
  toState?: string;
  context: Record<string, string>;
  /** a transition the table forbids, stored under the pool's `record` guard policy */
  anomaly: boolean;
  /** the PSS function that caused it (SNRequestAllocated, SIDCommissioningEvent, ...), when known */
  method?: string;
  snCollectionId?: string;
  labelCollectionId?: string;
  prevHash: string;
  hash: string;
}

/** The row as stored: numbers joined by "\n" (serial numbers never contain control characters). */
export interface AuditRow {
  seq: number;
  time: string;
  actor: string;
  event: string;
  pool_id: string;
  serial_numbers: string;
  from_state: string | null;
  to_state: string | null;
  context: string;
  anomaly: number;
  method: string | null;
  sn_collection_id: string | null;
  label_collection_id: string | null;
  prev_hash: string;
  hash: string;
}

/** Context as canonical JSON: keys sorted, string values only. */
export function canonicalContext(ctx: Record<string, string> | undefined): string {
  const keys = Object.keys(ctx ?? {}).sort();
  return JSON.stringify(keys.map((k) => [k, (ctx as Record<string, string>)[k]]));
}

/**
 * sha256 over the canonical serialisation of a row: a JSON array of every field but the numbers (seq and the
 * previous record's hash included), a newline, then the numbers as stored; fed in parts so a 1,000,000-number
 * record is not copied again.
 */
export function auditHash(row: Omit<AuditRow, "hash">): string {
  const head = JSON.stringify([
    "serialflow-audit-v1",
    row.seq,
    row.time,
    row.actor,
    row.event,
    row.pool_id,
    row.from_state,
    row.to_state,
    row.context,
    row.anomaly ? 1 : 0,
    row.method,
    row.sn_collection_id,
    row.label_collection_id,
    row.prev_hash,
    row.serial_numbers.length,
  ]);
  return crypto.createHash("sha256").update(head).update("\n").update(row.serial_numbers).digest("hex");
}

export function rowToRecord(r: AuditRow): AuditRecord {
  const rec: AuditRecord = {
    seq: r.seq,
    time: r.time,
    actor: r.actor,
    event: r.event,
    poolId: r.pool_id,
    serialNumbers: r.serial_numbers === "" ? [] : r.serial_numbers.split("\n"),
    context: Object.fromEntries(JSON.parse(r.context) as Array<[string, string]>),
    anomaly: r.anomaly === 1,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
  if (r.from_state !== null) rec.fromState = r.from_state;
  if (r.to_state !== null) rec.toState = r.to_state;
  if (r.method !== null) rec.method = r.method;
  if (r.sn_collection_id !== null) rec.snCollectionId = r.sn_collection_id;
  if (r.label_collection_id !== null) rec.labelCollectionId = r.label_collection_id;
  return rec;
}

export type VerifyResult =
  | { ok: true; count: number; lastHash: string }
  | { ok: false; seq: number; kind: "changed" | "removed" | "inserted"; message: string };

/**
 * Walks the rows in seq order with a window of three (before, current, next) so that an inserted record (the
 * next one links over it) is told apart from a changed one. `head` is the last seq/hash the store recorded.
 */
export function verifyRows(rows: Iterable<AuditRow>, head: { seq: number; hash: string } | undefined): VerifyResult {
  let prev: { seq: number; hash: string } = { seq: 0, hash: GENESIS_HASH };
  let count = 0;
  let cur: AuditRow | undefined;
  const judge = (r: AuditRow, next: AuditRow | undefined): VerifyResult | null => {
    const selfOk = auditHash(r) === r.hash;
    const linkOk = r.prev_hash === prev.hash;
    if (r.seq !== prev.seq + 1 && !linkOk) {
      return { ok: false, seq: prev.seq + 1, kind: "removed", message: `audit record ${prev.seq + 1} is missing: record ${r.seq} follows record ${prev.seq} and does not link to it` };
    }
    if (next && next.prev_hash === prev.hash && next.prev_hash !== r.hash) {
      return { ok: false, seq: r.seq, kind: "inserted", message: `audit record ${r.seq} was inserted: record ${next.seq} links to record ${prev.seq}, over it` };
    }
    if (!selfOk) {
      // a record renumbered after a removal hashes right under its old number
      if (!linkOk && auditHash({ ...r, seq: r.seq + 1 }) === r.hash) {
        return { ok: false, seq: r.seq, kind: "removed", message: `audit record ${r.seq} was removed and the records after it renumbered` };
      }
      if (!linkOk && auditHash({ ...r, seq: r.seq - 1 }) === r.hash) {
        return { ok: false, seq: r.seq - 1, kind: "inserted", message: `audit record ${r.seq - 1} was inserted and the records after it renumbered` };
      }
      return { ok: false, seq: r.seq, kind: "changed", message: `audit record ${r.seq} was changed: its content does not match its hash` };
    }
    if (!linkOk) {
      return { ok: false, seq: prev.seq, kind: "changed", message: `audit record ${r.seq} does not link to record ${prev.seq}: record ${prev.seq} was changed (and re-hashed) or a record between them was removed` };
    }
    return null;
  };
  for (const next of rows) {
    if (cur) {
      const bad = judge(cur, next);
      if (bad) return bad;
      prev = { seq: cur.seq, hash: cur.hash };
      count++;
    }
    cur = next;
  }
  if (cur) {
    const bad = judge(cur, undefined);
    if (bad) return bad;
    prev = { seq: cur.seq, hash: cur.hash };
    count++;
  }
  if (head && (head.seq !== prev.seq || head.hash !== prev.hash)) {
    if (head.seq > prev.seq) return { ok: false, seq: prev.seq + 1, kind: "removed", message: `audit record ${prev.seq + 1} and later are missing: the log ends at ${prev.seq}, its head says ${head.seq}` };
    if (head.seq < prev.seq) return { ok: false, seq: head.seq + 1, kind: "inserted", message: `audit record ${head.seq + 1} was appended behind the log's head (record ${head.seq})` };
    return { ok: false, seq: prev.seq, kind: "changed", message: `audit record ${prev.seq} does not match the log's head hash` };
  }
  return { ok: true, count, lastHash: prev.hash };
}
