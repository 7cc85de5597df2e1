/* The PostgreSQL audit chain, linked after the fact (docs/architecture.md, "The PostgreSQL engine").

   Writers never touch a shared row: each call inserts its audit records into `audit` (content only, stamped with the
   writing transaction's id, xid8) and commits. The chainer, one at a time under an advisory lock, links committed
   records into one chain in `audit_link` (seq, prev_hash, hash), with the same record hash as the SQLite pool file
   (auditHash in ../audit.ts), so the same verifier (verifyRows) checks both engines and a chain copied from a file
   keeps its hashes.

   Which records may be linked: those of transactions below the horizon X (horizon() below): every writer below X
   has ended, so all its records are visible and no record with an id below X can appear later; writers at or
   above X may still be running (or not yet have written) and wait for the next run. The chain order is (transaction id, insertion id): each run links ids in [previous horizon, X) and horizons
   only grow, so the order is final. audit_head keeps the last link and the horizon; an unlinked record below the
   horizon cannot come from a writer, so verify names it as inserted. */
import type { ClientBase } from "pg";
import { AuditRecord, AuditRow, GENESIS_HASH, VerifyResult, auditHash, verifyRows } from "../audit";
import { quoteIdent } from "./migrations";

/** What a writer gives for one audit record: the record without what the chain and the clock add. */
export type AuditInput = Omit<AuditRecord, "seq" | "time" | "context" | "anomaly" | "prevHash" | "hash"> & { context?: Record<string, string>; anomaly?: boolean };

export interface ChainResult {
  /** records linked by this run */
  linked: number;
  /** false when another connection held the chainer's lock (wait: false) */
  ran: boolean;
  /** the chain's last seq after the run */
  seq: number;
}

export type PgVerifyResult =
  | { ok: true; count: number; lastHash: string; /** committed records above the horizon, not yet linked */ pending: number }
  | Exclude<VerifyResult, { ok: true }>;

const PAGE = 500;

type Stored = Omit<AuditRow, "seq" | "prev_hash" | "hash"> & { id: string; xid: string };

const COLUMNS = "a.time, a.actor, a.event, a.pool_id, a.serial_numbers, a.from_state, a.to_state, a.context, a.anomaly, a.method, a.sn_collection_id, a.label_collection_id";

/** One chainer run inside the caller's transaction. */
export async function chainAudit(c: ClientBase, schema: string, wait: boolean, lockKey: number): Promise<ChainResult> {
  const s = quoteIdent(schema);
  if (wait) await c.query("SELECT pg_advisory_xact_lock($1, hashtext($2))", [lockKey, schema]);
  else {
    const got = await c.query("SELECT pg_try_advisory_xact_lock($1, hashtext($2)) AS ok", [lockKey, schema]);
    if (!got.rows[0].ok) return { linked: 0, ran: false, seq: -1 };
  }
  const head = (await c.query(`SELECT seq::text AS seq, hash, horizon::text AS horizon FROM ${s}.audit_head WHERE id = 1 FOR UPDATE`)).rows[0] as { seq: string; hash: string; horizon: string };
  const x = await horizon(c, s);
  if (BigInt(x) <= BigInt(head.horizon)) return { linked: 0, ran: true, seq: Number(head.seq) };
  let seq = Number(head.seq);
  let hash = head.hash;
  let after: { xid: string; id: string } = { xid: head.horizon, id: "0" };
  let linked = 0;
  for (;;) {
    const page = (await c.query(
      `SELECT a.id::text AS id, a.xid::text AS xid, ${COLUMNS} FROM ${s}.audit a
       WHERE a.xid >= $1::xid8 AND a.xid < $2::xid8 AND (a.xid, a.id) > ($3::xid8, $4::bigint)
       ORDER BY a.xid, a.id LIMIT ${PAGE}`,
      [head.horizon, x, after.xid, after.id],
    )).rows as Stored[];
    if (page.length === 0) break;
    const seqs: number[] = [];
    const ids: string[] = [];
    const prevs: string[] = [];
    const hashes: string[] = [];
    for (const r of page) {
      const row: Omit<AuditRow, "hash"> = { ...rowOf(r), seq: seq + 1, prev_hash: hash };
      const h = auditHash(row);
      seq += 1;
      seqs.push(seq);
      ids.push(r.id);
      prevs.push(hash);
      hashes.push(h);
      hash = h;
      after = { xid: r.xid, id: r.id };
    }
    await c.query(`INSERT INTO ${s}.audit_link (seq, audit, prev_hash, hash) SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[])`, [seqs, ids, prevs, hashes]);
    linked += page.length;
  }
  await c.query(`UPDATE ${s}.audit_head SET seq = $1, hash = $2, horizon = $3::xid8 WHERE id = 1`, [seq, hash, x]);
  return { linked, ran: true, seq };
}

