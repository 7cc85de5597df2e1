/* The PostgreSQL engine (issue 17; docs/architecture.md, "The PostgreSQL engine"): a connection pool
   on one configurable schema, versioned migrations, the set-based primitives that the PSS rules will run over
   (create a pool, add numbers, provision, draw N numbers with FOR UPDATE SKIP LOCKED), each in one transaction with
   its audit record, the audit chain linked after the fact (chain.ts), and connection failures as a specific
   StoreError. The only folder of the package that imports `pg` (test/core/layering.spec.ts checks it). Used by the
   command-line tool (`--pg`, `pool copy`: copy.ts) and by pss-pool's PostgreSQL mode through PgPoolBackend
   (nodes/common/pg-backend.ts); the one pool contract is the contract refactor's work. */
import * as crypto from "crypto";
import { Pool as PgPool, PoolClient, PoolConfig } from "pg";
import { STATES, SerialNumberState, stateToEnum } from "../../lifecycle";
import { canonicalContext } from "../audit";
import { PssError, StoreError } from "../errors";
import { SerialGenerator, SerialRule, checkSidClass, defaultGenerator, ruleCheck, validateSerialNumbers } from "../serials";
import { LOCK_CHAIN, PG_SCHEMA_VERSION, checkSchema, migrate, quoteIdent, schemaVersion } from "./migrations";
import { AuditInput, ChainResult, PgVerifyResult, chainAudit, verifyChain } from "./chain";
import { asPgStoreError, connectionFailure } from "./errors";
import { PoolLowListener } from "./listen";
import type { Pool } from "../index";
import { POOL_LOW_CHANNEL, PoolLowInfo } from "./listen";
import { PgTx, type PgTxHost } from "./tx";
import { runAsync, type Op } from "../engine";
import * as rules from "../rules";
import type { PssEvent } from "../../lifecycle";

export { asPgStoreError, connectionFailure } from "./errors";
export { POOL_LOW_CHANNEL } from "./listen";
export { copyPool, checkCopyable } from "./copy";
export type { CopyResult } from "./copy";
export type { PoolLowInfo } from "./listen";

export { MIGRATIONS, PG_SCHEMA_VERSION, migrate, checkSchema, schemaVersion, quoteIdent } from "./migrations";
export type { Migration } from "./migrations";
export type { AuditInput, ChainResult, PgVerifyResult, CopyCheck } from "./chain";

/** TLS settings as node-postgres takes them (Node's tls.connect options: ca, cert, key, rejectUnauthorized, servername). */
/** the pause between two background chaining runs of one engine while calls keep committing */
const CHAIN_PAUSE_MS = 200;

export type PgTlsOptions = Exclude<PoolConfig["ssl"], boolean | undefined>;

export interface PgEngineOptions {
  /** postgres://user@host:port/database; TLS may be set in it (sslmode, sslrootcert, ...) or with `ssl` */
  connectionString?: string;
  /** the password, given apart from the URL (the pss-pool node's credentials): refused when the URL has one too */
  password?: string;
  /** TLS, passed to node-postgres: true, or { rejectUnauthorized, ca, cert, key, servername }; refused when the URL
   *  sets TLS too (ssl, sslmode, sslcert, sslkey, sslrootcert) */
  ssl?: boolean | PgTlsOptions;
  /** further node-postgres pool settings (max connections, timeouts, application_name, ...) */
  pool?: PoolConfig;
  /** the schema that holds the pool tables; default "serialflow" */
  schema?: string;
  /** apply missing migrations when opening (default true); false refuses a schema that is not current; "existing"
   *  migrates a schema that holds SerialFlow tables and refuses one that does not (no schema made by a typo) */
  migrate?: boolean | "existing";
  /** makes serial numbers for generateNumbers (default: the SID class's generator, as the pool file's) */
  generator?: SerialGenerator;
  /** link committed audit records into the chain after each call (default true; never waits for another chainer) */
  chainAfterCommit?: boolean;
  /** the clock (ms since epoch) for audit times */
  clock?: () => number;
  /** who the audit log names when a call gives no actor */
  defaultActor?: string;
  /** how long a request's paging token stays valid (ms); default one hour, as the pool file's */
  tokenTtlMs?: number;
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
  /** SID class "custom" only, and then required: the pool's own serial pattern and length (as in a pool file) */
  serialRule?: SerialRule;
}

