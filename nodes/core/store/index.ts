/* The PoolStore: serial number pools in one SQLite file (better-sqlite3), guarded by the lifecycle table,
   every change audited in a hash-chained log. One BEGIN IMMEDIATE transaction per call; bulk work is set-based. */
import { EventEmitter } from "events";
import * as crypto from "crypto";
import Database from "better-sqlite3";
import {
  EVENTS, FORWARD_PATH, PssEvent, STATES, SerialNumberState, TERMINAL_STATES, TRANSITIONS, forwardSteps, isEvent,
  stateFromEnum, stateToEnum, transition,
} from "../lifecycle";
import { PssError, PssErrorDetail, StoreError, asStoreError, listSome, retryBusy } from "./errors";
import { AuditRecord, AuditRow, GENESIS_HASH, VerifyResult, auditHash, canonicalContext, rowToRecord, verifyRows } from "./audit";
import { APPLICATION_ID, POOL_TABLES, SCHEMA, SCHEMA_VERSION } from "./schema";
import * as rules from "./rules";
import { checkDict, checkId } from "./rules";
import type { RequestTarget, ReturnTarget, PushTarget, RequestArgs, RequestResult, CollectionArgs, EventArgs, GuardCheck } from "./rules";
import { runSync, type CollRec, type EngineTx, type Op, type PoolRec, type Rid } from "./engine";
export { APPLICATION_ID, SCHEMA_VERSION } from "./schema";
import { SerialGenerator, SerialRule, SerialCheck, defaultGenerator, parseImportText, refuseDuplicates, validateSerialNumbers, basicSerialProblem, resolveSidClass, ruleCheck, knownSidClasses, checkSidClass } from "./serials";

export { PssError, StoreError, asStoreError, retryBusy, listSome } from "./errors";
export type { PssErrorDetail, StoreErrorCode, StorageErrorCode } from "./errors";
export { AUDIT_ACTIONS, GENESIS_HASH, auditHash, verifyRows } from "./audit";
export type { AuditRecord, AuditRow, AuditAction, VerifyResult } from "./audit";
export { strandedNumbers, reconcile, batchReport, parseDuration } from "./reconcile";
export type { StrandedGroup, StrandedQuery, ReconcileResult, BatchReport, BatchCounts } from "./reconcile";
export { verifyPoolFile, replayStates } from "./verify";
export type { FileCheck } from "./verify";
export { defaultGenerator, parseImportText, basicSerialProblem, resolveSidClass, sidCheck, ruleCheck, knownSidClasses, checkSidClass } from "./serials";
export type { SerialGenerator, SerialCheck, SerialRule } from "./serials";

export { CUSTOM_SID_CLASS } from "./serials";

export type Dict = Record<string, string>;
export type GuardPolicy = "strict" | "record";
export { SN_FORMATS, TREE_EVENTS } from "./rules";
export type { RequestTarget, ReturnTarget, PushTarget, RequestArgs, RequestResult, CollectionArgs, LabelCollectionIn, EventArgs, GuardCheck } from "./rules";
export interface PoolOptions {
  poolId: string;
  sidClass: string;
  selectionCriteria?: Dict;
  guardPolicy?: GuardPolicy;
  /** the "low" event fires after a commit that leaves fewer free numbers than this (0 = never) */
  lowThreshold?: number;
  /** the most serial numbers one page of a request holds (MaxSNRequestable); default 10,000 */
  maxRequest?: number;
  /** the largest count one request (all its pages) may ask for; default 1,000,000 */
  maxCount?: number;
  isDefault?: boolean;
  /** SID class "custom" only, and then required: the pool's own serial pattern (a regular expression the whole
   *  serial number matches) and length range */
  serialRule?: SerialRule;
}

/** What updatePool may change; absent keys stay as they are. */
export interface PoolUpdate {
  sidClass?: string;
  serialRule?: SerialRule;
  selectionCriteria?: Dict;
  guardPolicy?: GuardPolicy;
  lowThreshold?: number;
  maxRequest?: number;
  maxCount?: number;
}

export interface Pool {
  poolId: string;
  sidClass: string;
  selectionCriteria: Dict;
  guardPolicy: GuardPolicy;
  lowThreshold: number;
  maxRequest: number;
  maxCount: number;
  isDefault: boolean;
  created: string;
  /** a custom pool's own serial rule */
  serialRule?: SerialRule;
}

export interface SNCollection {
  id: string;
  description: string;
  state: SerialNumberState;
  associatedPoolId: string;
  serialNumbers: string[];
}

export interface SerialNumberInfo {
  value: string;
  poolId: string;
  state: SerialNumberState;
  snCollectionId: string | null;
  labelCollectionId: string | null;
  properties: Dict | null;
}

export interface LowPoolInfo {
  poolId: string;
  available: number;
  threshold: number;
}

/** A number an event reaches through the hierarchy: packed (directly) in `parent`, under `root` (a number of the call). */
export interface TreeMember {
  value: string;
  parent: string;
  root: string;
}

/** What applyEvent asks the hierarchy (nodes/core/aggregation installs it on the store it opens): inside the
 *  event's transaction, check the given numbers' place in the hierarchy (refusing, or unpacking with an audit
 *  record when the context says unpack=true) and return everything packed under them. */
export interface HierarchyHook {
  expand(tx: StoreTransaction, event: PssEvent, values: readonly string[], context: Dict): TreeMember[];
}

/** What a transaction body may do besides SQL on `db`: append audit records that commit with it. */
export interface StoreTransaction {
  db: Database.Database;
  actor: string;
  /** append one audit record (chained, committed or rolled back with the transaction); returns its seq */
  audit(rec: AuditInput): number;
}

export interface AuditInput {
  event: string;
  poolId: string;
  serialNumbers: readonly string[];
  fromState?: string;
  toState?: string;
  context?: Dict;
  anomaly?: boolean;
  actor?: string;
  method?: string;
  snCollectionId?: string;
  labelCollectionId?: string;
}

export interface AuditQuery {
  fromSeq?: number;
  toSeq?: number;
  /** ISO 8601, inclusive */
  fromTime?: string;
  /** ISO 8601, inclusive */
  toTime?: string;
}

/** how many audit records auditRecords and verifyAudit read between two progress calls */
export const PROGRESS_RECORDS = 1_000;

/** rows passed through, with onProgress(rows so far, total) every PROGRESS_RECORDS rows and once at the end */
function* counted<T>(rows: Iterable<T>, total: number, onProgress: (done: number, total: number) => void): IterableIterator<T> {
  let n = 0;
  for (const r of rows) {
    yield r;
    if (++n % PROGRESS_RECORDS === 0) onProgress(Math.min(n, total), Math.max(n, total));
  }
  onProgress(n, Math.max(n, total));
}

export interface ImportOptions {
  actor?: string;
  context?: Dict;
  /** progress of a long import: done of total work units, increasing; (total, total) once the numbers are stored */
  onProgress?: (done: number, total: number) => void;
}

/** A refusal of numbers from an import file with each serial number's line: "line 12: "A1" is already in the store". */
function withLines(err: PssError, poolId: string, values: string[], lines: number[]): PssError {
  if (!err.details?.length || (err.code !== "DuplicateSerialNumber" && err.code !== "DuplicateInBatch" && err.code !== "InvalidSerialNumber")) return err;
  const named = new Set(err.details.map((d) => d.serialNumber));
  const where = new Map<string, number[]>();
  for (let i = 0; i < values.length; i++) if (named.has(values[i])) where.set(values[i], [...(where.get(values[i]) ?? []), lines[i]]);
  const why: Record<string, string> = { DuplicateSerialNumber: "is already in the store", DuplicateInBatch: "appears more than once in the file" };
  const details = err.details.map((d) => {
    const at = (where.get(d.serialNumber) ?? []).filter((n) => n > 0);
    const ls = at.length === 0 ? "" : at.length === 1 ? `line ${at[0]}: ` : `lines ${at.join(", ")}: `;
    return { ...d, reason: `${ls}${why[err.code] ? `${JSON.stringify(d.serialNumber)} ${why[err.code]}` : d.reason}` };
  });
  details.sort((a, b) => (where.get(a.serialNumber)?.[0] ?? 0) - (where.get(b.serialNumber)?.[0] ?? 0));
  return new PssError(err.code, `import into pool ${poolId}: ${details.length} serial number(s) refused: ${details.slice(0, 3).map((d) => d.reason).join("; ")}${details.length > 3 ? ` and ${details.length - 3} more` : ""}`, details, err.rule);
}

