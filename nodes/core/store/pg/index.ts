/* The PostgreSQL engine's groundwork (issue 17; docs/architecture.md, "The PostgreSQL engine"): a connection pool
   on one configurable schema, versioned migrations, the set-based primitives that the PSS rules will run over
   (create a pool, add numbers, provision, draw N numbers with FOR UPDATE SKIP LOCKED), each in one transaction with
   its audit record, the audit chain linked after the fact (chain.ts), and connection failures as a specific
   StoreError. The only folder of the package that imports `pg` (test/core/layering.spec.ts checks it). Not yet
   wired to any node, CLI command or the pool contract: that is the contract refactor's work. */
import * as crypto from "crypto";
import { Pool as PgPool, PoolClient, PoolConfig } from "pg";
import { STATES, SerialNumberState, stateToEnum } from "../../lifecycle";
import { canonicalContext } from "../audit";
import { PssError, StoreError } from "../errors";
import { LOCK_CHAIN, PG_SCHEMA_VERSION, checkSchema, migrate, quoteIdent } from "./migrations";
import { AuditInput, ChainResult, PgVerifyResult, chainAudit, verifyChain } from "./chain";

export { MIGRATIONS, PG_SCHEMA_VERSION, migrate, checkSchema, schemaVersion, quoteIdent } from "./migrations";
export type { Migration } from "./migrations";
export type { AuditInput, ChainResult, PgVerifyResult } from "./chain";

export interface PgEngineOptions {
  /** postgres://user@host:port/database (TLS and passwords as node-postgres takes them) */
  connectionString?: string;
  /** further node-postgres pool settings (max connections, ssl, password, ...) */
  pool?: PoolConfig;
  /** the schema that holds the pool tables; default "serialflow" */
  schema?: string;
  /** apply missing migrations when opening (default true); false refuses a schema that is not current */
  migrate?: boolean;
  /** link committed audit records into the chain after each call (default true; never waits for another chainer) */
  chainAfterCommit?: boolean;
  /** the clock (ms since epoch) for audit times */
  clock?: () => number;
  /** who the audit log names when a call gives no actor */
  defaultActor?: string;
}

export interface PgPoolDef {
  poolId: string;
  sidClass: string;
  selectionCriteria?: Record<string, string>;
  guardPolicy?: "strict" | "record";
  lowThreshold?: number;
  maxRequest?: number;
  maxCount?: number;
  isDefault?: boolean;
}

export interface CallOptions {
  actor?: string;
  method?: string;
  context?: Record<string, string>;
}

export interface DrawResult {
  snCollectionId: string;
  serialNumbers: string[];
  /** fewer free numbers than asked were there */
  insufficient: boolean;
}

const S = (s: SerialNumberState) => stateToEnum(s);

/** SQLSTATEs and socket errors that mean the connection (not the statement) failed. */
const CONNECTION_CODES = new Set(["57P01", "57P02", "57P03", "ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN"]);

/** Whether `err` is a lost or refused connection (pgCode it carries, or "" when node-postgres gave none). */
export function connectionFailure(err: unknown): string | undefined {
  const code = (err as { code?: unknown })?.code;
  if (typeof code === "string" && (CONNECTION_CODES.has(code) || code.startsWith("08"))) return code;
  const msg = (err as Error)?.message ?? "";
  if (/Connection terminated|connection error|Client has encountered a connection error|not queryable|Connection ended|terminating connection/i.test(msg)) return typeof code === "string" ? code : "";
  return undefined;
}