/** A pool as stored: the same shape on both engines. */
export type PgPoolInfo = Pool;

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

/** Per-number properties for addNumbers: only numbers of the batch, string values (as the pool file's provision). */
function checkProperties(props: unknown, values: string[]): Map<string, Record<string, string>> {
  if (typeof props !== "object" || props === null || Array.isArray(props)) throw new PssError("InvalidSerialNumber", "properties must be an object: serial number -> { key: value }");
  const inBatch = new Set(values);
  const out = new Map<string, Record<string, string>>();
  for (const [v, p] of Object.entries(props as Record<string, unknown>)) {
    if (!inBatch.has(v)) throw new PssError("UnknownSerialNumber", `properties are given for ${JSON.stringify(v)}, which is not in the batch`, [{ serialNumber: v, reason: "not in the batch" }]);
    if (typeof p !== "object" || p === null || Array.isArray(p) || Object.values(p).some((x) => typeof x !== "string")) throw new PssError("InvalidSerialNumber", `properties of ${v} must be an object of string values`);
    if (Object.keys(p).length) out.set(v, p as Record<string, string>);
  }
  return out;
}

interface PoolRow {
  pk: string;
  pool_id: string;
  sid_class: string;
  max_request: number;
  max_count: number;
  low_threshold: number;
}

const URL_TLS_KEYS = ["ssl", "sslmode", "sslcert", "sslkey", "sslrootcert"];

/**
 * The node-postgres settings of an engine: `pool`, with the connection string, the password given apart from it and
 * the TLS settings. node-postgres lets a connection string override the fields beside it (a URL without a password
 * would blank the separate one), so a separate password goes into the URL itself; a password or TLS settings given
 * both in the URL and apart are refused rather than one silently winning.
 */
export function pgConfig(options: PgEngineOptions): PoolConfig {
  const cfg: PoolConfig = { ...(options.pool ?? {}) };
  const bad = (m: string) => new StoreError("StorageError", m);
  if (options.password !== undefined && typeof options.password !== "string") throw bad("the PostgreSQL password must be a string");
  let cs = options.connectionString;
  if (cs !== undefined) {
    if (typeof cs !== "string" || cs.trim() === "") throw bad("the PostgreSQL connection string is empty (postgres://user@host:port/database)");
    if (cs.startsWith("/")) {
      // a socket folder ("/var/run/postgresql dbname"): node-postgres keeps the fields beside it
      if (options.password !== undefined) cfg.password = options.password;
    } else {
      let url: URL;
      try {
        url = new URL(cs);
      } catch {
        throw bad(`the PostgreSQL connection string is not a URL (postgres://user@host:port/database): ${redactUrl(cs)}`);
      }
      if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") throw bad(`the PostgreSQL connection string must start with postgres:// or postgresql://, got ${url.protocol}//...`);
      if (options.password !== undefined) {
        if (url.password !== "") throw bad("the PostgreSQL password is given twice, in the URL and apart from it: remove it from the URL");
        if (url.hostname === "") throw bad("a PostgreSQL password given apart from the URL needs a host in the URL");
        // percent-encoded: node-postgres decodes it (a "%" or "@" in a password survives)
        url.password = encodeURIComponent(options.password);
        cs = url.toString();
      }
      if (options.ssl !== undefined) {
        const inUrl = URL_TLS_KEYS.filter((k) => url.searchParams.has(k));
        if (inUrl.length) throw bad(`the PostgreSQL TLS settings are given twice, in the URL (${inUrl.join(", ")}) and apart from it: keep one`);
      }
    }
    cfg.connectionString = cs;
  } else if (options.password !== undefined) {
    cfg.password = options.password;
  }
  if (options.ssl !== undefined) cfg.ssl = options.ssl;
  return cfg;
}