export interface OpenOptions {
  /** who the audit log names when a call gives no actor */
  actor?: string;
  busyTimeoutMs?: number;
  /** makes serial numbers for provision({ generate }); default: the sid module's generator of the pool's class */
  generator?: SerialGenerator;
  /** how long a request token lives; default one hour */
  tokenTtlMs?: number;
  /** the clock (ms since epoch), for token expiry and audit times */
  clock?: () => number;
  /** SQLite page cache per connection, in KiB (default 16,384) */
  cacheSizeKb?: number;
  /** "FULL" (default) or "NORMAL" */
  synchronous?: "FULL" | "NORMAL";
  /** open an existing pool file read-only: nothing is written, not even the schema (a read-only copy can be read) */
  readonly?: boolean;
}

/**
 * What a file is, read before anything is written: "empty" (new or zero-length: a pool file is made in it),
 * "legacy" (a pool file from before application_id: marked on open), "current"; anything else is refused,
 * untouched, with a message that says what the file looks like.
 */
export function inspectPoolFile(db: Database.Database, file: string): "empty" | "legacy" | "current" {
  let appId: number, version: number, tables: string[];
  try {
    appId = db.pragma("application_id", { simple: true }) as number;
    version = db.pragma("user_version", { simple: true }) as number;
    tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all() as string[];
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "SQLITE_NOTADB" || code === "SQLITE_CORRUPT") throw new PssError("NotAPoolFile", `${file} is not a SerialFlow pool file: it is not a SQLite database (${code}); it was left untouched`);
    throw err;
  }
  if (appId === APPLICATION_ID) {
    if (version > SCHEMA_VERSION) throw new PssError("InvalidPool", `${file} has pool schema version ${version}; this SerialFlow reads versions 1 to ${SCHEMA_VERSION}; it was left untouched`);
    return version === SCHEMA_VERSION ? "current" : "legacy";
  }
  if (appId === 0 && tables.length === 0 && version === 0) return "empty";
  if (appId === 0 && POOL_TABLES.every((t) => tables.includes(t))) return "legacy";
  const what = appId !== 0 ? `SQLite application_id 0x${(appId >>> 0).toString(16)}` : `tables ${listSome(tables, 6)}`;
  throw new PssError("NotAPoolFile", `${file} is not a SerialFlow pool file (${what}); it belongs to another application and was left untouched`);
}

/** The contract the node layer, the OPC UA server and the EPCIS exporter code against. */
export interface PoolStore {
  createPool(p: PoolOptions): Pool;
  updatePool(poolId: string, changes: PoolUpdate, options?: { actor?: string; context?: Dict }): { pool: Pool; changed: string[] };
  getPool(poolId: string): Pool | undefined;
  listPools(): Pool[];
  selectPool(criteria: Dict | undefined): Pool;
  provision(poolId: string, serialNumbers: Iterable<string> | { generate: number }, options?: { properties?: Record<string, Dict>; actor?: string; context?: Dict }): { added: number };
  importFile(poolId: string, text: string, options?: ImportOptions): { added: number };
  request(target: RequestTarget, args: RequestArgs): RequestResult;
  returnSerialNumbers(target: ReturnTarget, args: CollectionArgs): { returnStatus: "NoError" };
  pushTo(target: PushTarget, args: CollectionArgs): { returnStatus: "NoError" };
  applyEvent(event: PssEvent, args: EventArgs): { returnStatus: "NoError"; applied: number; anomalies: number };
  getSerialNumber(value: string): SerialNumberInfo | undefined;
  countByState(poolId?: string): Record<SerialNumberState, number>;
  checkEvent(event: PssEvent, serialNumbers: string[]): GuardCheck;
  auditRecords(q?: AuditQuery, options?: { onProgress?: (done: number, total: number) => void }): IterableIterator<AuditRecord>;
  verifyAudit(options?: { onProgress?: (done: number, total: number) => void }): VerifyResult;
  transaction<T>(fn: (tx: StoreTransaction) => T, options?: { actor?: string }): T;
  close(): void;
}

const S = (s: SerialNumberState) => stateToEnum(s);
const DEFAULT_MAX_REQUEST = 10_000;
const DEFAULT_MAX_COUNT = 1_000_000;
const UINT32_MAX = 4_294_967_295;
const ID_MAX = 256;

interface PoolRow {
  pk: number;
  pool_id: string;
  sid_class: string;
  selection_criteria: string;
  guard_policy: GuardPolicy;
  low_threshold: number;
  max_request: number;
  max_count: number;
  is_default: number;
  created: string;
}

interface CollRow {
  pk: number;
  id: string;
  pool: number;
  description: string;
  state: number;
}

interface LookupRow {
  v: string;
  rid: number | null;
  pool: number | null;
  state: number | null;
  coll: number | null;
}

function poolRec(r: PoolRow): PoolRec {
  return {
    pk: r.pk, poolId: r.pool_id, sidClass: r.sid_class, selectionCriteria: JSON.parse(r.selection_criteria) as Dict, guardPolicy: r.guard_policy,
    lowThreshold: r.low_threshold, maxRequest: r.max_request, maxCount: r.max_count, isDefault: r.is_default === 1,
  };
}

function toPool(r: PoolRow): Pool {
  return {
    poolId: r.pool_id,
    sidClass: r.sid_class,
    selectionCriteria: JSON.parse(r.selection_criteria) as Dict,
    guardPolicy: r.guard_policy,
    lowThreshold: r.low_threshold,
    maxRequest: r.max_request,
    maxCount: r.max_count,
    isDefault: r.is_default === 1,
    created: r.created,
  };
}

function ruleContext(rule: SerialRule | undefined): Dict {
  return rule ? { serialRule: JSON.stringify(rule) } : {};
}

export class SqlitePoolStore extends EventEmitter implements PoolStore {
  readonly db: Database.Database;
  readonly file: string;
  private readonly actor: string;
  private readonly generator: SerialGenerator;
  private readonly tokenTtlMs: number;
  private readonly clock: () => number;
  private depth = 0;
  private touched = new Set<number>();
  private pending: AuditRecord[] = [];
  /** calls waiting for the next group commit (grouped) */
  private queue: Array<{ fn: () => unknown; resolve: (v: unknown) => void; reject: (e: unknown) => void }> = [];
  private closed = false;
  /** opened read-only: nothing is ever written (pool status, audit verify, reconcile without --apply) */
  readonly readonly: boolean;
  private readonly runTx: Database.Transaction<(f: () => unknown) => unknown>;
  private readonly q: ReturnType<SqlitePoolStore["prepare"]>;
  private hierarchy: HierarchyHook | undefined;