/** A pg error as a StoreError (ConnectionLost, PoolBusy, StorageError); PssError and StoreError pass unchanged. */
export function asPgStoreError(err: unknown, where: string, phase: "connect" | "body" | "commit"): unknown {
  if (err instanceof StoreError || err instanceof PssError) return err;
  const lost = connectionFailure(err);
  const msg = (err as Error)?.message ?? String(err);
  if (lost !== undefined) {
    if (phase === "connect") return new StoreError("ConnectionLost", `cannot reach the PostgreSQL pool ${where}: ${msg}; nothing was changed, try again`, undefined, { pgCode: lost });
    if (phase === "commit") {
      return new StoreError("ConnectionLost", `the connection to the PostgreSQL pool ${where} broke while committing (${msg}): the call either committed whole or not at all; check before repeating it`, undefined, { pgCode: lost, inDoubt: true });
    }
    return new StoreError("ConnectionLost", `the connection to the PostgreSQL pool ${where} broke during the call (${msg}); the transaction was rolled back, nothing was changed; try again`, undefined, { pgCode: lost });
  }
  const code = (err as { code?: unknown })?.code;
  if (code === "40P01" || code === "40001" || code === "55P03") return new StoreError("PoolBusy", `the PostgreSQL pool ${where} is busy (${code}: ${msg}); nothing was changed, try again`, undefined, { pgCode: code });
  if (code === "53100") return new StoreError("DiskFull", `the PostgreSQL server of ${where} is out of disk space (${msg}); nothing was changed`, undefined, { pgCode: code });
  if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) && !code.startsWith("23") && !code.startsWith("22")) {
    return new StoreError("StorageError", `the PostgreSQL pool ${where} failed: ${code}: ${msg}; nothing was changed`, undefined, { pgCode: code });
  }
  return err;
}

export class PgPoolEngine {
  readonly schema: string;
  /** the quoted schema, for SQL text */
  readonly s: string;
  readonly pool: PgPool;
  private readonly clock: () => number;
  private readonly defaultActor: string;
  private readonly chainAfterCommit: boolean;
  private readonly where: string;
  private closed = false;

  private constructor(pool: PgPool, schema: string, options: PgEngineOptions) {
    this.pool = pool;
    this.schema = schema;
    this.s = quoteIdent(schema);
    this.clock = options.clock ?? Date.now;
    this.defaultActor = options.defaultActor ?? "serialflow";
    this.chainAfterCommit = options.chainAfterCommit !== false;
    this.where = `schema ${JSON.stringify(schema)}`;
  }

  /** Connects, migrates (or checks) the schema and returns the engine; refuses a schema newer than this code. */
  static async open(options: PgEngineOptions): Promise<PgPoolEngine> {
    const schema = options.schema ?? "serialflow";
    quoteIdent(schema);
    const pool = new PgPool({ ...(options.pool ?? {}), ...(options.connectionString ? { connectionString: options.connectionString } : {}) });
    // an idle connection that dies (server restart, pg_terminate_backend) is dropped by the pool; without a listener
    // its "error" event would end the process
    pool.on("error", () => undefined);
    const engine = new PgPoolEngine(pool, schema, options);
    try {
      await engine.withClient("connect", async (c) => {
        if (options.migrate === false) await checkSchema(c, schema);
        else await migrate(c, schema);
      });
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw err;
    }
    return engine;
  }