/** A connection string without its password, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]*):[^@/]*@/, "//$1:***@");
}

export class PgPoolEngine {
  readonly schema: string;
  /** the quoted schema, for SQL text */
  readonly s: string;
  readonly pool: PgPool;
  /** the node-postgres settings (pgConfig): the pool's, and the pool-low listener's */
  readonly config: PoolConfig;
  private readonly clock: () => number;
  private readonly defaultActor: string;
  private readonly chainAfterCommit: boolean;
  private readonly generator: SerialGenerator;
  /** where, for messages: the schema */
  readonly where: string;
  private closed = false;
  private listener: PoolLowListener | undefined;
  private readonly tokenTtlMs: number;
  private readonly host: PgTxHost;
  private chaining: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private chainAgain = false;

  private constructor(pool: PgPool, config: PoolConfig, schema: string, options: PgEngineOptions) {
    this.pool = pool;
    this.config = config;
    this.schema = schema;
    this.s = quoteIdent(schema);
    this.clock = options.clock ?? Date.now;
    this.defaultActor = options.defaultActor ?? "serialflow";
    this.chainAfterCommit = options.chainAfterCommit !== false;
    this.generator = options.generator ?? defaultGenerator;
    this.where = `schema ${JSON.stringify(schema)}`;
    this.tokenTtlMs = options.tokenTtlMs ?? 3_600_000;
    this.host = { s: this.s, where: this.where, clock: () => this.clock(), appendAudit: (c, rec) => this.appendAudit(c, rec) };
  }

  /** Connects, migrates (or checks) the schema and returns the engine; refuses a schema newer than this code. */
  static async open(options: PgEngineOptions): Promise<PgPoolEngine> {
    const schema = options.schema ?? "serialflow";
    quoteIdent(schema);
    const config = pgConfig(options);
    const pool = new PgPool(config);
    // an idle connection that dies (server restart, pg_terminate_backend) is dropped by the pool; without a listener
    // its "error" event would end the process
    pool.on("error", () => undefined);
    const engine = new PgPoolEngine(pool, config, schema, options);
    try {
      await engine.withClient("connect", async (c) => {
        if (options.migrate === false) await checkSchema(c, schema);
        else if (options.migrate === "existing" && (await schemaVersion(c, schema)) === 0) await checkSchema(c, schema);
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
    this.closing ??= (async () => {
      // the records committed by this engine's calls are linked before it lets go
      await this.chained();
      this.closed = true;
      const l = this.listener;
      this.listener = undefined;
      if (l) await l.stop();
      await this.pool.end();
    })();
    return this.closing;
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

  /**
   * After a commit: links the committed audit records into the chain in the background (never awaited by the call,
   * never two at once from this engine; a commit during a run asks for one more run, after CHAIN_PAUSE_MS). The records are durable when
   * the call returns; the chain follows within one chaining transaction, and verify links whatever is still pending.
   */
  private async afterCommit(): Promise<void> {
    if (!this.chainAfterCommit || this.closed) return;
    if (this.chaining) {
      this.chainAgain = true;
      return;
    }
    this.chaining = (async () => {
      for (;;) {
        this.chainAgain = false;
        // best effort: if this fails or another process is chaining, the next run or verify links them
        await this.chainAudit({ wait: false }).catch(() => undefined);
        if (!this.chainAgain || this.closed) break;
        // under a steady stream of calls, one chaining transaction per CHAIN_PAUSE_MS links all that came meanwhile
        // (a durable commit of its own each time: chaining after every call would double the commits)
        await new Promise((r) => setTimeout(r, CHAIN_PAUSE_MS));
      }
    })().finally(() => {
      this.chaining = undefined;
    });
  }

  /** Resolves when this engine's background chaining (afterCommit) is idle. */
  async chained(): Promise<void> {
    while (this.chaining) await this.chaining;
  }

  private async poolRow(c: PoolClient, poolId: string): Promise<PoolRow> {
    const r = await c.query(`SELECT pk, pool_id, sid_class, max_request, max_count::float8 AS max_count, low_threshold FROM ${this.s}.pool WHERE pool_id = $1`, [poolId]);
    if (r.rowCount === 0) {
      const names = (await c.query(`SELECT pool_id FROM ${this.s}.pool ORDER BY pool_id LIMIT 21`)).rows.map((x) => x.pool_id as string);
      throw new PssError("UnknownPool", `no pool ${JSON.stringify(poolId)} in the PostgreSQL pool ${this.where} (pools: ${names.slice(0, 20).join(", ") || "none"}${names.length > 20 ? ", ..." : ""})`);
    }
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
    // the pool file's rule: a SID class the package knows, or "custom" with a serial rule of its own
    const rule = checkSidClass(def.poolId, def.sidClass, def.serialRule);
    const policy = def.guardPolicy ?? "strict";
    if (policy !== "strict" && policy !== "record") throw new PssError("InvalidPool", `pool ${def.poolId}: guardPolicy must be "strict" or "record", got ${JSON.stringify(policy)}`);
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
      if (def.isDefault === true) {
        // one default pool per schema: pool creations wait for each other here (rare), so two cannot both be it
        await c.query(`LOCK TABLE ${this.s}.pool IN SHARE ROW EXCLUSIVE MODE`);
        const d = (await c.query(`SELECT pool_id FROM ${this.s}.pool WHERE is_default LIMIT 1`)).rows[0]?.pool_id as string | undefined;
        if (d !== undefined && d !== def.poolId) throw new PssError("PoolExists", `pool ${def.poolId} cannot be the default pool: pool ${d} is the default already`);
      }
      const r = await c.query(
        `INSERT INTO ${this.s}.pool (pool_id, sid_class, selection_criteria, guard_policy, low_threshold, max_request, max_count, is_default, created)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (pool_id) DO NOTHING RETURNING pk`,
        [def.poolId, def.sidClass, JSON.stringify(criteria), policy, lowThreshold, maxRequest, maxCount, def.isDefault === true, new Date(this.clock()).toISOString()],
      );
      if (r.rowCount === 0) throw new PssError("PoolExists", `pool ${def.poolId} exists already in the PostgreSQL pool ${this.where}`);
      if (rule) await c.query(`INSERT INTO ${this.s}.pool_serial_rule (pool, pattern, min_length, max_length) VALUES ($1, $2, $3, $4)`, [r.rows[0].pk, rule.pattern, rule.minLength, rule.maxLength]);
      await this.appendAudit(c, {
        actor, event: "pool_creating", poolId: def.poolId, serialNumbers: [],
        context: {
          sidClass: def.sidClass, guardPolicy: policy, lowThreshold: String(lowThreshold), maxRequest: String(maxRequest), maxCount: String(maxCount), isDefault: String(def.isDefault === true), selectionCriteria: canonicalContext(criteria),
          ...(rule ? { serialRule: JSON.stringify(rule) } : {}),
        },
      });
    });
    await this.afterCommit();
  }

  /** Numbers enter a pool as Unassigned (one `sn_adding` record); a number already stored refuses the whole call.
   *  `properties` (serial number -> { key: value }, e.g. an authority file's crypto tail) are stored with the numbers,
   *  as the pool file's provision stores them. */
  async addNumbers(poolId: string, values: string[], options: CallOptions & { properties?: Record<string, Record<string, string>> } = {}): Promise<number> {
    const actor = options.actor ?? this.defaultActor;
    if (!Array.isArray(values) || values.some((v) => typeof v !== "string" || v === "")) throw new PssError("InvalidSerialNumber", "serial numbers must be non-empty strings");
    if (new Set(values).size !== values.length) throw new PssError("DuplicateInBatch", "the batch names a serial number twice");
    if (values.length === 0) return 0;
    const props = options.properties === undefined ? undefined : checkProperties(options.properties, values);
    await this.transaction(async (c) => {
      const pool = await this.poolRow(c, poolId);
      const r = await c.query(
        `INSERT INTO ${this.s}.serial_number (value, pool, state, properties) SELECT v, $1, $2, p FROM unnest($3::text[], $4::text[]) AS x(v, p) ORDER BY v ON CONFLICT (value) DO NOTHING RETURNING value`,
        [pool.pk, S("Unassigned"), values, values.map((v) => (props?.has(v) ? JSON.stringify(props.get(v)) : null))],
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
   * `n` new numbers made by the pool's SID class generator (as `pool generate` does for a pool file), added as
   * Unassigned in one transaction with one `sn_adding` record. A generated number that is stored already (a random
   * generator may repeat) is drawn again; n must be from 1 to the pool's maxCount.
   */
  async generateNumbers(poolId: string, n: number, options: CallOptions = {}): Promise<string[]> {
    const actor = options.actor ?? this.defaultActor;
    const out = await this.transaction(async (c) => {
      const pool = await this.poolRow(c, poolId);
      if (!Number.isInteger(n) || n < 1 || n > pool.max_count) throw new PssError("InvalidCount", `generate into pool ${poolId}: the count must be an integer from 1 to the pool's maxCount ${pool.max_count}, got ${JSON.stringify(n)}`);
      const rule = (await c.query(`SELECT pattern, min_length AS "minLength", max_length AS "maxLength" FROM ${this.s}.pool_serial_rule WHERE pool = $1`, [pool.pk])).rows[0] as SerialRule | undefined;
      const check = rule ? ruleCheck(rule) : null;
      const seen = new Set<string>();
      const values: string[] = [];
      for (let round = 0; values.length < n; round++) {
        if (round >= 20) throw new PssError("InsufficientSerialNumbers", `pool ${poolId}: the generator of SID class ${pool.sid_class} keeps producing numbers that exist already`);
        const fresh = this.generator(pool.sid_class, n - values.length).filter((v) => !seen.has(v) && (seen.add(v), true));
        validateSerialNumbers(fresh, pool.sid_class, `generated for pool ${poolId}`, check);
        const r = await c.query(
          `INSERT INTO ${this.s}.serial_number (value, pool, state) SELECT v, $1, $2 FROM unnest($3::text[]) AS v ORDER BY v ON CONFLICT (value) DO NOTHING RETURNING value`,
          [pool.pk, S("Unassigned"), fresh],
        );
        for (const row of r.rows) values.push(row.value as string);
      }
      values.sort();
      await this.bump(c, pool.pk, [["Unassigned", values.length]]);
      await this.appendAudit(c, { actor, event: "sn_adding", poolId, serialNumbers: values, toState: "Unassigned", context: options.context ?? {}, method: options.method });
      return values;
    });
    await this.afterCommit();
    return out;
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
      await this.notifyIfLow(c, pool);
      return { snCollectionId: collId, serialNumbers: values, insufficient: values.length < n };
    });
    await this.afterCommit();
    return out;
  }

  /**
   * Inside a draw's transaction: when the pool has a low threshold and fewer free numbers than it are left (Unassigned
   * and Unallocated, bound to no collection: what SNRequestAllocated can hand out, as the pool file counts them; each
   * state counted up to the threshold, over the partial index of free numbers), NOTIFY serialflow_pool_low with
   * { schema, pool, free, threshold }. PostgreSQL delivers it when the transaction commits, and never when it rolls
   * back. Every draw that leaves the pool low notifies (as the pool file's "low" event fires after every such commit).
   */
  private async notifyIfLow(c: PoolClient, pool: PoolRow): Promise<void> {
    const threshold = Number(pool.low_threshold);
    if (!(threshold > 0)) return;
    const free = await this.freeUpTo(c, pool.pk, threshold);
    if (free >= threshold) return;
    const info: PoolLowInfo = { schema: this.schema, pool: pool.pool_id, free, threshold };
    await c.query("SELECT pg_notify($1, $2)", [POOL_LOW_CHANNEL, JSON.stringify(info)]);
  }

  /** The free numbers of a pool (Unassigned and Unallocated, unbound), each state counted up to `limit` (null: all). */
  private async freeUpTo(c: PoolClient, pool: string, limit: number | null): Promise<number> {
    const one = (k: number) => `(SELECT count(*) FROM (SELECT 1 FROM ${this.s}.serial_number WHERE pool = $1 AND state = $${k} AND sn_collection IS NULL LIMIT $4) f${k})`;
    const r = await c.query(`SELECT (${one(2)} + ${one(3)})::float8 AS n`, [pool, S("Unassigned"), S("Unallocated"), limit]);
    return Number(r.rows[0].n);
  }

  /**
   * Calls `cb` whenever a draw by any engine on this database leaves a pool of this schema under its low threshold
   * (LISTEN serialflow_pool_low on a connection of its own, outside the pool). Resolves once listening; returns the
   * function that stops this callback. When the listening connection breaks, it reconnects (after 0.5 s, doubling up
   * to 30 s) and listens again; notifications sent meanwhile are lost (the next low draw notifies again), and
   * `onError` hears of each break and failed reconnect.
   */
  async onPoolLow(cb: (info: PoolLowInfo) => void, options: { onError?: (err: StoreError) => void } = {}): Promise<() => Promise<void>> {
    if (this.closed) throw new PssError("StoreClosed", `the PostgreSQL pool engine on ${this.where} is closed`);
    this.listener ??= new PoolLowListener(this.config, this.schema, this.where);
    const l = this.listener;
    const sub = { cb, onError: options.onError };
    await l.add(sub);
    return async () => {
      if (await l.remove(sub) && this.listener === l) this.listener = undefined;
    };
  }

  // ---------------------------------------------------------------- the PSS rules (../rules.ts) on this engine

  /** Runs a rule in one transaction (READ COMMITTED, the audit writer lock taken); pools whose free numbers it took
   *  are checked against their low threshold before the commit (NOTIFY is delivered at the commit). */
  private async runRule<T>(actor: string | undefined, rule: (tx: PgTx) => Op<T>): Promise<T> {
    const out = await this.transaction(async (c) => {
      const tx = new PgTx(this.host, c, actor ?? this.defaultActor);
      const r = await runAsync(rule(tx));
      await tx.flush();
      for (const pk of tx.touchedPools) {
        const p = (await c.query(`SELECT pk, pool_id, sid_class, max_request, max_count::float8 AS max_count, low_threshold FROM ${this.s}.pool WHERE pk = $1`, [pk])).rows[0] as PoolRow | undefined;
        if (p) await this.notifyIfLow(c, p);
      }
      return r;
    });
    await this.afterCommit();
    return out;
  }

  /** SNRequestUnassigned / SNRequestUnallocated / SNRequestAllocated (rules.request): paging tokens, a repeated
   *  snCollectionId's same answer, free numbers taken with FOR UPDATE SKIP LOCKED. */
  async request(target: rules.RequestTarget, args: rules.RequestArgs): Promise<rules.RequestResult> {
    const call = rules.requestCall(target, args);
    return this.runRule(args.actor, (tx) => rules.request(tx, call, this.tokenTtlMs));
  }

  async returnSerialNumbers(target: rules.ReturnTarget, args: rules.CollectionArgs): Promise<{ returnStatus: "NoError" }> {
    const call = rules.returnCall(target, args);
    return this.runRule(args.actor, (tx) => rules.returnNumbers(tx, target, call));
  }

  async pushTo(target: rules.PushTarget, args: rules.CollectionArgs): Promise<{ returnStatus: "NoError" }> {
    const call = rules.pushCall(target, args);
    return this.runRule(args.actor, (tx) => rules.pushTo(tx, target, call));
  }

  /** One PSS event over a batch (rules.applyEvent): all or nothing, the guard policy of each number's pool. */
  async applyEvent(event: PssEvent, args: rules.EventArgs): Promise<rules.EventResult> {
    const call = rules.eventCall(event, args);
    return this.runRule(args.actor, (tx) => rules.applyEvent(tx, call));
  }

  /** The guard's dry run (rules.checkEvent): a read, no lock. */
  async checkEvent(event: PssEvent, serialNumbers: string[]): Promise<rules.GuardCheck> {
    const values = rules.checkCall(event, serialNumbers);
    return this.withClient("body", (c) => runAsync(rules.checkEvent(new PgTx(this.host, c, this.defaultActor, false), event, values)));
  }

  /** The pool the criteria select (rules.selectPool): empty criteria pick the default (or only) pool. */
  async selectPool(criteria?: Record<string, string>): Promise<Pool> {
    const id = await this.withClient("body", (c) => runAsync(rules.selectPool(new PgTx(this.host, c, this.defaultActor, false), criteria)));
    return (await this.pools()).find((p) => p.poolId === id.poolId) as Pool;
  }

  /** A number's pool, state, collections and properties; undefined when the schema does not hold it. */
  async getSerialNumber(value: string): Promise<{ value: string; poolId: string; state: SerialNumberState; snCollectionId: string | null; labelCollectionId: string | null; properties: Record<string, string> | null } | undefined> {
    return this.withClient("body", async (c) => {
      const r = (await c.query(
        `SELECT s.value, p.pool_id, s.state, c.id AS coll, l.id AS label, s.properties FROM ${this.s}.serial_number s
         JOIN ${this.s}.pool p ON p.pk = s.pool LEFT JOIN ${this.s}.sn_collection c ON c.pk = s.sn_collection LEFT JOIN ${this.s}.label_collection l ON l.pk = s.label_collection
         WHERE s.value = $1`, [value])).rows[0];
      if (!r) return undefined;
      return { value: r.value, poolId: r.pool_id, state: STATES[r.state as number], snCollectionId: r.coll, labelCollectionId: r.label, properties: r.properties ? JSON.parse(r.properties) : null };
    });
  }

  /** Which of the given numbers the schema holds already (in any pool): an import names them before storing any. */
  async serialNumbersStored(values: string[]): Promise<string[]> {
    if (!values.length) return [];
    return this.withClient("body", async (c) => (await c.query(`SELECT value FROM ${this.s}.serial_number WHERE value = ANY($1::text[])`, [values])).rows.map((x) => x.value as string));
  }

  /** The stored properties of each number given (an authority's crypto tail, ...); numbers without any, or unknown to
   *  the schema, are left out. One query for the batch. */
  async serialProperties(values: string[]): Promise<Record<string, Record<string, string>>> {
    if (!values.length) return {};
    return this.withClient("body", async (c) => {
      const r = await c.query(`SELECT value, properties FROM ${this.s}.serial_number WHERE value = ANY($1::text[]) AND properties IS NOT NULL`, [values]);
      const out: Record<string, Record<string, string>> = {};
      for (const row of r.rows) {
        const p = JSON.parse(row.properties as string) as Record<string, string>;
        if (Object.keys(p).length) out[row.value as string] = p;
      }
      return out;
    });
  }

  /**
   * The newest audit records (of one pool, or all), newest first, each with at most `maxNumbers` of its serial numbers
   * and how many it holds: the editor's Serialization sidebar. `seq` is the record's place in the chain, 0 while the
   * chainer has not linked it yet.
   */
  async recentAudit(limit: number, poolId?: string, maxNumbers = 5): Promise<Array<{ seq: number; time: string; actor: string; event: string; poolId: string; fromState?: string; toState?: string; method?: string; anomaly: boolean; count: number; serialNumbers: string[] }>> {
    const n = Math.max(1, Math.min(1000, Math.floor(limit)));
    // the newest records linked first (this engine's background chaining, then whatever else is committed), so that
    // they show with their chain numbers
    await this.chained();
    await this.chainAudit({ wait: false }).catch(() => undefined);
    return this.withClient("body", async (c) => {
      const r = await c.query(
        `SELECT l.seq::float8 AS seq, a.time, a.actor, a.event, a.pool_id, substr(a.serial_numbers, 1, 2048) AS sns, a.from_state, a.to_state, a.anomaly, a.method,
                CASE WHEN a.serial_numbers = '' THEN 0 ELSE length(a.serial_numbers) - length(replace(a.serial_numbers, E'\n', '')) + 1 END AS n
         FROM ${this.s}.audit a LEFT JOIN ${this.s}.audit_link l ON l.audit = a.id
         WHERE ($1::text IS NULL OR a.pool_id = $1) ORDER BY a.id DESC LIMIT $2`,
        [poolId ?? null, n],
      );
      return r.rows.map((x) => ({
        seq: Number(x.seq ?? 0), time: x.time, actor: x.actor, event: x.event, poolId: x.pool_id, anomaly: Number(x.anomaly) === 1, count: Number(x.n),
        serialNumbers: x.sns === "" ? [] : (x.sns as string).split("\n").slice(0, Math.min(maxNumbers, Number(x.n))),
        ...(x.from_state !== null ? { fromState: x.from_state as string } : {}),
        ...(x.to_state !== null ? { toState: x.to_state as string } : {}),
        ...(x.method !== null ? { method: x.method as string } : {}),
      }));
    });
  }

  /** The pools of the schema, by pool id. */
  async pools(): Promise<PgPoolInfo[]> {
    return this.withClient("body", async (c) => {
      const r = await c.query(
        `SELECT p.pool_id, p.sid_class, p.selection_criteria, p.guard_policy, p.low_threshold, p.max_request, p.max_count::float8 AS max_count, p.is_default, p.created,
                r.pattern, r.min_length, r.max_length
         FROM ${this.s}.pool p LEFT JOIN ${this.s}.pool_serial_rule r ON r.pool = p.pk ORDER BY p.pool_id`,
      );
      return r.rows.map((x) => ({
        poolId: x.pool_id, sidClass: x.sid_class, selectionCriteria: JSON.parse(x.selection_criteria), guardPolicy: x.guard_policy, lowThreshold: x.low_threshold,
        maxRequest: x.max_request, maxCount: Number(x.max_count), isDefault: x.is_default, created: x.created,
        ...(x.pattern !== null ? { serialRule: { pattern: x.pattern, minLength: x.min_length, maxLength: x.max_length } } : {}),
      }));
    });
  }

  /** The free numbers of a pool: Unassigned and Unallocated, bound to no collection, what SNRequestAllocated can hand
   *  out (it takes free Unallocated numbers first, then Unassigned ones); the pool file's `available`. */
  async available(poolId: string): Promise<number> {
    return this.withClient("body", async (c) => this.freeUpTo(c, (await this.poolRow(c, poolId)).pk, null));
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