  constructor(file: string, options: OpenOptions = {}) {
    super();
    this.file = file;
    this.actor = options.actor ?? "serialflow";
    this.generator = options.generator ?? defaultGenerator;
    this.tokenTtlMs = options.tokenTtlMs ?? 3_600_000;
    this.clock = options.clock ?? Date.now;
    this.readonly = options.readonly === true;
    const busy = Math.max(0, Math.floor(options.busyTimeoutMs ?? 10_000));
    try {
      this.db = new Database(file, { timeout: busy, readonly: this.readonly, fileMustExist: this.readonly });
    } catch (err) {
      throw asStoreError(err, file);
    }
    try {
      this.db.pragma(`busy_timeout = ${busy}`);
      // look before writing anything: another application's file is refused and left as it is
      const kind = inspectPoolFile(this.db, file);
      if (this.readonly) {
        if (kind === "empty") throw new PssError("NotAPoolFile", `${file} is empty: it holds no pool and no audit log`);
        // a version-1 file has no sn_request table; a read-only connection gets an empty one in its temp schema
        if (!this.db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'sn_request'").get()) this.db.exec("CREATE TEMP TABLE sn_request (sn_collection INTEGER PRIMARY KEY, target INTEGER NOT NULL, count INTEGER NOT NULL, numbers TEXT NOT NULL, token TEXT NOT NULL)");
      } else {
        this.db.pragma("journal_mode = WAL");
        this.db.pragma(`synchronous = ${options.synchronous === "NORMAL" ? "NORMAL" : "FULL"}`);
      }
      // 16 MB of page cache keeps the upper levels of the big indexes in memory: flat cost per operation as pools grow
      this.db.pragma(`cache_size = -${Math.max(2_000, Math.floor(options.cacheSizeKb ?? 16_384))}`);
      this.runTx = this.db.transaction((f: () => unknown) => f());
      if (!this.readonly && kind !== "current") {
        this.runTx.immediate(() => {
          this.db.exec(SCHEMA);
          const v = this.db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get() as string | undefined;
          if (v !== undefined && !(Number(v) >= 1 && Number(v) <= SCHEMA_VERSION)) throw new PssError("InvalidPool", `${file} has pool schema version ${v}; this SerialFlow reads versions 1 to ${SCHEMA_VERSION}`);
          this.db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(String(SCHEMA_VERSION));
          this.db.pragma(`application_id = ${APPLICATION_ID}`);
          this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
        });
      }
      this.q = this.prepare();
    } catch (err) {
      this.db.close();
      throw asStoreError(err, file);
    }
  }

  private prepare() {
    const db = this.db;
    return {
      poolById: db.prepare("SELECT * FROM pool WHERE pool_id = ?"),
      poolByPk: db.prepare("SELECT * FROM pool WHERE pk = ?"),
      pools: db.prepare("SELECT * FROM pool ORDER BY pool_id"),
      insertPool: db.prepare(`INSERT INTO pool (pool_id, sid_class, selection_criteria, guard_policy, low_threshold, max_request, max_count, is_default, created)
        VALUES (@pool_id, @sid_class, @selection_criteria, @guard_policy, @low_threshold, @max_request, @max_count, @is_default, @created)`),
      ruleOf: db.prepare("SELECT pattern, min_length AS minLength, max_length AS maxLength FROM pool_serial_rule WHERE pool = ?"),
      setRule: db.prepare("INSERT INTO pool_serial_rule (pool, pattern, min_length, max_length) VALUES (?, ?, ?, ?) ON CONFLICT (pool) DO UPDATE SET pattern = excluded.pattern, min_length = excluded.min_length, max_length = excluded.max_length"),
      dropRule: db.prepare("DELETE FROM pool_serial_rule WHERE pool = ?"),
      poolHasNumbers: db.prepare("SELECT EXISTS (SELECT 1 FROM serial_number WHERE pool = ?)").pluck(),
      lastAudit: db.prepare("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1"),
      insertAudit: db.prepare(`INSERT INTO audit (seq, time, actor, event, pool_id, serial_numbers, from_state, to_state, context, anomaly, method, sn_collection_id, label_collection_id, prev_hash, hash)
        VALUES (@seq, @time, @actor, @event, @pool_id, @serial_numbers, @from_state, @to_state, @context, @anomaly, @method, @sn_collection_id, @label_collection_id, @prev_hash, @hash)`),
      head: db.prepare("SELECT seq, hash FROM audit_head WHERE id = 1"),
      bump: db.prepare("INSERT INTO pool_count (pool, state, n) VALUES (?, ?, ?) ON CONFLICT (pool, state) DO UPDATE SET n = n + excluded.n"),
      counts: db.prepare("SELECT state, sum(n) AS n FROM pool_count WHERE (? IS NULL OR pool = ?) GROUP BY state"),
      // sorted inserts walk the value index leaf by leaf: provisioning stays fast when the index outgrows the cache
      insertNumbers: db.prepare("INSERT INTO serial_number (value, pool, state) SELECT value, ?, ? FROM json_each(?) ORDER BY value"),
      repeated: db.prepare("SELECT value FROM json_each(?) GROUP BY value HAVING count(*) > 1 LIMIT 1000").pluck(),
      existing: db.prepare("SELECT j.value FROM json_each(?) j JOIN serial_number s ON s.value = j.value LIMIT ?").pluck(),
      setProps: db.prepare("UPDATE serial_number SET properties = json_patch(coalesce(properties, '{}'), ?) WHERE value = ?"),
      lookup: db.prepare(`SELECT j.value AS v, s.rowid AS rid, s.pool AS pool, s.state AS state, s.sn_collection AS coll
        FROM json_each(?) j LEFT JOIN serial_number s ON s.value = j.value ORDER BY j.key`),
      take: db.prepare(`UPDATE serial_number SET state = ?, sn_collection = ? WHERE rowid IN
        (SELECT rowid FROM serial_number WHERE pool = ? AND state = ? AND sn_collection IS NULL LIMIT ?) RETURNING value`).pluck(),
      setState: db.prepare("UPDATE serial_number SET state = ? WHERE rowid IN (SELECT value FROM json_each(?))"),
      setStateColl: db.prepare("UPDATE serial_number SET state = ?, sn_collection = ? WHERE rowid IN (SELECT value FROM json_each(?))"),
      setLabel: db.prepare("UPDATE serial_number SET label_collection = ? WHERE rowid IN (SELECT value FROM json_each(?))"),
      collById: db.prepare("SELECT pk, id, pool, description, state FROM sn_collection WHERE id = ?"),
      collByPk: db.prepare("SELECT pk, id, pool, description, state FROM sn_collection WHERE pk = ?"),
      insertColl: db.prepare("INSERT INTO sn_collection (id, pool, description, state, created, actor) VALUES (?, ?, ?, ?, ?, ?)"),
      deleteColl: db.prepare("DELETE FROM sn_collection WHERE pk = ?"),
      labelById: db.prepare("SELECT pk FROM label_collection WHERE id = ?").pluck(),
      insertLabel: db.prepare("INSERT INTO label_collection (id, description, properties, created) VALUES (?, ?, ?, ?)"),
      snRequest: db.prepare("SELECT count, numbers, token FROM sn_request WHERE sn_collection = ?"),
      insertSnRequest: db.prepare("INSERT OR IGNORE INTO sn_request (sn_collection, target, count, numbers, token) VALUES (?, ?, ?, ?, ?)"),
      token: db.prepare("SELECT token, pool, target, sn_collection, remaining, expires FROM request_token WHERE token = ?"),
      insertToken: db.prepare("INSERT INTO request_token (token, pool, target, sn_collection, remaining, expires) VALUES (?, ?, ?, ?, ?, ?)"),
      deleteToken: db.prepare("DELETE FROM request_token WHERE token = ?"),
      purgeTokens: db.prepare("DELETE FROM request_token WHERE expires < ?"),
      freeUpTo: db.prepare(`SELECT (SELECT count(*) FROM (SELECT 1 FROM serial_number WHERE pool = @pool AND state = 0 AND sn_collection IS NULL LIMIT @limit))
        + (SELECT count(*) FROM (SELECT 1 FROM serial_number WHERE pool = @pool AND state = 1 AND sn_collection IS NULL LIMIT @limit))`).pluck(),
      getNumber: db.prepare(`SELECT s.value, p.pool_id, s.state, c.id AS coll, l.id AS label, s.properties FROM serial_number s
        JOIN pool p ON p.pk = s.pool LEFT JOIN sn_collection c ON c.pk = s.sn_collection LEFT JOIN label_collection l ON l.pk = s.label_collection
        WHERE s.value = ?`),
    };
  }

  // ---------------------------------------------------------------- transactions and audit

  /**
   * Runs fn in one BEGIN IMMEDIATE transaction (a savepoint when nested); audit records appended through the
   * StoreTransaction commit with it. "low", "level" and "audit" events fire after the outermost commit.
   */
  transaction<T>(fn: (tx: StoreTransaction) => T, options: { actor?: string } = {}): T {
    if (this.closed) throw new PssError("StoreClosed", `the pool store ${this.file} is closed`);
    if (this.readonly) throw new StoreError("StorageError", `the pool store ${this.file} is open read-only: nothing can be changed through it`);
    const actor = options.actor ?? this.actor;
    const tx: StoreTransaction = { db: this.db, actor, audit: (rec) => this.appendAudit({ actor, ...rec }) };
    const outer = this.depth === 0;
    // a nested transaction (a savepoint) that fails takes back the audit records it appended
    const mark = this.pending.length;
    this.depth++;
    let result: T;
    try {
      result = (outer ? this.runTx.immediate(() => fn(tx)) : this.runTx(() => fn(tx))) as T;
    } catch (err) {
      this.depth--;
      if (outer) {
        this.touched.clear();
        this.pending = [];
      } else this.pending.length = mark;
      // a locked file, a full disk, an I/O error: a StoreError of its own, never read as a PSS refusal
      throw outer ? asStoreError(err, this.file) : err;
    }
    this.depth--;
    if (outer) {
      try {
        this.afterCommit();
      } catch (err) {
        // the transaction is committed: a failing listener must not make the caller believe otherwise
        process.emitWarning(`serialflow pool store: a "low" or "audit" listener failed: ${(err as Error).message}`);
      }
    }
    return result;
  }

  /**
   * Group commit (issue 18): `fn` (one call of the store, synchronous) runs with the other calls queued in the same
   * turn of the event loop, each in a savepoint of one BEGIN IMMEDIATE transaction, so that one refusal rolls back
   * only its own call; the promise settles after the COMMIT that made it durable (synchronous=FULL: one fsync for
   * the group). A call alone waits for nothing but that turn. A storage fault (a full disk, a locked file after
   * busyWaitMs of retries) fails every call of its group, none of which is then committed.
   */
  grouped<T>(fn: () => T, options: { busyWaitMs?: number } = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (this.queue.length === 1) setImmediate(() => void this.flushGroup(options.busyWaitMs ?? 10_000));
    });
  }

  private async flushGroup(busyWaitMs: number): Promise<void> {
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    try {
      await retryBusy(() => {
        outcomes.length = 0;
        this.transaction(() => {
          for (const call of batch) {
            try {
              outcomes.push({ ok: true, value: this.transaction(() => call.fn()) });
            } catch (err) {
              // a refusal (or a bad argument) is this call's alone; a storage fault fails the group
              if (!(err instanceof PssError)) throw err;
              outcomes.push({ ok: false, error: err });
            }
          }
        });
      }, { file: this.file, maxWaitMs: busyWaitMs });
    } catch (err) {
      for (const call of batch) call.reject(err);
      return;
    }
    batch.forEach((call, i) => {
      const o = outcomes[i];
      if (o.ok) call.resolve(o.value);
      else call.reject(o.error);
    });
  }

  private afterCommit(): void {
    const touched = [...this.touched];
    const records = this.pending;
    this.touched.clear();
    this.pending = [];
    if (records.length && this.listenerCount("audit") > 0) this.emit("audit", records);
    if (this.listenerCount("low") === 0 && this.listenerCount("level") === 0) return;
    for (const pk of touched) {
      const row = this.q.poolByPk.get(pk) as PoolRow | undefined;
      if (!row || row.low_threshold <= 0) continue;
      const available = this.q.freeUpTo.get({ pool: pk, limit: row.low_threshold }) as number;
      const info: LowPoolInfo = { poolId: row.pool_id, available, threshold: row.low_threshold };
      if (available < row.low_threshold) this.emit("low", info);
      // "level": after every commit on a pool with a threshold, low or not, so a status saying "low" can clear after a
      // top-up; `available` counts up to the threshold only
      this.emit("level", { ...info, low: available < row.low_threshold });
    }
  }

  private appendAudit(rec: AuditInput & { actor: string }): number {
    if (this.depth === 0) throw new PssError("StoreClosed", "audit records are appended inside store.transaction() only");
    const last = this.q.lastAudit.get() as { seq: number; hash: string } | undefined;
    const row: Omit<AuditRow, "hash"> = {
      seq: (last?.seq ?? 0) + 1,
      time: new Date(this.clock()).toISOString(),
      actor: rec.actor,
      event: rec.event,
      pool_id: rec.poolId,
      serial_numbers: rec.serialNumbers.join("\n"),
      from_state: rec.fromState ?? null,
      to_state: rec.toState ?? null,
      context: canonicalContext(rec.context),
      anomaly: rec.anomaly ? 1 : 0,
      method: rec.method ?? null,
      sn_collection_id: rec.snCollectionId ?? null,
      label_collection_id: rec.labelCollectionId ?? null,
      prev_hash: last?.hash ?? GENESIS_HASH,
    };
    const full: AuditRow = { ...row, hash: auditHash(row) };
    this.q.insertAudit.run(full);
    if (this.listenerCount("audit") > 0) this.pending.push(rowToRecord(full));
    return full.seq;
  }

  private bump(pool: number, state: number, delta: number): void {
    if (delta !== 0) this.q.bump.run(pool, state, delta);
  }

  // ---------------------------------------------------------------- pools

  createPool(p: PoolOptions): Pool {
    if (typeof p !== "object" || p === null) throw new PssError("InvalidPool", "createPool needs an object { poolId, sidClass, ... }");
    const poolId = checkId(p.poolId, "poolId", "InvalidPool");
    const sidClass = checkId(p.sidClass, `pool ${poolId}: sidClass`, "InvalidPool");
    const rule = checkSidClass(poolId, sidClass, p.serialRule);
    const criteria = checkDict(p.selectionCriteria, `pool ${poolId}: selectionCriteria`, "InvalidPool");
    const policy = p.guardPolicy ?? "strict";
    if (policy !== "strict" && policy !== "record") throw new PssError("InvalidPool", `pool ${poolId}: guardPolicy must be "strict" or "record", got ${JSON.stringify(policy)}`);
    const int = (v: unknown, name: string, min: number, dflt: number) => {
      if (v === undefined || v === null) return dflt;
      if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > UINT32_MAX) throw new PssError("InvalidPool", `pool ${poolId}: ${name} must be an integer from ${min} to ${UINT32_MAX}, got ${JSON.stringify(v)}`);
      return v;
    };
    const lowThreshold = int(p.lowThreshold, "lowThreshold", 0, 0);
    const maxRequest = int(p.maxRequest, "maxRequest", 1, DEFAULT_MAX_REQUEST);
    const maxCount = int(p.maxCount, "maxCount", 1, Math.max(DEFAULT_MAX_COUNT, maxRequest));
    const isDefault = p.isDefault === true;
    return this.transaction((tx) => {
      if (this.q.poolById.get(poolId)) throw new PssError("PoolExists", `pool ${poolId} exists already in ${this.file}`);
      if (isDefault) {
        const d = this.db.prepare("SELECT pool_id FROM pool WHERE is_default = 1").pluck().get() as string | undefined;
        if (d) throw new PssError("PoolExists", `pool ${poolId} cannot be the default pool: pool ${d} is the default already`);
      }
      const created = new Date(this.clock()).toISOString();
      this.q.insertPool.run({
        pool_id: poolId, sid_class: sidClass, selection_criteria: JSON.stringify(criteria), guard_policy: policy,
        low_threshold: lowThreshold, max_request: maxRequest, max_count: maxCount, is_default: isDefault ? 1 : 0, created,
      });
      if (rule) this.q.setRule.run((this.q.poolById.get(poolId) as PoolRow).pk, rule.pattern, rule.minLength, rule.maxLength);
      tx.audit({
        event: "pool_creating", poolId, serialNumbers: [],
        context: { sidClass, guardPolicy: policy, lowThreshold: String(lowThreshold), maxRequest: String(maxRequest), maxCount: String(maxCount), isDefault: String(isDefault), selectionCriteria: canonicalContext(criteria), ...ruleContext(rule) },
      });
      return this.toPool(this.q.poolById.get(poolId) as PoolRow);
    });
  }

  /**
   * A pool's settings changed (a redeployed pss-pool): one audited `pool_updating` record names every changed
   * setting, new and old. The SID class (and a custom pool's serial rule) may change only while the pool holds no
   * serial number: numbers checked under one class are never reinterpreted under another.
   */
  updatePool(poolId: string, changes: PoolUpdate, options: { actor?: string; context?: Dict } = {}): { pool: Pool; changed: string[] } {
    if (typeof changes !== "object" || changes === null) throw new PssError("InvalidPool", "updatePool needs an object of the settings to change");
    const context = checkDict(options.context, "context", "InvalidContext");
    // a deploy that changes nothing takes no write lock
    const plan = () => {
      const row = this.poolRow(poolId);
      const cur = this.toPool(row);
      const next = { ...cur };
      const int = (v: unknown, name: string, min: number): number => {
        if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > UINT32_MAX) throw new PssError("InvalidPool", `pool ${cur.poolId}: ${name} must be an integer from ${min} to ${UINT32_MAX}, got ${JSON.stringify(v)}`);
        return v;
      };
      if (changes.sidClass !== undefined) next.sidClass = checkId(changes.sidClass, `pool ${cur.poolId}: sidClass`, "InvalidPool");
      if (changes.sidClass !== undefined || changes.serialRule !== undefined) {
        next.serialRule = checkSidClass(cur.poolId, next.sidClass, changes.serialRule ?? (next.sidClass === cur.sidClass ? cur.serialRule : undefined));
      }
      if (changes.selectionCriteria !== undefined) next.selectionCriteria = checkDict(changes.selectionCriteria, `pool ${cur.poolId}: selectionCriteria`, "InvalidPool");
      if (changes.guardPolicy !== undefined) {
        if (changes.guardPolicy !== "strict" && changes.guardPolicy !== "record") throw new PssError("InvalidPool", `pool ${cur.poolId}: guardPolicy must be "strict" or "record", got ${JSON.stringify(changes.guardPolicy)}`);
        next.guardPolicy = changes.guardPolicy;
      }
      if (changes.lowThreshold !== undefined) next.lowThreshold = int(changes.lowThreshold, "lowThreshold", 0);
      if (changes.maxRequest !== undefined) next.maxRequest = int(changes.maxRequest, "maxRequest", 1);
      if (changes.maxCount !== undefined) next.maxCount = int(changes.maxCount, "maxCount", 1);
      // a larger page raises the request limit with it, as createPool's default does
      if (changes.maxCount === undefined && next.maxCount < next.maxRequest) next.maxCount = next.maxRequest;
      const fields: Array<[string, string, string]> = [
        ["sidClass", cur.sidClass, next.sidClass],
        ["serialRule", cur.serialRule ? JSON.stringify(cur.serialRule) : "", next.serialRule ? JSON.stringify(next.serialRule) : ""],
        ["selectionCriteria", canonicalContext(cur.selectionCriteria), canonicalContext(next.selectionCriteria)],
        ["guardPolicy", cur.guardPolicy, next.guardPolicy],
        ["lowThreshold", String(cur.lowThreshold), String(next.lowThreshold)],
        ["maxRequest", String(cur.maxRequest), String(next.maxRequest)],
        ["maxCount", String(cur.maxCount), String(next.maxCount)],
      ];
      return { row, cur, next, changed: fields.filter(([, a, b]) => a !== b) };
    };
    const first = plan();
    if (first.changed.length === 0) return { pool: first.cur, changed: [] };
    return this.transaction((tx) => {
      const { row, cur, next, changed } = plan();
      if (changed.length === 0) return { pool: cur, changed: [] };
      if (changed.some(([k]) => k === "sidClass" || k === "serialRule") && this.q.poolHasNumbers.get(row.pk)) {
        const what = cur.sidClass !== next.sidClass ? `SID class ${cur.sidClass} to ${next.sidClass}` : "its serial rule";
        throw new PssError("PoolInUse", `pool ${cur.poolId} cannot change from ${what}: it holds serial numbers checked under ${cur.sidClass}${cur.serialRule ? ` (${cur.serialRule.pattern})` : ""}; create a new pool for the other class`);
      }
      if (changed.some(([k]) => k === "selectionCriteria")) {
        // the new criteria must still tell this pool from every other one in the file
        const keys = Object.keys(next.selectionCriteria);
        const twin = (this.q.pools.all() as PoolRow[]).find((r) => r.pk !== row.pk && keys.length > 0 && canonicalContext(JSON.parse(r.selection_criteria) as Dict) === canonicalContext(next.selectionCriteria));
        if (twin) throw new PssError("InvalidPool", `pool ${cur.poolId}: selection criteria ${canonicalContext(next.selectionCriteria)} are those of pool ${twin.pool_id}; a call could not tell the two apart`);
      }
      if (next.maxCount < next.maxRequest) throw new PssError("InvalidPool", `pool ${cur.poolId}: maxCount ${next.maxCount} is smaller than maxRequest ${next.maxRequest}`);
      this.db.prepare("UPDATE pool SET sid_class = ?, selection_criteria = ?, guard_policy = ?, low_threshold = ?, max_request = ?, max_count = ? WHERE pk = ?")
        .run(next.sidClass, JSON.stringify(next.selectionCriteria), next.guardPolicy, next.lowThreshold, next.maxRequest, next.maxCount, row.pk);
      if (next.serialRule) this.q.setRule.run(row.pk, next.serialRule.pattern, next.serialRule.minLength, next.serialRule.maxLength);
      else this.q.dropRule.run(row.pk);
      const ctx: Dict = { ...context };
      for (const [k, a, b] of changed) {
        ctx[k] = b;
        ctx[`was.${k}`] = a;
      }
      tx.audit({ event: "pool_updating", poolId: cur.poolId, serialNumbers: [], context: ctx });
      // a lower threshold or a new page size matters to the next "low" check
      this.touched.add(row.pk);
      return { pool: this.toPool(this.q.poolByPk.get(row.pk) as PoolRow), changed: changed.map(([k]) => k) };
    }, { actor: options.actor });
  }

  private toPool(r: PoolRow): Pool {
    const p = toPool(r);
    const rule = this.q.ruleOf.get(r.pk) as SerialRule | undefined;
    if (rule) p.serialRule = { pattern: rule.pattern, minLength: rule.minLength, maxLength: rule.maxLength };
    return p;
  }

  /** The serial check of a pool: its own rule when it is custom, else its SID class's (null = basic rules only). */
  private checkOf(pool: PoolRow): SerialCheck | null {
    const rule = this.q.ruleOf.get(pool.pk) as SerialRule | undefined;
    return rule ? ruleCheck(rule) : null;
  }

  getPool(poolId: string): Pool | undefined {
    const r = this.q.poolById.get(poolId) as PoolRow | undefined;
    return r ? this.toPool(r) : undefined;
  }

  listPools(): Pool[] {
    return (this.q.pools.all() as PoolRow[]).map((r) => this.toPool(r));
  }

  private poolRow(poolId: unknown): PoolRow {
    if (typeof poolId !== "string" || !poolId) throw new PssError("UnknownPool", `pool id must be a non-empty string, got ${JSON.stringify(poolId)}`);
    const r = this.q.poolById.get(poolId) as PoolRow | undefined;
    if (!r) throw new PssError("UnknownPool", `pool ${poolId} does not exist in ${this.file} (pools: ${this.listPools().map((p) => p.poolId).join(", ") || "none"})`);
    return r;
  }

  /** Empty criteria pick the default pool (or the only pool); otherwise every key/value must match one pool. */
  selectPool(criteria: Dict | undefined): Pool {
    return this.toPool(this.selectPoolRow(criteria));
  }

  private selectPoolRow(criteria: Dict | undefined): PoolRow {
    const c = checkDict(criteria, "poolSelectionCriteria", "InvalidSelectionCriteria");
    const rows = this.q.pools.all() as PoolRow[];
    const keys = Object.keys(c);
    if (keys.length === 0) {
      const d = rows.find((r) => r.is_default === 1) ?? (rows.length === 1 ? rows[0] : undefined);
      if (!d) throw new PssError("InvalidSelectionCriteria", rows.length ? `no pool selection criteria given and no default pool among ${rows.map((r) => r.pool_id).join(", ")}` : "no pool exists in this store");
      return d;
    }
    const hits = rows.filter((r) => {
      const sc = JSON.parse(r.selection_criteria) as Dict;
      return keys.every((k) => sc[k] === c[k] || (k === "PoolID" && c[k] === r.pool_id && sc[k] === undefined));
    });
    const shown = canonicalContext(c);
    if (hits.length === 0) throw new PssError("InvalidSelectionCriteria", `no pool matches the selection criteria ${shown}`);
    if (hits.length > 1) throw new PssError("InvalidSelectionCriteria", `the selection criteria ${shown} match several pools (${hits.map((r) => r.pool_id).join(", ")}): add a key that tells them apart`);
    return hits[0];
  }

  // ---------------------------------------------------------------- provisioning

  /** New numbers enter the pool as Unassigned. A batch with a duplicate (inside it or anywhere in the file) is refused. */
  provision(poolId: string, serialNumbers: Iterable<string> | { generate: number }, options: { properties?: Record<string, Dict>; actor?: string; context?: Dict } = {}): { added: number } {
    const pool = this.poolRow(poolId);
    const context = checkDict(options.context, "context", "InvalidContext");
    if (serialNumbers && typeof serialNumbers === "object" && !(Symbol.iterator in serialNumbers) && "generate" in serialNumbers) {
      return this.generate(pool, serialNumbers.generate, options.actor, context);
    }
    if (serialNumbers === null || typeof serialNumbers !== "object" || !(Symbol.iterator in (serialNumbers as object)) || typeof serialNumbers === "string") {
      throw new PssError("InvalidSerialNumber", `provision into pool ${pool.pool_id}: give an iterable of serial numbers or { generate: n }`);
    }
    const values = Array.isArray(serialNumbers) ? (serialNumbers as unknown[]) : [...(serialNumbers as Iterable<string>)];
    if (values.length === 0) throw new PssError("InvalidCount", `provision into pool ${pool.pool_id}: no serial numbers given`);
    validateSerialNumbers(values, pool.sid_class, `provision into pool ${pool.pool_id}`, this.checkOf(pool));
    const props = options.properties === undefined ? undefined : this.checkProperties(options.properties, values as string[]);
    return this.transaction(() => {
      this.insertFresh(pool, values as string[], options.actor ?? this.actor, context, "provision");
      if (props) for (const [v, p] of props) this.q.setProps.run(JSON.stringify(p), v);
      return { added: values.length };
    }, { actor: options.actor });
  }

  /**
   * An authority file (one serial number per line) into a pool: all lines or none. Every refusal names the line and
   * the serial number (a number already stored, or twice in the file, too). With onProgress: reading and checking
   * the lines counts two units per line, storing them one unit per line; called every few thousand lines, increasing,
   * and with (total, total) once stored.
   */
  importFile(poolId: string, text: string, options: ImportOptions = {}): { added: number } {
    const pool = this.poolRow(poolId);
    if (typeof text !== "string") throw new PssError("InvalidImportFile", "the import file must be text");
    const { onProgress, ...rest } = options;
    let total = 0;
    const { serialNumbers, properties, lines } = parseImportText(text, pool.sid_class, this.checkOf(pool), onProgress ? (done, all) => onProgress(2 * done, (total = 3 * all)) : undefined);
    if (serialNumbers.length === 0) throw new PssError("InvalidImportFile", `the import file for pool ${pool.pool_id} holds no serial number`);
    let r: { added: number };
    try {
      r = this.provision(poolId, serialNumbers, { ...rest, properties });
    } catch (err) {
      throw err instanceof PssError ? withLines(err, pool.pool_id, serialNumbers, lines) : err;
    }
    if (onProgress && total > 0) onProgress(total, total);
    return r;
  }

  /**
   * importFile for a large file without holding the event loop: the file is read and checked in blocks of lines
   * that yield between them, then checked as a whole (a number twice in the file, a number already stored), and
   * only then stored in steps of `step` numbers, one transaction and audit record each (context importPart /
   * importParts). A refusal found while reading or checking leaves the store exactly as before, with every bad
   * line named; once storing has begun, a later step can fail only if another writer stored one of the file's
   * numbers meanwhile, and the error says how many were stored.
   */
  async importFileInSteps(poolId: string, text: string, options: ImportOptions & { step?: number; block?: number } = {}): Promise<{ added: number }> {
    const pool = this.poolRow(poolId);
    if (typeof text !== "string") throw new PssError("InvalidImportFile", "the import file must be text");
    const { onProgress, step: stepOpt, block: blockOpt, ...rest } = options;
    const step = Math.max(1, stepOpt ?? 20_000);
    const block = Math.max(1, blockOpt ?? 10_000);
    const pause = () => new Promise<void>((resolve) => setImmediate(resolve));
    // the line count (for progress) and the blocks are found with indexOf: no array of a million lines is made
    let lineCount = 1;
    for (let at = text.indexOf("\n"); at !== -1; at = text.indexOf("\n", at + 1)) lineCount++;
    const total = 3 * lineCount;
    const check = this.checkOf(pool);
    const values: string[] = [];
    const lines: number[] = [];
    const properties: Record<string, Dict> = {};
    const bad: PssErrorDetail[] = [];
    let first = 0; // the block's first line (0-based)
    let pos = 0; // where it starts in the text
    while (pos <= text.length && first < lineCount) {
      let end = pos;
      let n = 0;
      while (n < block) {
        const nl = text.indexOf("\n", end);
        if (nl === -1) {
          end = text.length;
          n = lineCount - first;
          break;
        }
        end = nl + 1;
        n++;
      }
      // line numbers count from the block's first line in the file
      try {
        const r = parseImportText(text.slice(pos, end), pool.sid_class, check, undefined, first);
        for (let i = 0; i < r.serialNumbers.length; i++) (values.push(r.serialNumbers[i]), lines.push(r.lines[i]));
        if (r.properties) Object.assign(properties, r.properties);
      } catch (err) {
        if (!(err instanceof PssError) || err.code !== "InvalidImportFile" || !err.details?.length) throw err;
        bad.push(...err.details);
      }
      first += n;
      pos = end;
      onProgress?.(2 * first, total);
      await pause();
    }
    if (bad.length) {
      throw new PssError("InvalidImportFile", `import file for pool ${pool.pool_id}: ${bad.length} bad line(s): ${bad.slice(0, 3).map((d) => d.reason).join("; ")}${bad.length > 3 ? ` and ${bad.length - 3} more` : ""}`, bad);
    }
    if (values.length === 0) throw new PssError("InvalidImportFile", `the import file for pool ${pool.pool_id} holds no serial number`);
    // the whole file: twice in it, or already stored (checked in blocks too)
    const seen = new Set<string>();
    const twice: PssErrorDetail[] = [];
    const stored: PssErrorDetail[] = [];
    for (let a = 0; a < values.length; a += block) {
      const b = Math.min(values.length, a + block);
      for (let i = a; i < b; i++) {
        const v = values[i];
        if (seen.has(v)) twice.push({ serialNumber: v, reason: `line ${lines[i]}: ${JSON.stringify(v)} appears more than once in the file` });
        else seen.add(v);
        if (this.getSerialNumber(v)) stored.push({ serialNumber: v, reason: `line ${lines[i]}: ${JSON.stringify(v)} is already in the store` });
      }
      await pause();
    }
    for (const [code, list] of [["DuplicateInBatch", twice], ["DuplicateSerialNumber", stored]] as const) {
      if (list.length) throw new PssError(code, `import into pool ${pool.pool_id}: ${list.length} serial number(s) refused: ${list.slice(0, 3).map((d) => d.reason).join("; ")}${list.length > 3 ? ` and ${list.length - 3} more` : ""}`, list);
    }
    const parts = Math.ceil(values.length / step);
    let added = 0;
    for (let k = 0; k < parts; k++) {
      const slice = values.slice(k * step, (k + 1) * step);
      let props: Record<string, Dict> | undefined;
      for (const v of slice) if (properties[v]) (props ??= {})[v] = properties[v];
      try {
        added += this.provision(poolId, slice, { ...rest, context: { ...(rest.context ?? {}), importPart: String(k + 1), importParts: String(parts) }, ...(props ? { properties: props } : {}) }).added;
      } catch (err) {
        if (added === 0) throw err;
        const e = err as Error & { code?: string };
        throw new PssError(e.code ?? "InvalidImportFile", `import into pool ${pool.pool_id}: stopped after ${added} of ${values.length} numbers were stored (parts 1-${k} of ${parts}): ${e.message}`, err instanceof PssError ? err.details : undefined);
      }
      onProgress?.(2 * lineCount + Math.round((lineCount * (k + 1)) / parts), total);
      if (k + 1 < parts) await pause();
    }
    return { added };
  }

  private checkProperties(props: unknown, values: string[]): Array<[string, Dict]> {
    if (typeof props !== "object" || props === null || Array.isArray(props)) throw new PssError("InvalidSerialNumber", "properties must be an object: serial number -> { key: value }");
    const inBatch = new Set(values);
    const out: Array<[string, Dict]> = [];
    for (const [v, p] of Object.entries(props)) {
      if (!inBatch.has(v)) throw new PssError("UnknownSerialNumber", `properties are given for ${JSON.stringify(v)}, which is not in the batch`, [{ serialNumber: v, reason: "not in the batch" }]);
      out.push([v, checkDict(p, `properties of ${v}`, "InvalidSerialNumber")]);
    }
    return out;
  }

  /** Inserts validated, batch-unique numbers as Unassigned, free; refuses numbers stored anywhere in the file. */
  private insertFresh(pool: PoolRow, values: string[], actor: string, context: Dict, method: string): void {
    this.insertRows(pool.pk, values, `${method} into pool ${pool.pool_id}`);
    this.touched.add(pool.pk);
    this.appendAudit({ actor, event: "sn_adding", poolId: pool.pool_id, serialNumbers: values, toState: "Unassigned", context, method });
  }

  private generate(pool: PoolRow, n: unknown, actor: string | undefined, context: Dict): { added: number } {
    if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > pool.max_count) {
      throw new PssError("InvalidCount", `provision into pool ${pool.pool_id}: generate must be an integer from 1 to the pool's maxCount ${pool.max_count}, got ${JSON.stringify(n)}`);
    }
    let values: string[] = [];
    const seen = new Set<string>();
    // a random generator may repeat a number (inside the batch or against the file): draw again for those
    for (let round = 0; values.length < n; round++) {
      if (round >= 20) throw new PssError("InsufficientSerialNumbers", `pool ${pool.pool_id}: the generator of SID class ${pool.sid_class} keeps producing numbers that exist already`);
      const fresh = this.generator(pool.sid_class, n - values.length).filter((v) => !seen.has(v) && (seen.add(v), true));
      validateSerialNumbers(fresh, pool.sid_class, `generated for pool ${pool.pool_id}`, this.checkOf(pool));
      const taken = new Set(this.q.existing.all(JSON.stringify(fresh), fresh.length) as string[]);
      values = values.concat(taken.size ? fresh.filter((v) => !taken.has(v)) : fresh);
    }
    return this.transaction(() => {
      this.insertFresh(pool, values, actor ?? this.actor, context, "generate");
      return { added: values.length };
    }, { actor });
  }

  // ---------------------------------------------------------------- the PSS rules (rules.ts) on this engine

  /** Runs a rule in one transaction of this file (synchronously: the SQLite primitives never yield). */
  private run<T>(actor: string | undefined, rule: (tx: EngineTx) => Op<T>): T {
    return this.transaction((t) => runSync(rule(this.engineTx(t.actor))), { actor });
  }

  /** The engine primitives (engine.ts) over this file's prepared statements, inside the current transaction. */
  private engineTx(actor: string): EngineTx {
    const q = this.q;
    const rec = (r: PoolRow | undefined): PoolRec | undefined => (r ? poolRec(r) : undefined);
    const coll = (r: CollRow | undefined): CollRec | undefined => (r ? { pk: r.pk, id: r.id, pool: r.pool, description: r.description, state: stateFromEnum(r.state) } : undefined);
    const json = (rids: readonly Rid[]) => JSON.stringify(rids);
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const store = this;
    return {
      actor,
      where: this.file,
      now: () => this.clock(),
      *pools() {
        return (q.pools.all() as PoolRow[]).map(poolRec);
      },
      *poolById(poolId) {
        return rec(q.poolById.get(poolId) as PoolRow | undefined);
      },
      *poolByPk(pk) {
        return rec(q.poolByPk.get(pk) as PoolRow | undefined);
      },
      *serialCheck(pool) {
        const rule = q.ruleOf.get(pool.pk) as SerialRule | undefined;
        return rule ? ruleCheck(rule) : null;
      },
      *collById(id) {
        return coll(q.collById.get(id) as CollRow | undefined);
      },
      *collByPk(pk) {
        return coll(q.collByPk.get(pk) as CollRow | undefined);
      },
      *insertColl(id, pool, description, state) {
        const info = q.insertColl.run(id, pool.pk, description, S(state), new Date(store.clock()).toISOString(), actor);
        return { pk: Number(info.lastInsertRowid), id, pool: pool.pk, description, state };
      },
      *deleteColl(pk) {
        q.deleteColl.run(pk);
      },
      *answeredRequest(pk) {
        const r = q.snRequest.get(pk) as { count: number; numbers: string; token: string } | undefined;
        return r ? { count: r.count, numbers: JSON.parse(r.numbers) as string[], token: r.token } : undefined;
      },
      *recordRequest(pk, target, answer) {
        q.insertSnRequest.run(pk, S(target), answer.count, JSON.stringify(answer.numbers), answer.token);
      },
      *token(token) {
        const t = q.token.get(token) as { token: string; pool: number; target: number; sn_collection: number; remaining: number; expires: number } | undefined;
        return t ? { token: t.token, pool: t.pool, target: stateFromEnum(t.target), coll: t.sn_collection, remaining: t.remaining, expires: t.expires } : undefined;
      },
      *deleteToken(token) {
        q.deleteToken.run(token);
      },
      *insertToken(t, purgeBefore) {
        q.purgeTokens.run(purgeBefore);
        q.insertToken.run(t.token, t.pool, S(t.target), t.coll, t.remaining, t.expires);
      },
      *take(pool, from, to, collPk, n) {
        return q.take.all(S(to), collPk, pool, S(from), n) as string[];
      },
      *lookup(values) {
        return (q.lookup.all(JSON.stringify(values)) as LookupRow[]).map((r) => ({ v: r.v, rid: r.rid, pool: r.pool, state: r.state === null ? null : stateFromEnum(r.state), coll: r.coll }));
      },
      *setState(rids, state, collPk) {
        if (collPk === undefined) q.setState.run(S(state), json(rids));
        else q.setStateColl.run(S(state), collPk, json(rids));
      },
      *count(pool, deltas) {
        for (const [state, n] of deltas) store.bump(pool, S(state), n);
      },
      *insertNumbers(pool, values, what) {
        store.insertRows(pool.pk, values, what);
      },
      *audit(r) {
        store.appendAudit(r);
      },
      touched: (pk) => {
        this.touched.add(pk);
      },
      *labelCollection(id, description, properties) {
        return (q.labelById.get(id) as number | undefined) ?? Number(q.insertLabel.run(id, description, properties, new Date(store.clock()).toISOString()).lastInsertRowid);
      },
      *setLabel(label, rids) {
        q.setLabel.run(label, json(rids));
      },
      *setProperties(value, props) {
        q.setProps.run(JSON.stringify(props), value);
      },
      *expand(event, values, context) {
        const hook = store.hierarchyHook();
        return hook ? hook.expand({ db: store.db, actor, audit: (r) => store.appendAudit({ actor, ...r }) }, event, values, context) : [];
      },
    };
  }

  /** New numbers as Unassigned, counted; a number stored already (or twice in the batch) refuses the call. */
  private insertRows(pool: number, values: readonly string[], what: string): void {
    const json = JSON.stringify(values);
    try {
      this.q.insertNumbers.run(pool, S("Unassigned"), json);
    } catch (err) {
      if ((err as { code?: string }).code !== "SQLITE_CONSTRAINT_UNIQUE") throw err;
      // the unique index found it; tell a repeat inside the batch from a number stored before (no Set of a million strings)
      const twice = this.q.repeated.all(json) as string[];
      if (twice.length) {
        throw new PssError("DuplicateInBatch", `${what}: ${twice.length} serial number(s) appear twice in the batch: ${listSome(twice)}`, twice.map((d) => ({ serialNumber: d, reason: "appears more than once in the batch" })));
      }
      const dups = this.q.existing.all(json, 1_000_000) as string[];
      throw new PssError("DuplicateSerialNumber", `${what}: ${dups.length} serial number(s) are already in the store: ${listSome(dups)}`, dups.map((d) => ({ serialNumber: d, reason: "already in the store" })));
    }
    this.bump(pool, S("Unassigned"), values.length);
  }

  request(target: RequestTarget, args: RequestArgs): RequestResult {
    const call = rules.requestCall(target, args);
    return this.run(args.actor, (tx) => rules.request(tx, call, this.tokenTtlMs));
  }

  /** SNReturnAllocated / SNReturnUnallocated: numbers go back to the pool, free, from the collection they came from. */
  returnSerialNumbers(target: ReturnTarget, args: CollectionArgs): { returnStatus: "NoError" } {
    const call = rules.returnCall(target, args);
    return this.run(args.actor, (tx) => rules.returnNumbers(tx, target, call));
  }

  /** SNtoUnallocated / SNtoAllocated / SNtoEncoded: along the forward path to the target (rules.pushTo). */
  pushTo(target: PushTarget, args: CollectionArgs): { returnStatus: "NoError" } {
    const call = rules.pushCall(target, args);
    return this.run(args.actor, (tx) => rules.pushTo(tx, target, call));
  }

  /** One PSS event over a batch: all or nothing; under `strict` a forbidden number refuses the batch. */
  applyEvent(event: PssEvent, args: EventArgs): { returnStatus: "NoError"; applied: number; anomalies: number } {
    const call = rules.eventCall(event, args);
    return this.run(args.actor, (tx) => rules.applyEvent(tx, call));
  }

  /** Installed by the aggregation module: shipping, decommissioning and destroying then reach packed contents. */
  setHierarchy(hook: HierarchyHook): void {
    this.hierarchy = hook;
  }

  /** The hierarchy hook; a file that holds a hierarchy gets it even when no aggregation was opened on this store. */
  private hierarchyHook(): HierarchyHook | undefined {
    if (this.hierarchy) return this.hierarchy;
    if (this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'agg_link'").get() === undefined) return undefined;
    // loaded at run time: the aggregation module builds on this one
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    (require("../aggregation") as typeof import("../aggregation")).aggregationFor(this);
    return this.hierarchy;
  }

  /** The properties of a label collection (lot, expiry, ...), as stored by the event that brought it; undefined when unknown. */
  labelCollectionProperties(id: string): Dict | undefined {
    const raw = this.db.prepare("SELECT properties FROM label_collection WHERE id = ?").pluck().get(id) as string | null | undefined;
    if (raw === undefined || raw === null || raw === "") return undefined;
    const v = JSON.parse(raw) as unknown;
    return Array.isArray(v) ? Object.fromEntries(v as Array<[string, string]>) : (v as Dict);
  }

  /** The guard's dry run: which numbers the table lets `event` touch, and why the others are refused. */
  checkEvent(event: PssEvent, serialNumbers: string[]): GuardCheck {
    const values = rules.checkCall(event, serialNumbers);
    // a read: no write lock, no transaction
    return runSync(rules.checkEvent(this.engineTx(this.actor), event, values));
  }

  // ---------------------------------------------------------------- reads

  getSerialNumber(value: string): SerialNumberInfo | undefined {
    if (typeof value !== "string") return undefined;
    const r = this.q.getNumber.get(value) as { value: string; pool_id: string; state: number; coll: string | null; label: string | null; properties: string | null } | undefined;
    if (!r) return undefined;
    return { value: r.value, poolId: r.pool_id, state: stateFromEnum(r.state), snCollectionId: r.coll, labelCollectionId: r.label, properties: r.properties ? (JSON.parse(r.properties) as Dict) : null };
  }

  /** Numbers per state (all 12 states, zeros included) of one pool, or of the whole file. */
  countByState(poolId?: string): Record<SerialNumberState, number> {
    const pk = poolId === undefined ? null : this.poolRow(poolId).pk;
    const out = Object.fromEntries(STATES.map((s) => [s, 0])) as Record<SerialNumberState, number>;
    for (const r of this.q.counts.all(pk, pk) as Array<{ state: number; n: number }>) out[stateFromEnum(r.state)] = r.n;
    return out;
  }

  /** Free numbers (Unassigned or Unallocated, bound to no collection): what requests can still hand out. */
  available(poolId: string): number {
    const pool = this.poolRow(poolId);
    return this.q.freeUpTo.get({ pool: pool.pk, limit: -1 }) as number;
  }

  /** The audit log in seq order, streamed (one record in memory at a time). With onProgress: (records read,
      records of the query), every PROGRESS_RECORDS records and once at the end. */
  *auditRecords(q: AuditQuery = {}, options: { onProgress?: (done: number, total: number) => void } = {}): IterableIterator<AuditRecord> {
    const where = "WHERE seq >= ? AND seq <= ? AND (? IS NULL OR time >= ?) AND (? IS NULL OR time <= ?)";
    const from = q.fromTime ?? null;
    const to = q.toTime ?? null;
    const params = [q.fromSeq ?? 0, q.toSeq ?? Number.MAX_SAFE_INTEGER, from, from, to, to];
    let rows = this.db.prepare(`SELECT * FROM audit ${where} ORDER BY seq`).iterate(...params) as IterableIterator<AuditRow>;
    if (options.onProgress) rows = counted(rows, this.db.prepare(`SELECT count(*) FROM audit ${where}`).pluck().get(...params) as number, options.onProgress);
    for (const r of rows) yield rowToRecord(r);
  }

  /** How many audit records a query of auditRecords gives (a progress bar's total). */
  countAuditRecords(q: AuditQuery = {}): number {
    const from = q.fromTime ?? null;
    const to = q.toTime ?? null;
    return this.db
      .prepare("SELECT count(*) FROM audit WHERE seq >= ? AND seq <= ? AND (? IS NULL OR time >= ?) AND (? IS NULL OR time <= ?)")
      .pluck()
      .get(q.fromSeq ?? 0, q.toSeq ?? Number.MAX_SAFE_INTEGER, from, from, to, to) as number;
  }

  /** The newest audit records first, of one pool or of the whole file, for dashboards (the editor's sidebar).
      Each record lists at most `maxNumbers` of its serial numbers; `count` says how many it holds. */
  recentAudit(limit: number, poolId?: string, maxNumbers = 5): Array<Omit<AuditRecord, "serialNumbers" | "prevHash" | "hash"> & { serialNumbers: string[]; count: number }> {
    const n = Math.max(1, Math.min(1000, Math.floor(limit)));
    const rows = this.db
      .prepare(`SELECT seq, time, actor, event, pool_id, substr(serial_numbers, 1, 2048) AS serial_numbers, from_state, to_state, context, anomaly, method, sn_collection_id, label_collection_id, '' AS prev_hash, '' AS hash,
        CASE WHEN serial_numbers = '' THEN 0 ELSE length(serial_numbers) - length(replace(serial_numbers, char(10), '')) + 1 END AS n
        FROM audit WHERE (? IS NULL OR pool_id = ?) ORDER BY seq DESC LIMIT ?`)
      .all(poolId ?? null, poolId ?? null, n) as Array<AuditRow & { n: number }>;
    return rows.map((r) => {
      const { prevHash: _p, hash: _h, ...rec } = rowToRecord(r);
      return { ...rec, serialNumbers: rec.serialNumbers.slice(0, Math.min(maxNumbers, r.n)), count: r.n };
    });
  }

  /** Recomputes the hash chain; names the first changed, removed or inserted record. With onProgress: (records
      checked, records), every PROGRESS_RECORDS records. */
  verifyAudit(options: { onProgress?: (done: number, total: number) => void } = {}): VerifyResult {
    let rows = this.db.prepare("SELECT * FROM audit ORDER BY seq").iterate() as IterableIterator<AuditRow>;
    const head = this.q.head.get() as { seq: number; hash: string } | undefined;
    const onProgress = options.onProgress;
    if (onProgress) {
      const total = this.db.prepare("SELECT count(*) FROM audit").pluck().get() as number;
      rows = counted(rows, total, onProgress);
    }
    return verifyRows(rows, head);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.removeAllListeners();
    this.db.close();
  }
}

/** Opens (and creates when needed) a pool file. Several processes may open the same file. */
export function openPoolStore(file: string, options: OpenOptions = {}): SqlitePoolStore {
  if (typeof file !== "string" || !file) throw new PssError("InvalidPool", "openPoolStore needs a file name");
  return new SqlitePoolStore(file, options);
}
