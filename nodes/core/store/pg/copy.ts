/* serialflow pool copy: one pool of a SQLite pool file into a PostgreSQL schema, in one transaction (all of it or
   nothing), read from a snapshot of the file (../export.ts) that is never written.

   What is copied: the pool (settings, serial rule), its SNCollections, the LabelCollections its numbers use (one the
   schema has already, with the same content, is shared), its numbers with state, collection, label collection and
   properties, the per-state counters, and the pool's audit records, each with its content exactly as in the file.

   The audit records (docs/store.md, "Copying a pool into PostgreSQL"): the copy appends one `pool_copying` record
   (the source file, the file's head, how many records follow, the first and last seq and hash, and a digest of
   their (seq, hash) pairs), then the pool's records, in file order. The chainer links them into this schema's chain
   like any other record (new seq, hashes under this chain). Each copied record also keeps its seq, previous hash and
   hash in the file (audit_source), and verify checks them with the file's rule (auditHash over the file's seq and
   previous hash; consecutive file records must link; the set must match the digest). So the file's chain of this
   pool stays checkable from the copy alone, and a changed copied record is named with its number in both chains. */
import type { PoolClient } from "pg";
import { STATES, SerialNumberState, stateToEnum } from "../../lifecycle";
import { GENESIS_HASH } from "../audit";
import { PssError, listSome } from "../errors";
import type { PoolSnapshot } from "../export";
import { copyDigest } from "./chain";
import type { PgPoolEngine } from "./index";

export interface CopyResult {
  poolId: string;
  sourceFile: string;
  numbers: number;
  collections: number;
  labelCollections: number;
  /** audit records copied (the pool_copying record not counted) */
  records: number;
  /** numbers per state written */
  counts: Record<SerialNumberState, number>;
  /** things said about the copy (a default pool that could not stay the default, what was not carried) */
  notes: string[];
}

const zero = () => Object.fromEntries(STATES.map((s) => [s, 0])) as Record<SerialNumberState, number>;

/**
 * Refusals before anything is written: a pool whose numbers are packed (no aggregation tables in the schema yet),
 * a file whose counters disagree with its numbers. Throws PssError CopyRefused.
 */
export function checkCopyable(snap: PoolSnapshot): void {
  const pool = snap.pool.poolId;
  if (snap.packed > 0 || snap.pendingScans > 0) {
    throw new PssError("CopyRefused", `pool ${pool} of ${snap.file} has ${snap.packed} aggregation link(s) and ${snap.pendingScans} pending aggregation scan(s): the PostgreSQL engine has no aggregation tables yet, so the pool cannot be copied whole; nothing was copied`);
  }
  const off = STATES.filter((s) => snap.counts[s] !== snap.storedCounts[s]);
  if (off.length) {
    throw new PssError("CopyRefused", `pool ${pool} of ${snap.file}: the file's counters disagree with its numbers (${off.map((s) => `${s}: counter ${snap.storedCounts[s]}, numbers ${snap.counts[s]}`).join("; ")}); run serialflow audit verify --db on it; nothing was copied`);
  }
}

/** Copies the snapshot's pool into the engine's schema in one transaction; refuses (nothing written) when the pool,
 *  one of its SNCollections or serial numbers exists there already, or a LabelCollection of the same id differs. */
