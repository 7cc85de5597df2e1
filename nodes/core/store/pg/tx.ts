/* The PostgreSQL engine's primitives (../engine.ts) inside one transaction on one connection: each yields the
   promise of its query (runAsync awaits it), so the PSS rules of ../rules.ts run here unchanged. Concurrency:
   - free numbers are taken with FOR UPDATE SKIP LOCKED: concurrent requests never wait for each other and never get
     the same number;
   - the numbers an event or a return names are locked (FOR UPDATE, in value order so that two calls naming the same
     numbers lock them in the same order and cannot deadlock) before the rule reads their states: a concurrent call
     on the same numbers waits, then sees the state this one committed;
   - counters are signed deltas appended per transaction (pool_count), never a shared row. */
import type { PoolClient } from "pg";
import { stateFromEnum, stateToEnum, type SerialNumberState } from "../../lifecycle";
import { PssError, listSome } from "../errors";
import { ruleCheck, type SerialRule } from "../serials";
import { wait, type AuditEntry, type CollRec, type EngineTx, type NumberRow, type Op, type PoolRec, type Rid } from "../engine";
import type { AuditInput } from "./chain";
import { canonicalContext } from "../audit";

const S = (s: SerialNumberState) => stateToEnum(s);

/** What the primitives need of their engine. */
export interface PgTxHost {
  /** the quoted schema */
  s: string;
  where: string;
  clock(): number;
  appendAudit(c: PoolClient, rec: AuditInput): Promise<void>;
}

interface RowWrite {
  state?: number;
  /** undefined: the collection is left as it is; null unbinds */
  coll?: number | null;
  label?: number;
  props?: Record<string, string>;
}

interface PoolDbRow {
  pk: number;
  pool_id: string;
  sid_class: string;
  selection_criteria: string;
  guard_policy: "strict" | "record";
  low_threshold: number;
  max_request: number;
  max_count: number;
  is_default: boolean;
}

const poolColumns = (t: string) =>
  `${t}pk::float8 AS pk, ${t}pool_id, ${t}sid_class, ${t}selection_criteria, ${t}guard_policy, ${t}low_threshold, ${t}max_request, ${t}max_count::float8 AS max_count, ${t}is_default`;
const POOL_COLUMNS = poolColumns("");
const COLL_COLUMNS = "pk::float8 AS pk, id, pool::float8 AS pool, description, state";

function poolRec(r: PoolDbRow): PoolRec {
  return {
    pk: r.pk, poolId: r.pool_id, sidClass: r.sid_class, selectionCriteria: JSON.parse(r.selection_criteria) as Record<string, string>, guardPolicy: r.guard_policy,
    lowThreshold: r.low_threshold, maxRequest: r.max_request, maxCount: r.max_count, isDefault: r.is_default,
  };
}

function collRec(r: { pk: number; id: string; pool: number; description: string; state: number } | undefined): CollRec | undefined {
  return r ? { pk: r.pk, id: r.id, pool: r.pool, description: r.description, state: stateFromEnum(r.state) } : undefined;
}

/** The primitives over connection `c`, for a call by `actor`; `lock` false for a read (the guard's dry run). */
export class PgTx implements EngineTx {
  readonly where: string;
  /** pools whose free numbers were taken: checked against their low threshold before the commit */
  readonly touchedPools = new Set<number>();
  private readonly s: string;
  /** pools read in this transaction (with the numbers that name them) */
  private readonly poolCache = new Map<number, PoolRec>();
  /** audit records and counter deltas: appends nothing in the transaction reads back, sent together by flush() */
  private readonly audits: AuditEntry[] = [];
  private readonly deltas: Array<[number, number, number]> = [];
  /** row writes (state, collection, label, properties) of this call, by number: written with the next statement */
  private readonly rows = new Map<string, RowWrite>();

  constructor(private readonly host: PgTxHost, private readonly c: PoolClient, readonly actor: string, private readonly lock = true) {
    this.s = host.s;
    this.where = `the PostgreSQL pool ${host.where}`;
  }

  now(): number {
    return this.host.clock();
  }

  /** every statement but the final flush: the rows written so far go first, so that it reads what this call wrote */
  private *q<R = Record<string, unknown>>(sql: string, params: unknown[] = []): Op<R[]> {
    if (this.rows.size) {
      const [text, p] = this.rowUpdate(1);
      this.rows.clear();
      yield* wait(this.c.query(`WITH r AS (${text}) SELECT 1`, p));
    }
    const r = yield* wait(this.c.query(sql, params));
    return r.rows as R[];
  }