  get schemaVersion(): number {
    return PG_SCHEMA_VERSION;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  private async connect(): Promise<PoolClient> {
    if (this.closed) throw new PssError("StoreClosed", `the PostgreSQL pool engine on ${this.where} is closed`);
    try {
      return await this.pool.connect();
    } catch (err) {
      throw asPgStoreError(err, this.where, "connect");
    }
  }

  /** Runs fn on one pooled connection (no transaction); a broken connection is discarded, not reused. */
  private async withClient<T>(phase: "connect" | "body", fn: (c: PoolClient) => Promise<T>): Promise<T> {
    const c = await this.connect();
    const onError = () => undefined;
    c.on("error", onError);
    let broken = false;
    try {
      return await fn(c);
    } catch (err) {
      broken = connectionFailure(err) !== undefined;
      throw asPgStoreError(err, this.where, phase);
    } finally {
      c.removeListener("error", onError);
      c.release(broken);
    }
  }

  /**
   * One call, one transaction (READ COMMITTED): fn's statements and its audit records commit together or not at
   * all. Its first statement takes the audit table's writer lock (unless `writesAudit: false`): code that appends
   * audit records must run in such a transaction. A lost connection fails with StoreError ConnectionLost (inDoubt when it broke during COMMIT); the broken
   * connection is discarded, so the next call gets a fresh one.
   */
  async transaction<T>(fn: (c: PoolClient) => Promise<T>, options: { writesAudit?: boolean } = {}): Promise<T> {
    const c = await this.connect();
    const onError = () => undefined;
    c.on("error", onError);
    let broken = false;
    let phase: "body" | "commit" = "body";
    try {
      // a transaction that may append audit records takes the audit table's writer lock (ROW EXCLUSIVE: it waits for
      // no other writer) before its first write, so that the chainer can see it (chain.ts, horizon)
      await c.query(options.writesAudit === false ? "BEGIN" : `BEGIN; LOCK TABLE ${this.s}.audit IN ROW EXCLUSIVE MODE`);
      const out = await fn(c);
      phase = "commit";
      await c.query("COMMIT");
      return out;
    } catch (err) {
      broken = connectionFailure(err) !== undefined;
      if (!broken && phase === "body") {
        try {
          await c.query("ROLLBACK");
        } catch (e) {
          broken = true;
        }
      }
      throw asPgStoreError(err, this.where, phase);
    } finally {
      c.removeListener("error", onError);
      c.release(broken);
    }
  }

  /** Appends one audit record in the caller's transaction (linked into the chain after it commits). */
  async appendAudit(c: PoolClient, rec: AuditInput): Promise<void> {
    await c.query(
      `INSERT INTO ${this.s}.audit (time, actor, event, pool_id, serial_numbers, from_state, to_state, context, anomaly, method, sn_collection_id, label_collection_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
      [
        new Date(this.clock()).toISOString(), rec.actor, rec.event, rec.poolId, rec.serialNumbers.join("\n"), rec.fromState ?? null, rec.toState ?? null,
        canonicalContext(rec.context), rec.anomaly ? 1 : 0, rec.method ?? null, rec.snCollectionId ?? null, rec.labelCollectionId ?? null,
      ],
    );
  }

  private async afterCommit(): Promise<void> {
    if (!this.chainAfterCommit) return;
    // best effort: the records are committed; if this fails or another process is chaining, the next call or
    // verify links them
    await this.chainAudit({ wait: false }).catch(() => undefined);
  }

  private async poolRow(c: PoolClient, poolId: string): Promise<{ pk: string; pool_id: string; max_request: number }> {
    const r = await c.query(`SELECT pk, pool_id, max_request FROM ${this.s}.pool WHERE pool_id = $1`, [poolId]);
    if (r.rowCount === 0) throw new PssError("UnknownPool", `no pool ${JSON.stringify(poolId)} in the PostgreSQL pool ${this.where}`);
    return r.rows[0];
  }

  private async bump(c: PoolClient, pool: string, deltas: Array<[SerialNumberState, number]>): Promise<void> {
    const d = deltas.filter(([, n]) => n !== 0);
    if (!d.length) return;
    await c.query(`INSERT INTO ${this.s}.pool_count (pool, state, n) SELECT $1, * FROM unnest($2::smallint[], $3::bigint[])`, [pool, d.map(([s]) => S(s)), d.map(([, n]) => n)]);
  }

  // ---------------------------------------------------------------- primitives

  async createPool(def: PgPoolDef, options: CallOptions = {}): Promise<void> {
    const actor = options.actor ?? this.defaultActor;
    if (typeof def?.poolId !== "string" || def.poolId === "") throw new PssError("InvalidPool", "a pool needs a poolId");
    if (typeof def.sidClass !== "string" || def.sidClass === "") throw new PssError("InvalidPool", `pool ${def.poolId}: a pool needs a SID class`);
    const policy = def.guardPolicy ?? "strict";
    const int = (v: number | undefined, name: string, min: number, dflt: number) => {
      if (v === undefined) return dflt;
      if (!Number.isInteger(v) || v < min || v > 0xffffffff) throw new PssError("InvalidPool", `pool ${def.poolId}: ${name} must be an integer from ${min} to ${0xffffffff}, got ${JSON.stringify(v)}`);
      return v;
    };
    const lowThreshold = int(def.lowThreshold, "lowThreshold", 0, 0);
    const maxRequest = int(def.maxRequest, "maxRequest", 1, 10_000);
    const maxCount = int(def.maxCount, "maxCount", 1, Math.max(1_000_000, maxRequest));
    const criteria = def.selectionCriteria ?? {};
    await this.transaction(async (c) => {
      const r = await c.query(
        `INSERT INTO ${this.s}.pool (pool_id, sid_class, selection_criteria, guard_policy, low_threshold, max_request, max_count, is_default, created)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (pool_id) DO NOTHING`,
        [def.poolId, def.sidClass, JSON.stringify(criteria), policy, lowThreshold, maxRequest, maxCount, def.isDefault === true, new Date(this.clock()).toISOString()],
      );
      if (r.rowCount === 0) throw new PssError("PoolExists", `pool ${def.poolId} exists already in the PostgreSQL pool ${this.where}`);
      await this.appendAudit(c, {
        actor, event: "pool_creating", poolId: def.poolId, serialNumbers: [],
        context: { sidClass: def.sidClass, guardPolicy: policy, lowThreshold: String(lowThreshold), maxRequest: String(maxRequest), maxCount: String(maxCount), isDefault: String(def.isDefault === true), selectionCriteria: canonicalContext(criteria) },
      });
    });
    await this.afterCommit();
  }

  /** Numbers enter a pool as Unassigned (one `sn_adding` record); a number already stored refuses the whole call. */
  async addNumbers(poolId: string, values: string[], options: CallOptions = {}): Promise<number> {
    const actor = options.actor ?? this.defaultActor;
    if (!Array.isArray(values) || values.some((v) => typeof v !== "string" || v === "")) throw new PssError("InvalidSerialNumber", "serial numbers must be non-empty strings");
    if (new Set(values).size !== values.length) throw new PssError("DuplicateInBatch", "the batch names a serial number twice");
    if (values.length === 0) return 0;
    await this.transaction(async (c) => {
      const pool = await this.poolRow(c, poolId);
      const r = await c.query(
        `INSERT INTO ${this.s}.serial_number (value, pool, state) SELECT v, $1, $2 FROM unnest($3::text[]) AS v ORDER BY v ON CONFLICT (value) DO NOTHING RETURNING value`,
        [pool.pk, S("Unassigned"), values],
      );
      if (r.rowCount !== values.length) {
        const fresh = new Set(r.rows.map((x) => x.value as string));
        const dup = values.filter((v) => !fresh.has(v));
        throw new PssError("DuplicateSerialNumber", `${dup.length} serial number(s) are stored already (for example ${JSON.stringify(dup[0])}); nothing was added`, dup.slice(0, 20).map((v) => ({ serialNumber: v, reason: "stored already" })));
      }
      await this.bump(c, pool.pk, [["Unassigned", values.length]]);
      await this.appendAudit(c, { actor, event: "sn_adding", poolId, serialNumbers: values, toState: "Unassigned", context: options.context ?? {}, method: options.method });
    });
    await this.afterCommit();
    return values.length;
  }

  /**
   * Moves up to n free numbers of a pool from one state to another in one transaction: the rows are taken with
   * FOR UPDATE SKIP LOCKED (a row another transaction holds is passed over, never waited for; a row it has just
   * taken fails the re-check of the WHERE clause), so concurrent callers never wait for each other and never get
   * the same number. With `collection` the numbers are bound to it.
   */
  private async move(c: PoolClient, pool: string, from: SerialNumberState, to: SerialNumberState, n: number, collection: string | null): Promise<string[]> {
    const r = await c.query(
      `WITH picked AS (
         SELECT value FROM ${this.s}.serial_number
         WHERE pool = $1 AND state = $2 AND sn_collection IS NULL
         ORDER BY value LIMIT $3 FOR UPDATE SKIP LOCKED)
       UPDATE ${this.s}.serial_number s SET state = $4, sn_collection = $5 FROM picked WHERE s.value = picked.value RETURNING s.value`,
      [pool, S(from), n, S(to), collection],
    );
    return r.rows.map((x) => x.value as string).sort();
  }

  private checkCount(n: number, max: number): void {
    if (!Number.isInteger(n) || n < 1 || n > max) throw new PssError("InvalidCount", `the count must be an integer from 1 to ${max}, got ${JSON.stringify(n)}`);
  }

  /** Unassigned -> Unallocated (PSS provisioning) for up to n free numbers; audited as one `provisioning` record. */
  async provision(poolId: string, n: number, options: CallOptions = {}): Promise<string[]> {
    const actor = options.actor ?? this.defaultActor;
    this.checkCount(n, 0xffffffff);
    const got = await this.transaction(async (c) => {
      const pool = await this.poolRow(c, poolId);
      const values = await this.move(c, pool.pk, "Unassigned", "Unallocated", n, null);
      if (values.length) {
        await this.bump(c, pool.pk, [["Unassigned", -values.length], ["Unallocated", values.length]]);
        await this.appendAudit(c, { actor, event: "provisioning", poolId, serialNumbers: values, fromState: "Unassigned", toState: "Unallocated", context: options.context ?? {}, method: options.method });
      }
      return values;
    });
    await this.afterCommit();
    return got;
  }

  /**
   * The allocation primitive: draws up to n free Unallocated numbers of a pool into Allocated, bound to a new
   * SNCollection, with its `sn_allocating` audit record, in one transaction. Fewer than n when the pool has fewer
   * free (insufficient). The request-token paging and a repeated snCollectionId's answer are PSS rules above this
   * (not built here).
   */
  async drawAllocated(poolId: string, n: number, options: CallOptions & { snCollectionId?: string } = {}): Promise<DrawResult> {
    const actor = options.actor ?? this.defaultActor;
    const collId = options.snCollectionId ?? crypto.randomUUID();
    const out = await this.transaction(async (c) => {
      const pool = await this.poolRow(c, poolId);
      this.checkCount(n, pool.max_request);
      const coll = await c.query(
        `INSERT INTO ${this.s}.sn_collection (id, pool, description, state, created, actor) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING RETURNING pk`,
        [collId, pool.pk, `Allocated serial numbers of pool ${poolId}`, S("Allocated"), new Date(this.clock()).toISOString(), actor],
      );
      if (coll.rowCount === 0) throw new PssError("WrongCollection", `SNCollection ${collId} exists already`);
      const values = await this.move(c, pool.pk, "Unallocated", "Allocated", n, coll.rows[0].pk);
      if (values.length) {
        await this.bump(c, pool.pk, [["Unallocated", -values.length], ["Allocated", values.length]]);
        await this.appendAudit(c, {
          actor, event: "sn_allocating", poolId, serialNumbers: values, fromState: "Unallocated", toState: "Allocated",
          context: options.context ?? {}, method: options.method ?? "SNRequestAllocated", snCollectionId: collId,
        });
      } else {
        await c.query(`DELETE FROM ${this.s}.sn_collection WHERE pk = $1`, [coll.rows[0].pk]);
      }
      return { snCollectionId: collId, serialNumbers: values, insufficient: values.length < n };
    });
    await this.afterCommit();
    return out;
  }

  /** How many numbers of a pool are in each state (the sum of the counter deltas). */
  async counts(poolId: string): Promise<Record<SerialNumberState, number>> {
    return this.withClient("body", async (c) => {
      const pool = await this.poolRow(c, poolId);
      const r = await c.query(`SELECT state, sum(n)::bigint AS n FROM ${this.s}.pool_count WHERE pool = $1 GROUP BY state`, [pool.pk]);
      const out = Object.fromEntries(STATES.map((s) => [s, 0])) as Record<SerialNumberState, number>;
      for (const row of r.rows) out[STATES[row.state as number]] = Number(row.n);
      return out;
    });
  }

  /** Links committed, unlinked audit records into the chain (chain.ts). `wait: false` returns at once when
   *  another connection is chaining. */
  async chainAudit(options: { wait?: boolean } = {}): Promise<ChainResult> {
    return this.transaction((c) => chainAudit(c, this.schema, options.wait !== false, LOCK_CHAIN), { writesAudit: false });
  }

  /** Links what can be linked, then checks the whole chain: names the first changed, removed or inserted record. */
  async verifyAudit(): Promise<PgVerifyResult> {
    let chainErr: unknown;
    try {
      await this.chainAudit({ wait: true });
    } catch (err) {
      // a damaged chain can refuse new links (the head guard): say what is damaged rather than that
      if (err instanceof StoreError && err.code === "ConnectionLost") throw err;
      chainErr = err;
    }
    const result = await this.withClient("body", (c) => verifyChain(c, this.schema));
    if (result.ok && chainErr) throw chainErr;
    return result;
  }
}