export async function copyPool(engine: PgPoolEngine, snap: PoolSnapshot, options: { actor?: string; sourceName?: string } = {}): Promise<CopyResult> {
  checkCopyable(snap);
  const s = engine.s;
  const where = engine.where;
  const p = snap.pool;
  const sourceFile = options.sourceName ?? snap.file;
  const notes: string[] = [];
  if (snap.openTokens > 0) notes.push(`${snap.openTokens} open request token(s) of the pool were not copied: a request paging through them continues in the pool file only`);
  if (snap.namedRequests > 0) notes.push(`the answers to ${snap.namedRequests} named request(s) (repeats answered with the same numbers) were not copied: the PostgreSQL engine does not keep them yet`);

  // first pass over the pool's audit records (seq and hash only): what the pool_copying record says of them
  const digest = copyDigest();
  let records = 0;
  let first = 0;
  let last = { seq: 0, hash: GENESIS_HASH };
  for (const page of snap.auditKeys()) {
    for (const k of page) {
      if (records === 0) first = k.seq;
      digest.add(k.seq, k.hash);
      last = k;
      records++;
    }
  }
  const sourceDigest = digest.hex();

  const refuse = (code: string, m: string) => new PssError(code, `${m}; nothing was copied`);
  const result = await engine.transaction(async (c: PoolClient) => {
    if ((await c.query(`SELECT 1 FROM ${s}.pool WHERE pool_id = $1`, [p.poolId])).rowCount) {
      throw refuse("PoolExists", `pool ${p.poolId} exists already in the PostgreSQL pool ${where} (a copy never merges into a pool)`);
    }
    let isDefault = p.isDefault;
    if (isDefault) {
      await c.query(`LOCK TABLE ${s}.pool IN SHARE ROW EXCLUSIVE MODE`);
      const d = (await c.query(`SELECT pool_id FROM ${s}.pool WHERE is_default LIMIT 1`)).rows[0]?.pool_id as string | undefined;
      if (d !== undefined) {
        isDefault = false;
        notes.push(`pool ${p.poolId} is the default pool of ${snap.file}, but pool ${d} is the default of the PostgreSQL schema: it was copied as not the default`);
      }
    }
    const ins = await c.query(
      `INSERT INTO ${s}.pool (pool_id, sid_class, selection_criteria, guard_policy, low_threshold, max_request, max_count, is_default, created)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (pool_id) DO NOTHING RETURNING pk`,
      [p.poolId, p.sidClass, p.selectionCriteria, p.guardPolicy, p.lowThreshold, p.maxRequest, p.maxCount, isDefault, p.created],
    );
    if (ins.rowCount === 0) throw refuse("PoolExists", `pool ${p.poolId} exists already in the PostgreSQL pool ${where} (a copy never merges into a pool)`);
    const pk = ins.rows[0].pk as string;
    if (p.serialRule) await c.query(`INSERT INTO ${s}.pool_serial_rule (pool, pattern, min_length, max_length) VALUES ($1, $2, $3, $4)`, [pk, p.serialRule.pattern, p.serialRule.minLength, p.serialRule.maxLength]);

    // label collections: shared by id; one of the same id with other content is a conflict
    let labels = 0;
    for (const page of snap.labels()) {
      const r = await c.query(
        `INSERT INTO ${s}.label_collection (id, description, properties, created) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
         ON CONFLICT (id) DO NOTHING RETURNING id`,
        [page.map((l) => l.id), page.map((l) => l.description), page.map((l) => l.properties), page.map((l) => l.created)],
      );
      labels += page.length;
      if (r.rowCount !== page.length) {
        const fresh = new Set(r.rows.map((x) => x.id as string));
        const there = new Map((await c.query(`SELECT id, description, properties FROM ${s}.label_collection WHERE id = ANY($1::text[])`, [page.filter((l) => !fresh.has(l.id)).map((l) => l.id)])).rows.map((x) => [x.id as string, x]));
        const differ = page.filter((l) => !fresh.has(l.id) && (there.get(l.id)?.description !== l.description || there.get(l.id)?.properties !== l.properties)).map((l) => l.id);
        if (differ.length) throw refuse("CopyConflict", `LabelCollection(s) ${listSome(differ)} exist already in the PostgreSQL pool ${where} with other content`);
      }
    }

    let collections = 0;
    for (const page of snap.collections()) {
      const r = await c.query(
        `INSERT INTO ${s}.sn_collection (id, pool, description, state, created, actor)
         SELECT u.id, $1, u.description, u.state, u.created, u.actor FROM unnest($2::text[], $3::text[], $4::smallint[], $5::text[], $6::text[]) AS u(id, description, state, created, actor)
         ON CONFLICT (id) DO NOTHING RETURNING id`,
        [pk, page.map((x) => x.id), page.map((x) => x.description), page.map((x) => x.state), page.map((x) => x.created), page.map((x) => x.actor)],
      );
      if (r.rowCount !== page.length) {
        const fresh = new Set(r.rows.map((x) => x.id as string));
        const dup = page.filter((x) => !fresh.has(x.id)).map((x) => x.id);
        throw refuse("CopyConflict", `SNCollection(s) ${listSome(dup)} of pool ${p.poolId} exist already in the PostgreSQL pool ${where}`);
      }
      collections += page.length;
    }

    const counts = zero();
    let numbers = 0;
    for (const page of snap.numberPages()) {
      const r = await c.query(
        `INSERT INTO ${s}.serial_number (value, pool, state, sn_collection, label_collection, properties)
         SELECT u.v, $1, u.st, c.pk, l.pk, u.p FROM unnest($2::text[], $3::smallint[], $4::text[], $5::text[], $6::text[]) AS u(v, st, cid, lid, p)
         LEFT JOIN ${s}.sn_collection c ON c.id = u.cid LEFT JOIN ${s}.label_collection l ON l.id = u.lid
         ORDER BY u.v ON CONFLICT (value) DO NOTHING`,
        [pk, page.map((x) => x.value), page.map((x) => x.state), page.map((x) => x.coll), page.map((x) => x.label), page.map((x) => x.properties)],
      );
      if (r.rowCount !== page.length) {
        const there = (await c.query(
          `SELECT s.value, p.pool_id FROM ${s}.serial_number s JOIN ${s}.pool p ON p.pk = s.pool WHERE s.value = ANY($1::text[]) AND s.pool <> $2 ORDER BY s.value LIMIT 5`,
          [page.map((x) => x.value), pk],
        )).rows as Array<{ value: string; pool_id: string }>;
        throw refuse("DuplicateSerialNumber", `${page.length - (r.rowCount ?? 0)} or more serial number(s) of pool ${p.poolId} are stored already in the PostgreSQL pool ${where} (${there.map((x) => `${JSON.stringify(x.value)} in pool ${x.pool_id}`).join(", ")})`);
      }
      for (const x of page) counts[STATES[x.state]]++;
      numbers += page.length;
    }
    const d = STATES.filter((st) => counts[st] !== 0);
    if (d.length) await c.query(`INSERT INTO ${s}.pool_count (pool, state, n) SELECT $1, * FROM unnest($2::smallint[], $3::bigint[])`, [pk, d.map((st) => stateToEnum(st)), d.map((st) => counts[st])]);

    // the pool_copying record first, then the copied records, in file order (the chain orders by transaction, then id)
    await engine.appendAudit(c, {
      actor: options.actor ?? "serialflow", event: "pool_copying", poolId: p.poolId, serialNumbers: [],
      context: {
        sourceFile, sourceHeadSeq: String(snap.head.seq), sourceHeadHash: snap.head.hash,
        sourceRecords: String(records), sourceFirstSeq: String(first), sourceLastSeq: String(last.seq), sourceLastHash: last.hash, sourceDigest,
        numbers: String(numbers), ...Object.fromEntries(d.map((st) => [`count.${st}`, String(counts[st])])),
      },
    });
    const copyId = (await c.query("SELECT currval(pg_get_serial_sequence($1, 'id'))::text AS id", [`${s}.audit`])).rows[0].id as string;
    let copied = 0;
    const check = copyDigest();
    for (const page of snap.auditRows()) {
      // ids above the pool_copying record's, ascending in file order
      const ids = ((await c.query("SELECT nextval(pg_get_serial_sequence($1, 'id')) AS id FROM generate_series(1, $2)", [`${s}.audit`, page.length])).rows.map((x) => BigInt(x.id as string)))
        .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map(String);
      await c.query(
        `INSERT INTO ${s}.audit (id, time, actor, event, pool_id, serial_numbers, from_state, to_state, context, anomaly, method, sn_collection_id, label_collection_id)
         OVERRIDING SYSTEM VALUE
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::smallint[], $11::text[], $12::text[], $13::text[])`,
        [
          ids, page.map((r) => r.time), page.map((r) => r.actor), page.map((r) => r.event), page.map((r) => r.pool_id), page.map((r) => r.serial_numbers),
          page.map((r) => r.from_state), page.map((r) => r.to_state), page.map((r) => r.context), page.map((r) => r.anomaly), page.map((r) => r.method),
          page.map((r) => r.sn_collection_id), page.map((r) => r.label_collection_id),
        ],
      );
      await c.query(
        `INSERT INTO ${s}.audit_source (audit, copy, source_seq, source_prev_hash, source_hash) SELECT u.a, $1, u.q, u.ph, u.h FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::text[]) AS u(a, q, ph, h)`,
        [copyId, ids, page.map((r) => r.seq), page.map((r) => r.prev_hash), page.map((r) => r.hash)],
      );
      for (const r of page) check.add(r.seq, r.hash);
      copied += page.length;
    }
    // the file did not move under the snapshot (it cannot: one read transaction), but say so if it ever did
    if (copied !== records || check.hex() !== sourceDigest) throw refuse("CopyRefused", `the pool file ${snap.file} changed while it was read (${records} records, then ${copied})`);
    return { numbers, collections, labels, counts };
  });
  // link the new records now (best effort: verify links what is left)
  await engine.chainAudit({ wait: false }).catch(() => undefined);
  return { poolId: p.poolId, sourceFile, numbers: result.numbers, collections: result.collections, labelCollections: result.labels, records, counts: result.counts, notes };
}