  private row(value: string): RowWrite {
    let w = this.rows.get(value);
    if (!w) this.rows.set(value, (w = {}));
    return w;
  }

  /** One UPDATE of every row written so far (state, collection, label collection, properties merged), its
   *  parameters numbered from `first`. */
  private rowUpdate(first: number): [string, unknown[]] {
    const vs = [...this.rows.keys()];
    const ws = [...this.rows.values()];
    const n = (k: number) => `$${first + k}`;
    return [
      `UPDATE ${this.s}.serial_number s SET state = coalesce(x.state, s.state),
         sn_collection = CASE WHEN x.set_coll THEN x.coll ELSE s.sn_collection END,
         label_collection = coalesce(x.label, s.label_collection),
         properties = CASE WHEN x.props IS NULL THEN s.properties ELSE (coalesce(s.properties, '{}')::jsonb || x.props::jsonb)::text END
       FROM unnest(${n(0)}::text[], ${n(1)}::smallint[], ${n(2)}::bool[], ${n(3)}::bigint[], ${n(4)}::bigint[], ${n(5)}::text[]) AS x(value, state, set_coll, coll, label, props)
       WHERE s.value = x.value`,
      [vs, ws.map((w) => w.state ?? null), ws.map((w) => w.coll !== undefined), ws.map((w) => w.coll ?? null), ws.map((w) => w.label ?? null), ws.map((w) => (w.props ? JSON.stringify(w.props) : null))],
    ];
  }

  *pools(): Op<PoolRec[]> {
    return (yield* this.q<PoolDbRow>(`SELECT ${POOL_COLUMNS} FROM ${this.s}.pool ORDER BY pool_id`)).map(poolRec);
  }

  *poolById(poolId: string): Op<PoolRec | undefined> {
    const r = yield* this.q<PoolDbRow>(`SELECT ${POOL_COLUMNS} FROM ${this.s}.pool WHERE pool_id = $1`, [poolId]);
    return r.length ? poolRec(r[0]) : undefined;
  }

  *poolByPk(pk: number): Op<PoolRec | undefined> {
    const cached = this.poolCache.get(pk);
    if (cached) return cached;
    const r = yield* this.q<PoolDbRow>(`SELECT ${POOL_COLUMNS} FROM ${this.s}.pool WHERE pk = $1`, [pk]);
    return r.length ? poolRec(r[0]) : undefined;
  }

  *serialCheck(pool: PoolRec) {
    const r = yield* this.q<SerialRule>(`SELECT pattern, min_length AS "minLength", max_length AS "maxLength" FROM ${this.s}.pool_serial_rule WHERE pool = $1`, [pool.pk]);
    return r.length ? ruleCheck(r[0]) : null;
  }

  *collById(id: string): Op<CollRec | undefined> {
    return collRec((yield* this.q<{ pk: number; id: string; pool: number; description: string; state: number }>(`SELECT ${COLL_COLUMNS} FROM ${this.s}.sn_collection WHERE id = $1`, [id]))[0]);
  }

  *collByPk(pk: number): Op<CollRec | undefined> {
    return collRec((yield* this.q<{ pk: number; id: string; pool: number; description: string; state: number }>(`SELECT ${COLL_COLUMNS} FROM ${this.s}.sn_collection WHERE pk = $1`, [pk]))[0]);
  }

  *insertColl(id: string, pool: PoolRec, description: string, state: SerialNumberState): Op<CollRec> {
    const r = yield* this.q<{ pk: number }>(
      `INSERT INTO ${this.s}.sn_collection (id, pool, description, state, created, actor) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING RETURNING pk::float8 AS pk`,
      [id, pool.pk, description, S(state), new Date(this.now()).toISOString(), this.actor],
    );
    // a concurrent call created the same collection id first
    if (!r.length) throw new PssError("InvalidSerialNumberCollection", `SNCollection ${id} was created by another call at the same moment: repeat the call`);
    return { pk: r[0].pk, id, pool: pool.pk, description, state };
  }

  *deleteColl(pk: number): Op<void> {
    yield* this.q(`DELETE FROM ${this.s}.sn_collection WHERE pk = $1`, [pk]);
  }