/**
 * The horizon: below it, every transaction that wrote or can write audit records has ended. Taken in this order:
 * (1) xmax of a fresh snapshot, above every transaction id assigned so far; (2) the transaction ids of the
 * transactions holding the audit table's writer lock now (pg_locks: the relation lock and the transactionid lock
 * of one virtual transaction). Every engine transaction takes that lock before its first write (index.ts), so a
 * transaction below (1) that is not in (2) has either ended (its records are visible to the next statement) or
 * never writes audit records; one that takes the lock later gets an id above (1). Unrelated transactions on the
 * server, however long, do not hold the chain back.
 */
async function horizon(c: ClientBase, s: string): Promise<string> {
  const xmax = BigInt((await c.query("SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS x")).rows[0].x as string);
  const held = (await c.query(
    `SELECT DISTINCT t.transactionid::text AS xid FROM pg_locks r
       JOIN pg_locks t ON t.virtualtransaction = r.virtualtransaction AND t.locktype = 'transactionid' AND t.mode = 'ExclusiveLock' AND t.granted
     WHERE r.locktype = 'relation' AND r.relation = $1::regclass AND r.mode = 'RowExclusiveLock' AND r.pid IS DISTINCT FROM pg_backend_pid()`,
    [`${s}.audit`],
  )).rows as Array<{ xid: string }>;
  let h = xmax;
  const epoch = xmax >> 32n;
  for (const r of held) {
    // pg_locks shows 32-bit ids: put each in the epoch of xmax (an id above xmax's low bits is of the epoch before)
    let full = (epoch << 32n) | BigInt(r.xid);
    if (full > xmax) full -= 1n << 32n;
    if (full < h) h = full;
  }
  return h.toString();
}

function rowOf(r: Omit<Stored, "id" | "xid"> & Partial<Pick<Stored, "id" | "xid">>): Omit<AuditRow, "seq" | "prev_hash" | "hash"> {
  return {
    time: r.time, actor: r.actor, event: r.event, pool_id: r.pool_id, serial_numbers: r.serial_numbers, from_state: r.from_state, to_state: r.to_state,
    context: r.context, anomaly: Number(r.anomaly), method: r.method, sn_collection_id: r.sn_collection_id, label_collection_id: r.label_collection_id,
  };
}

/**
 * Checks the chain as the SQLite log is checked (verifyRows: a changed record, a removed one, one inserted into the
 * chain), then that no record below the horizon is left out of it (inserted around the chainer). One snapshot.
 */
export async function verifyChain(c: ClientBase, schema: string): Promise<PgVerifyResult> {
  const s = quoteIdent(schema);
  await c.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  try {
    const head = (await c.query(`SELECT seq::text AS seq, hash, horizon::text AS horizon FROM ${s}.audit_head WHERE id = 1`)).rows[0] as { seq: string; hash: string; horizon: string } | undefined;
    if (!head) return { ok: false, seq: 1, kind: "removed", message: "the audit chain's head row is missing" };
    const rows: AuditRow[] = [];
    let last = 0;
    for (;;) {
      const page = (await c.query(
        `SELECT l.seq::text AS seq, l.audit::text AS audit_id, l.prev_hash, l.hash, a.id IS NOT NULL AS present, ${COLUMNS}
         FROM ${s}.audit_link l LEFT JOIN ${s}.audit a ON a.id = l.audit WHERE l.seq > $1 ORDER BY l.seq LIMIT ${PAGE}`,
        [last],
      )).rows as Array<Stored & { seq: string; audit_id: string; prev_hash: string; hash: string; present: boolean }>;
      if (page.length === 0) break;
      for (const r of page) {
        last = Number(r.seq);
        if (!r.present) return { ok: false, seq: last, kind: "removed", message: `audit record ${last} was removed: the chain links it (audit row ${r.audit_id}) but the row is gone` };
        rows.push({ ...rowOf(r), seq: last, prev_hash: r.prev_hash, hash: r.hash });
      }
    }
    const chain = verifyRows(rows, { seq: Number(head.seq), hash: head.hash });
    if (!chain.ok) return chain;
    const forged = (await c.query(
      `SELECT a.id::text AS id, a.xid::text AS xid, a.event, a.pool_id FROM ${s}.audit a LEFT JOIN ${s}.audit_link l ON l.audit = a.id
       WHERE l.seq IS NULL AND a.xid < $1::xid8 ORDER BY a.xid, a.id LIMIT 1`,
      [head.horizon],
    )).rows[0] as { id: string; xid: string; event: string; pool_id: string } | undefined;
    if (forged) {
      return {
        ok: false, seq: Number(head.seq) + 1, kind: "inserted",
        message: `audit row ${forged.id} (${forged.event}, pool ${forged.pool_id}, transaction ${forged.xid}) was inserted around the chain: its transaction is below the chained horizon ${head.horizon} but it is not linked`,
      };
    }
    const pending = Number((await c.query(`SELECT count(*) AS n FROM ${s}.audit a WHERE a.xid >= $1::xid8`, [head.horizon])).rows[0].n);
    return { ok: true, count: chain.count, lastHash: chain.count ? chain.lastHash : GENESIS_HASH, pending };
  } finally {
    await c.query("COMMIT").catch(() => undefined);
  }
}
