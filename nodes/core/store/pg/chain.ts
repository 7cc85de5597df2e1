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
import * as crypto from "crypto";
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

/** A pool copied from a pool file (copy.ts), checked against the hashes its records had in the file. */
export interface CopyCheck {
  poolId: string;
  /** the pool file it came from, as the copy named it */
  sourceFile: string;
  /** records copied, each checked with the pool file's hash rule and links */
  records: number;
  /** the last copied record's number and hash in the pool file */
  sourceLastSeq: number;
  sourceLastHash: string;
}

export type PgVerifyResult =
  | {
      ok: true; count: number; lastHash: string; /** committed records above the horizon, not yet linked */ pending: number;
      /** the copies from pool files in the chain, each verified against its pool-file hashes */ copies: CopyCheck[];
    }
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
    if (!chain.ok) return { ...chain, message: chain.message + (await copiedFrom(c, s, chain.seq)) };
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
    const copies = await verifyCopies(c, s);
    if (!Array.isArray(copies)) return copies;
    const pending = Number((await c.query(`SELECT count(*) AS n FROM ${s}.audit a WHERE a.xid >= $1::xid8`, [head.horizon])).rows[0].n);
    return { ok: true, count: chain.count, lastHash: chain.count ? chain.lastHash : GENESIS_HASH, pending, copies };
  } finally {
    await c.query("COMMIT").catch(() => undefined);
  }
}

/** The digest a copy's pool_copying record keeps of its records: sha256 over "seq hash\n" of each, in pool-file order. */
export function copyDigest(): { add(seq: number, hash: string): void; hex(): string } {
  const h = crypto.createHash("sha256");
  return { add: (seq, hash) => void h.update(`${seq} ${hash}\n`), hex: () => h.digest("hex") };
}

/** " (record 7 of pool file line.db, copied ...)" when the chain record `seq` was copied from a pool file, else "". */
async function copiedFrom(c: ClientBase, s: string, seq: number): Promise<string> {
  const r = (await c.query(
    `SELECT src.source_seq::text AS source_seq, m.context FROM ${s}.audit_link l JOIN ${s}.audit_source src ON src.audit = l.audit
     LEFT JOIN ${s}.audit m ON m.id = src.copy WHERE l.seq = $1`,
    [seq],
  )).rows[0] as { source_seq: string; context: string | null } | undefined;
  if (!r) return "";
  const file = r.context ? contextOf(r.context).sourceFile : undefined;
  return ` (it is record ${r.source_seq} of the pool file ${file ?? "(unknown)"}, copied by serialflow pool copy)`;
}

function contextOf(text: string): Record<string, string> {
  try {
    return Object.fromEntries(JSON.parse(text) as Array<[string, string]>);
  } catch {
    return {};
  }
}

type Failure = Exclude<VerifyResult, { ok: true }>;

/**
 * Each copy from a pool file (a linked pool_copying record and the records it brought, audit_source): every copied
 * record must still hash, under its pool-file number and previous hash, to the hash it had in the file; records
 * that were consecutive in the file must still link; and the set must be the one the copy recorded (count, digest,
 * last hash). So the pool file's chain stays checkable from the copy, even by someone who re-hashed this chain.
 */
async function verifyCopies(c: ClientBase, s: string): Promise<CopyCheck[] | Failure> {
  const manifests = (await c.query(
    `SELECT a.id::text AS id, a.pool_id, a.context, l.seq::text AS seq FROM ${s}.audit a JOIN ${s}.audit_link l ON l.audit = a.id
     WHERE a.event = 'pool_copying' ORDER BY l.seq`,
  )).rows as Array<{ id: string; pool_id: string; context: string; seq: string }>;
  const out: CopyCheck[] = [];
  for (const m of manifests) {
    const ctx = contextOf(m.context);
    const file = ctx.sourceFile ?? "(unknown)";
    const expected = Number(ctx.sourceRecords);
    const digest = copyDigest();
    let count = 0;
    let prev: { seq: number; hash: string } | undefined;
    let after = -1;
    for (;;) {
      const page = (await c.query(
        `SELECT src.source_seq::text AS source_seq, src.source_prev_hash, src.source_hash, a.id IS NOT NULL AS present, l.seq::text AS chain_seq, ${COLUMNS}
         FROM ${s}.audit_source src LEFT JOIN ${s}.audit a ON a.id = src.audit LEFT JOIN ${s}.audit_link l ON l.audit = src.audit
         WHERE src.copy = $1 AND src.source_seq > $2 ORDER BY src.source_seq LIMIT ${PAGE}`,
        [m.id, after],
      )).rows as Array<Stored & { source_seq: string; source_prev_hash: string; source_hash: string; present: boolean; chain_seq: string | null }>;
      if (page.length === 0) break;
      for (const r of page) {
        const seq = Number(r.source_seq);
        after = seq;
        const at = r.chain_seq ?? m.seq;
        const name = `audit record ${at} (record ${seq} of the pool file ${file})`;
        if (!r.present) return { ok: false, seq: Number(m.seq), kind: "removed", message: `record ${seq} of the pool file ${file}, copied into pool ${m.pool_id}, was removed` };
        if (auditHash({ ...rowOf(r), seq, prev_hash: r.source_prev_hash }) !== r.source_hash) {
          return { ok: false, seq: Number(at), kind: "changed", message: `${name} was changed: its content does not match the hash it had in the pool file` };
        }
        if (prev && seq === prev.seq + 1 && r.source_prev_hash !== prev.hash) {
          return { ok: false, seq: Number(at), kind: "changed", message: `${name} does not link to record ${prev.seq} of the pool file: a pool-file hash kept with the copy was changed` };
        }
        digest.add(seq, r.source_hash);
        prev = { seq, hash: r.source_hash };
        count++;
      }
    }
    const where = `the copy of pool ${m.pool_id} from the pool file ${file} (audit record ${m.seq})`;
    if (count < expected) return { ok: false, seq: Number(m.seq), kind: "removed", message: `${where} recorded ${expected} records; ${expected - count} of them are gone` };
    if (count > expected) return { ok: false, seq: Number(m.seq), kind: "inserted", message: `${where} recorded ${expected} records; ${count - expected} more claim to come from it` };
    if (digest.hex() !== ctx.sourceDigest || (prev?.hash ?? GENESIS_HASH) !== (ctx.sourceLastHash ?? GENESIS_HASH)) {
      return { ok: false, seq: Number(m.seq), kind: "changed", message: `${where}: its records are not the ones it recorded (their numbers and hashes in the pool file differ from its digest)` };
    }
    out.push({ poolId: m.pool_id, sourceFile: file, records: count, sourceLastSeq: prev?.seq ?? 0, sourceLastHash: prev?.hash ?? GENESIS_HASH });
  }
  return out;
}