  *answeredRequest(coll: number) {
    const r = yield* this.q<{ count: number; numbers: string; token: string }>(`SELECT count::float8 AS count, numbers, token FROM ${this.s}.sn_request WHERE sn_collection = $1`, [coll]);
    return r.length ? { count: r[0].count, numbers: JSON.parse(r[0].numbers) as string[], token: r[0].token } : undefined;
  }

  *recordRequest(coll: number, target: SerialNumberState, answer: { count: number; numbers: string[]; token: string }): Op<void> {
    yield* this.q(`INSERT INTO ${this.s}.sn_request (sn_collection, target, count, numbers, token) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, [coll, S(target), answer.count, JSON.stringify(answer.numbers), answer.token]);
  }

  *token(token: string) {
    const r = yield* this.q<{ token: string; pool: number; target: number; coll: number; remaining: number; expires: number }>(
      `SELECT token, pool::float8 AS pool, target, sn_collection::float8 AS coll, remaining::float8 AS remaining, expires::float8 AS expires FROM ${this.s}.request_token WHERE token = $1 FOR UPDATE`,
      [token],
    );
    return r.length ? { ...r[0], target: stateFromEnum(r[0].target) } : undefined;
  }

  *deleteToken(token: string): Op<void> {
    yield* this.q(`DELETE FROM ${this.s}.request_token WHERE token = $1`, [token]);
  }

  *insertToken(t: { token: string; pool: number; target: SerialNumberState; coll: number; remaining: number; expires: number }, purgeBefore: number): Op<void> {
    yield* this.q(`DELETE FROM ${this.s}.request_token WHERE expires < $1`, [purgeBefore]);
    yield* this.q(`INSERT INTO ${this.s}.request_token (token, pool, target, sn_collection, remaining, expires) VALUES ($1, $2, $3, $4, $5, $6)`, [t.token, t.pool, S(t.target), t.coll, t.remaining, t.expires]);
  }

  *take(pool: number, from: SerialNumberState, to: SerialNumberState, coll: number, n: number): Op<string[]> {
    const r = yield* this.q<{ value: string }>(
      `WITH picked AS (
         SELECT value FROM ${this.s}.serial_number
         WHERE pool = $1 AND state = $2 AND sn_collection IS NULL
         ORDER BY value LIMIT $3 FOR UPDATE SKIP LOCKED)
       UPDATE ${this.s}.serial_number s SET state = $4, sn_collection = $5 FROM picked WHERE s.value = picked.value RETURNING s.value`,
      [pool, S(from), n, S(to), coll],
    );
    return r.map((x) => x.value).sort();
  }

  *lookup(values: readonly string[]): Op<NumberRow[]> {
    // the numbers' pools come with them (the guard policy of each): one round trip
    const rows = yield* this.q<PoolDbRow & { value: string; pool: number; state: number; coll: number | null }>(
      `SELECT s.value, s.pool::float8 AS pool, s.state, s.sn_collection::float8 AS coll, ${poolColumns("p.")}
       FROM ${this.s}.serial_number s JOIN ${this.s}.pool p ON p.pk = s.pool WHERE s.value = ANY($1::text[]) ORDER BY s.value${this.lock ? " FOR UPDATE OF s" : ""}`,
      [values],
    );
    for (const r of rows) if (!this.poolCache.has(r.pk)) this.poolCache.set(r.pk, poolRec(r));
    const by = new Map(rows.map((r) => [r.value, r]));
    return values.map((v) => {
      const r = by.get(v);
      return r ? { v, rid: v, pool: r.pool, state: stateFromEnum(r.state), coll: r.coll } : { v, rid: null, pool: null, state: null, coll: null };
    });
  }

  // eslint-disable-next-line require-yield
  *setState(rids: readonly Rid[], state: SerialNumberState, coll?: number | null): Op<void> {
    // written with the next statement (or the flush before the commit): one UPDATE for all the rows of a call
    for (const v of rids as readonly string[]) {
      const w = this.row(v);
      w.state = S(state);
      if (coll !== undefined) w.coll = coll;
    }
  }

  // eslint-disable-next-line require-yield
  *count(pool: number, deltas: ReadonlyArray<readonly [SerialNumberState, number]>): Op<void> {
    for (const [st, n] of deltas) if (n !== 0) this.deltas.push([pool, S(st), n]);
  }

  *insertNumbers(pool: PoolRec, values: readonly string[], what: string): Op<void> {
    const seen = new Set<string>();
    const twice = values.filter((v) => seen.has(v) || (seen.add(v), false));
    if (twice.length) throw new PssError("DuplicateInBatch", `${what}: ${twice.length} serial number(s) appear twice in the batch: ${listSome(twice)}`, twice.map((d) => ({ serialNumber: d, reason: "appears more than once in the batch" })));
    const r = yield* this.q<{ value: string }>(
      `INSERT INTO ${this.s}.serial_number (value, pool, state) SELECT v, $1, $2 FROM unnest($3::text[]) AS v ORDER BY v ON CONFLICT (value) DO NOTHING RETURNING value`,
      [pool.pk, S("Unassigned"), values],
    );
    if (r.length !== values.length) {
      const fresh = new Set(r.map((x) => x.value));
      const dups = values.filter((v) => !fresh.has(v));
      throw new PssError("DuplicateSerialNumber", `${what}: ${dups.length} serial number(s) are already in the store: ${listSome(dups)}`, dups.map((d) => ({ serialNumber: d, reason: "already in the store" })));
    }
    yield* this.count(pool.pk, [["Unassigned", values.length]]);
  }

  // eslint-disable-next-line require-yield
  *audit(rec: AuditEntry): Op<void> {
    this.audits.push(rec);
  }

  /** Writes the buffered audit records (in the order the rule appended them) and counter deltas in one statement;
   *  called once the rule is done, before the commit. */
  async flush(): Promise<void> {
    if (!this.audits.length && !this.deltas.length && !this.rows.size) return;
    const [rowText, rowParams] = this.rowUpdate(16);
    this.rows.clear();
    const a = this.audits;
    const time = new Date(this.now()).toISOString();
    const col = <T>(f: (r: AuditEntry) => T) => a.map(f);
    await this.c.query(
      `WITH a AS (
         INSERT INTO ${this.s}.audit (time, actor, event, pool_id, serial_numbers, from_state, to_state, context, anomaly, method, sn_collection_id, label_collection_id)
         SELECT $1, actor, event, pool_id, serial_numbers, from_state, to_state, context, anomaly, method, sn_collection_id, label_collection_id
         FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::smallint[], $10::text[], $11::text[], $12::text[])
           WITH ORDINALITY AS x(actor, event, pool_id, serial_numbers, from_state, to_state, context, anomaly, method, sn_collection_id, label_collection_id, i)
         ORDER BY i),
       c AS (INSERT INTO ${this.s}.pool_count (pool, state, n) SELECT * FROM unnest($13::bigint[], $14::smallint[], $15::bigint[])),
       r AS (${rowText})
       SELECT 1`,
      [
        time, col((r) => r.actor), col((r) => r.event), col((r) => r.poolId), col((r) => r.serialNumbers.join("\n")), col((r) => r.fromState ?? null), col((r) => r.toState ?? null),
        col((r) => canonicalContext(r.context)), col((r) => (r.anomaly ? 1 : 0)), col((r) => r.method ?? null), col((r) => r.snCollectionId ?? null), col((r) => r.labelCollectionId ?? null),
        this.deltas.map((d) => d[0]), this.deltas.map((d) => d[1]), this.deltas.map((d) => d[2]),
        ...rowParams,
      ],
    );
  }

  touched(pool: number): void {
    this.touchedPools.add(pool);
  }

  *labelCollection(id: string, description: string, properties: string): Op<number> {
    const r = yield* this.q<{ pk: number }>(
      `INSERT INTO ${this.s}.label_collection (id, description, properties, created) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING RETURNING pk::float8 AS pk`,
      [id, description, properties, new Date(this.now()).toISOString()],
    );
    if (r.length) return r[0].pk;
    return (yield* this.q<{ pk: number }>(`SELECT pk::float8 AS pk FROM ${this.s}.label_collection WHERE id = $1`, [id]))[0].pk;
  }

  // eslint-disable-next-line require-yield
  *setLabel(label: number, rids: readonly Rid[]): Op<void> {
    for (const v of rids as readonly string[]) this.row(v).label = label;
  }

  // eslint-disable-next-line require-yield
  *setProperties(value: string, props: Record<string, string>): Op<void> {
    const w = this.row(value);
    w.props = { ...w.props, ...props };
  }

  // eslint-disable-next-line require-yield
  *expand(): Op<[]> {
    // no hierarchy on PostgreSQL yet (packing is refused there): nothing is packed under any number
    return [];
  }
}
