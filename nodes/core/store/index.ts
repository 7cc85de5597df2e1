/* The PoolStore: serial number pools in one SQLite file (better-sqlite3), guarded by the lifecycle table,
   every change audited in a hash-chained log. One BEGIN IMMEDIATE transaction per call; bulk work is set-based. */
import { EventEmitter } from "events";
import * as crypto from "crypto";
import Database from "better-sqlite3";
import {
  EVENTS, FORWARD_PATH, PssEvent, STATES, SerialNumberState, TERMINAL_STATES, TRANSITIONS, forwardSteps, isEvent,
  stateFromEnum, stateToEnum, transition,
} from "../lifecycle";
import { PssError, PssErrorDetail, StoreError, asStoreError, listSome } from "./errors";
import { AuditRecord, AuditRow, GENESIS_HASH, VerifyResult, auditHash, canonicalContext, rowToRecord, verifyRows } from "./audit";
import { APPLICATION_ID, POOL_TABLES, SCHEMA, SCHEMA_VERSION } from "./schema";
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
export type RequestTarget = "Unassigned" | "Unallocated" | "Allocated";
export type ReturnTarget = "Unallocated" | "Allocated";
export type PushTarget = "Unallocated" | "Allocated" | "Encoded";

/** Serial number formats the store reads and writes: both mean the serial number as stored. */
export const SN_FORMATS = ["SERIALONLY", "LITERAL"] as const;

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

export interface RequestArgs {
  poolSelectionCriteria?: Dict;
  snCollectionId?: string;
  count: number;
  snFormat?: string;
  requestToken?: string;
  actor?: string;
  context?: Dict;
}

export interface RequestResult {
  returnStatus: "NoError" | "InsufficientSerialNumbers";
  snCollection: SNCollection;
  returnedRequestToken: string;
}

export interface CollectionArgs {
  snCollection: { id: string; serialNumbers: string[] };
  poolSelectionCriteria?: Dict;
  snFormat?: string;
  actor?: string;
  context?: Dict;
}

export interface LabelCollectionIn {
  id?: string;
  description?: string;
  properties?: Dict;
  labels?: Array<{ id: string; properties?: Dict }>;
}

export interface EventArgs {
  serialNumbers: string[];
  snFormat?: string;
  labelCollection?: LabelCollectionIn;
  context?: Dict;
  actor?: string;
  /** when given, every number must belong to this pool */
  poolId?: string;
}

export interface SerialNumberInfo {
  value: string;
  poolId: string;
  state: SerialNumberState;
  snCollectionId: string | null;
  labelCollectionId: string | null;
  properties: Dict | null;
}

export interface GuardCheck {
  allowed: Array<{ serialNumber: string; state: SerialNumberState; to: SerialNumberState }>;
  refused: Array<{ serialNumber: string; state?: SerialNumberState; reason: string }>;
}

export interface LowPoolInfo {
  poolId: string;
  available: number;
  threshold: number;
}

/** The events a parent passes on to everything packed under it (docs/aggregation.md). */
export const TREE_EVENTS: readonly PssEvent[] = ["shipping", "decommissioning", "destroying"];

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
  expand(tx: StoreTransaction, event: PssEvent, values: string[], context: Dict): TreeMember[];
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

function isDict(x: unknown): x is Dict {
  return typeof x === "object" && x !== null && !Array.isArray(x) && Object.values(x).every((v) => typeof v === "string");
}

function checkDict(x: unknown, what: string, code: string): Dict {
  if (x === undefined || x === null) return {};
  if (!isDict(x)) throw new PssError(code, `${what} must be an object of string values (key/value pairs), got ${Array.isArray(x) ? "an array" : typeof x === "object" ? "a non-string value" : typeof x}`);
  return x;
}

function checkId(x: unknown, what: string, code: string): string {
  if (typeof x !== "string" || x.length === 0) throw new PssError(code, `${what} must be a non-empty string, got ${x === "" ? "an empty string" : typeof x}`);
  if (x.length > ID_MAX || /[\u0000-\u001f\u007f]/.test(x)) throw new PssError(code, `${what} ${JSON.stringify(x.slice(0, 40))} is longer than ${ID_MAX} characters or contains a control character`);
  return x;
}

function checkFormat(f: unknown): void {
  if (f === undefined || f === null || f === "") return;
  if (typeof f !== "string" || !(SN_FORMATS as readonly string[]).includes(f.toUpperCase())) {
    throw new PssError("InvalidSerialNumbersFormat", `SNFormat ${JSON.stringify(f)} is not supported by this pool store (supported: ${SN_FORMATS.join(", ")})`);
  }
}

function checkNumberList(x: unknown, what: string): string[] {
  if (!Array.isArray(x)) throw new PssError("InvalidSerialNumber", `${what}: serialNumbers must be an array of strings, got ${x === null ? "null" : typeof x}`);
  if (x.length === 0) throw new PssError("InvalidCount", `${what}: no serial numbers given (at least one is needed)`);
  validateSerialNumbers(x, null, what);
  refuseDuplicates(x as string[], what);
  return x as string[];
}


function ruleContext(rule: SerialRule | undefined): Dict {
  return rule ? { serialRule: JSON.stringify(rule) } : {};
}

/** The target state an event leads to whatever the start (null for the events that change nothing). */
function eventTarget(event: PssEvent): SerialNumberState | null {
  const tos = new Set(Object.entries(TRANSITIONS[event]).filter(([from, to]) => from !== to).map(([, to]) => to));
  return tos.size === 1 ? [...tos][0] : null;
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
    this.depth++;
    let result: T;
    try {
      result = (outer ? this.runTx.immediate(() => fn(tx)) : this.runTx(() => fn(tx))) as T;
    } catch (err) {
      this.depth--;
      if (outer) {
        this.touched.clear();
        this.pending = [];
      }
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
    const json = JSON.stringify(values);
    try {
      this.q.insertNumbers.run(pool.pk, S("Unassigned"), json);
    } catch (err) {
      if ((err as { code?: string }).code !== "SQLITE_CONSTRAINT_UNIQUE") throw err;
      // the unique index found it; tell a repeat inside the batch from a number stored before (no Set of a million strings)
      const twice = this.q.repeated.all(json) as string[];
      if (twice.length) {
        throw new PssError("DuplicateInBatch", `${method} into pool ${pool.pool_id}: ${twice.length} serial number(s) appear twice in the batch: ${listSome(twice)}`, twice.map((d) => ({ serialNumber: d, reason: "appears more than once in the batch" })));
      }
      const dups = this.q.existing.all(json, 1_000_000) as string[];
      throw new PssError("DuplicateSerialNumber", `${method} into pool ${pool.pool_id}: ${dups.length} serial number(s) are already in the store: ${listSome(dups)}`, dups.map((d) => ({ serialNumber: d, reason: "already in the store" })));
    }
    this.bump(pool.pk, S("Unassigned"), values.length);
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

  // ---------------------------------------------------------------- requests

  request(target: RequestTarget, args: RequestArgs): RequestResult {
    const method = `SNRequest${target}`;
    if (target !== "Unassigned" && target !== "Unallocated" && target !== "Allocated") {
      throw new PssError("InvalidEvent", `request target must be Unassigned, Unallocated or Allocated, got ${JSON.stringify(target)}`);
    }
    if (typeof args !== "object" || args === null) throw new PssError("InvalidCount", `${method}: arguments { count, ... } are missing`);
    checkFormat(args.snFormat);
    const context = checkDict(args.context, "context", "InvalidContext");
    const token = args.requestToken === undefined || args.requestToken === null || args.requestToken === "" ? undefined : args.requestToken;
    if (token !== undefined && typeof token !== "string") throw new PssError("InvalidRequestToken", `${method}: the request token must be a string`);
    const collId = args.snCollectionId === undefined || args.snCollectionId === null || args.snCollectionId === "" ? undefined : checkId(args.snCollectionId, "snCollectionId", "InvalidSerialNumberCollection");
    const actor = args.actor ?? this.actor;
    return this.transaction(() => {
      const pool = this.selectPoolRow(args.poolSelectionCriteria);
      const now = this.clock();
      let coll: CollRow;
      let remaining: number;
      let createdColl = false;
      if (token !== undefined) {
        const t = this.q.token.get(token) as { token: string; pool: number; target: number; sn_collection: number; remaining: number; expires: number } | undefined;
        if (!t) throw new PssError("InvalidRequestToken", `${method}: request token ${JSON.stringify(token.slice(0, 60))} is unknown (finished, replaced by a later page, or never issued)`);
        if (t.expires <= now) throw new PssError("InvalidRequestToken", `${method}: request token ${JSON.stringify(token)} expired at ${new Date(t.expires).toISOString()}`, undefined, "TokenExpired");
        if (t.pool !== pool.pk) {
          const other = (this.q.poolByPk.get(t.pool) as PoolRow | undefined)?.pool_id;
          throw new PssError("InvalidRequestToken", `${method}: request token ${JSON.stringify(token)} was issued for pool ${other}, not pool ${pool.pool_id}`);
        }
        if (t.target !== S(target)) throw new PssError("InvalidRequestToken", `${method}: request token ${JSON.stringify(token)} was issued for SNRequest${stateFromEnum(t.target)}`);
        coll = this.q.collByPk.get(t.sn_collection) as CollRow;
        if (collId !== undefined && collId !== coll.id) throw new PssError("InvalidRequestToken", `${method}: request token ${JSON.stringify(token)} continues SNCollection ${coll.id}, not ${collId}`);
        remaining = t.remaining;
        this.q.deleteToken.run(token);
      } else {
        const n = args.count;
        if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > pool.max_count) {
          throw new PssError("InvalidCount", `${method} from pool ${pool.pool_id}: count must be an integer from 1 to the pool's maximum ${pool.max_count}, got ${JSON.stringify(n)}`);
        }
        remaining = n;
        if (collId !== undefined) {
          const c = this.q.collById.get(collId) as CollRow | undefined;
          if (c && c.pool !== pool.pk) {
            const other = (this.q.poolByPk.get(c.pool) as PoolRow).pool_id;
            throw new PssError("InvalidSerialNumberCollection", `${method}: SNCollection ${collId} belongs to pool ${other}, not pool ${pool.pool_id}`);
          }
          if (c && c.state !== S(target)) throw new PssError("InvalidSerialNumberCollection", `${method}: SNCollection ${collId} holds ${stateFromEnum(c.state)} numbers, not ${target} ones`);
          const prev = c ? (this.q.snRequest.get(c.pk) as { count: number; numbers: string; token: string } | undefined) : undefined;
          if (c && prev) {
            // a repeat of a request already answered (a retry after a lost answer): the same numbers, nothing new
            if (prev.count !== n) {
              throw new PssError("InvalidSerialNumberCollection", `${method}: SNCollection ${collId} was requested already with count ${prev.count}; a repeat with the same count returns the same numbers, a count of ${n} is refused (use a new snCollectionId for more numbers)`, undefined, "CollectionRequestedAlready");
            }
            const numbers = JSON.parse(prev.numbers) as string[];
            const token = prev.token && this.q.token.get(prev.token) ? prev.token : "";
            return {
              returnStatus: numbers.length < Math.min(prev.count, pool.max_request) ? "InsufficientSerialNumbers" as const : "NoError" as const,
              snCollection: { id: c.id, description: c.description, state: target, associatedPoolId: pool.pool_id, serialNumbers: numbers },
              returnedRequestToken: token,
            };
          }
          if (c) coll = c;
          else {
            coll = this.newCollection(collId, pool, target, actor);
            createdColl = true;
          }
        } else {
          coll = this.newCollection(`SNC-${crypto.randomUUID()}`, pool, target, actor);
          createdColl = true;
        }
      }
      const page = Math.min(remaining, pool.max_request);
      const got = this.take(pool, target, coll, page, actor, context, method);
      let returned = "";
      const insufficient = got.length < page;
      if (!insufficient && remaining - got.length > 0) {
        returned = crypto.randomBytes(18).toString("base64url");
        // tokens expired for a day are forgotten; younger ones still answer "expired" rather than "unknown"
        this.q.purgeTokens.run(now - 86_400_000);
        this.q.insertToken.run(returned, pool.pk, S(target), coll.pk, remaining - got.length, now + this.tokenTtlMs);
      }
      if (got.length === 0 && createdColl) this.q.deleteColl.run(coll.pk);
      else if (collId !== undefined && token === undefined && got.length) this.q.insertSnRequest.run(coll.pk, S(target), remaining, JSON.stringify(got), returned);
      return {
        returnStatus: insufficient ? "InsufficientSerialNumbers" : "NoError",
        snCollection: { id: coll.id, description: coll.description, state: target, associatedPoolId: pool.pool_id, serialNumbers: got },
        returnedRequestToken: returned,
      };
    }, { actor });
  }

  private newCollection(id: string, pool: PoolRow, target: SerialNumberState, actor: string): CollRow {
    const description = `${target} serial numbers of pool ${pool.pool_id}`;
    const info = this.q.insertColl.run(id, pool.pk, description, S(target), new Date(this.clock()).toISOString(), actor);
    return { pk: Number(info.lastInsertRowid), id, pool: pool.pk, description, state: S(target) };
  }

  /** Binds up to `n` free numbers to `coll`, walking each through the table to `target`, audited per transition. */
  private take(pool: PoolRow, target: RequestTarget, coll: CollRow, n: number, actor: string, context: Dict, method: string): string[] {
    const common = { actor, poolId: pool.pool_id, context, method, snCollectionId: coll.id };
    const to = (from: SerialNumberState, event: PssEvent) => {
      const t = transition(from, event);
      if (!t.allowed) throw new Error(`internal: the table forbids ${event} from ${from}`);
      return t.to;
    };
    this.touched.add(pool.pk);
    if (target === "Unassigned") {
      const got = this.q.take.all(S("Unassigned"), coll.pk, pool.pk, S("Unassigned"), n) as string[];
      if (got.length) this.appendAudit({ ...common, event: "sn_binding", serialNumbers: got, fromState: "Unassigned", toState: "Unassigned" });
      return got;
    }
    if (target === "Unallocated") {
      const s = to("Unassigned", "provisioning");
      const got = this.q.take.all(S(s), coll.pk, pool.pk, S("Unassigned"), n) as string[];
      if (got.length) {
        this.bump(pool.pk, S("Unassigned"), -got.length);
        this.bump(pool.pk, S(s), got.length);
        this.appendAudit({ ...common, event: "provisioning", serialNumbers: got, fromState: "Unassigned", toState: s });
      }
      return got;
    }
    // Allocated: free Unallocated numbers first, then Unassigned ones (provisioned, then allocated)
    const s = to("Unallocated", "sn_allocating");
    const a = this.q.take.all(S(s), coll.pk, pool.pk, S("Unallocated"), n) as string[];
    const b = a.length < n ? (this.q.take.all(S(s), coll.pk, pool.pk, S("Unassigned"), n - a.length) as string[]) : [];
    if (b.length) {
      to("Unassigned", "provisioning");
      this.appendAudit({ ...common, event: "provisioning", serialNumbers: b, fromState: "Unassigned", toState: "Unallocated" });
      this.bump(pool.pk, S("Unassigned"), -b.length);
    }
    const got = b.length ? a.concat(b) : a;
    if (got.length) {
      this.bump(pool.pk, S("Unallocated"), -a.length);
      this.bump(pool.pk, S(s), got.length);
      this.appendAudit({ ...common, event: "sn_allocating", serialNumbers: got, fromState: "Unallocated", toState: s });
    }
    return got;
  }

  // ---------------------------------------------------------------- returns and pushes

  /** SNReturnAllocated / SNReturnUnallocated: numbers go back to the pool, free, from the collection they came from. */
  returnSerialNumbers(target: ReturnTarget, args: CollectionArgs): { returnStatus: "NoError" } {
    const method = `SNReturn${target}`;
    if (target !== "Allocated" && target !== "Unallocated") throw new PssError("InvalidEvent", `return target must be Allocated or Unallocated, got ${JSON.stringify(target)}`);
    const { collId, values, context, actor } = this.collectionArgs(args, method);
    if (collId === undefined) throw new PssError("InvalidSerialNumberCollection", `${method}: name the SNCollection the numbers came from (its id is empty)`);
    const event: PssEvent = target === "Allocated" ? "sn_deallocating" : "sn_returning";
    return this.transaction(() => {
      const pool = this.selectPoolRow(args.poolSelectionCriteria);
      const coll = this.q.collById.get(collId) as CollRow | undefined;
      if (!coll) throw new PssError("InvalidSerialNumberCollection", `${method}: SNCollection ${collId} is unknown`);
      if (coll.pool !== pool.pk) throw new PssError("InvalidSerialNumberCollection", `${method}: SNCollection ${collId} belongs to pool ${(this.q.poolByPk.get(coll.pool) as PoolRow).pool_id}, not pool ${pool.pool_id}`);
      const rows = this.lookup(values, method);
      const wrong = rows.filter((r) => r.coll !== coll.pk);
      if (wrong.length) {
        throw new PssError("InvalidSerialNumberCollection", `${method}: ${wrong.length} serial number(s) were not handed out in SNCollection ${collId}: ${listSome(wrong.map((r) => r.v))}`,
          wrong.map((r) => ({ serialNumber: r.v, state: stateFromEnum(r.state as number), reason: `not in SNCollection ${collId}` })), "WrongCollection");
      }
      // returns make numbers free again: always strict, whatever the pool's policy (re-issuing an unknown state is the incident)
      const refused = this.refusals(rows, event);
      if (refused.length) throw this.forbidden(method, event, refused);
      const from = target;
      const to = (transition(from, event) as { to: SerialNumberState }).to;
      this.q.setStateColl.run(S(to), null, JSON.stringify(rows.map((r) => r.rid)));
      this.bump(pool.pk, S(from), -rows.length);
      this.bump(pool.pk, S(to), rows.length);
      this.touched.add(pool.pk);
      this.appendAudit({ actor, event, poolId: pool.pool_id, serialNumbers: values, fromState: from, toState: to, context, method, snCollectionId: collId });
      return { returnStatus: "NoError" as const };
    }, { actor });
  }

  /**
   * SNtoUnallocated / SNtoAllocated / SNtoEncoded: numbers (unknown ones are added to the pool) are walked along the
   * forward path to the target, one audited event per step. Numbers already in the target state are left as they are.
   */
  pushTo(target: PushTarget, args: CollectionArgs): { returnStatus: "NoError" } {
    const method = `SNto${target}`;
    if (target !== "Unallocated" && target !== "Allocated" && target !== "Encoded") throw new PssError("InvalidEvent", `push target must be Unallocated, Allocated or Encoded, got ${JSON.stringify(target)}`);
    const { collId, values, context, actor } = this.collectionArgs(args, method);
    return this.transaction(() => {
      const pool = this.selectPoolRow(args.poolSelectionCriteria);
      validateSerialNumbers(values, pool.sid_class, `${method} into pool ${pool.pool_id}`, this.checkOf(pool));
      let rows = this.q.lookup.all(JSON.stringify(values)) as LookupRow[];
      const foreign = rows.filter((r) => r.rid !== null && r.pool !== pool.pk);
      if (foreign.length) {
        throw new PssError("DuplicateSerialNumber", `${method} into pool ${pool.pool_id}: ${foreign.length} serial number(s) belong to another pool: ${listSome(foreign.map((r) => r.v))}`,
          foreign.map((r) => ({ serialNumber: r.v, state: stateFromEnum(r.state as number), reason: `belongs to pool ${(this.q.poolByPk.get(r.pool) as PoolRow).pool_id}` })));
      }
      // binding for Allocated/Encoded pushes: the named (or a new) collection of this pool
      let coll: CollRow | null = null;
      if (target !== "Unallocated") {
        const c = collId === undefined ? undefined : (this.q.collById.get(collId) as CollRow | undefined);
        if (c && c.pool !== pool.pk) throw new PssError("InvalidSerialNumberCollection", `${method}: SNCollection ${collId} belongs to pool ${(this.q.poolByPk.get(c.pool) as PoolRow).pool_id}, not pool ${pool.pool_id}`);
        coll = c ?? this.newCollection(collId ?? `SNC-${crypto.randomUUID()}`, pool, target, actor);
      }
      const policy = pool.guard_policy;
      const plans = new Map<number, { from: SerialNumberState; steps: PssEvent[] | null; rids: number[]; values: string[] }>();
      const refused: Array<{ serialNumber: string; state: SerialNumberState; reason: string }> = [];
      const unknown = rows.filter((r) => r.rid === null).map((r) => r.v);
      if (unknown.length) {
        this.insertFresh(pool, unknown, actor, context, method);
        rows = this.q.lookup.all(JSON.stringify(values)) as LookupRow[];
      }
      for (const r of rows) {
        const from = stateFromEnum(r.state as number);
        const steps = forwardSteps(from, target);
        if (steps === null && (policy === "strict" || TERMINAL_STATES.includes(from))) {
          refused.push({ serialNumber: r.v, state: from, reason: `${method}: no path from ${from} to ${target} along ${FORWARD_PATH.map((s) => s.from).join(" → ")}${TERMINAL_STATES.includes(from) ? ` (${from} is terminal)` : ""}` });
          continue;
        }
        if (steps !== null && steps.length === 0) continue;
        const key = r.state as number;
        const plan = plans.get(key) ?? { from, steps, rids: [], values: [] };
        plan.rids.push(r.rid as number);
        plan.values.push(r.v);
        plans.set(key, plan);
      }
      if (refused.length) throw new PssError("TransitionForbidden", `${method}: ${refused.length} serial number(s) cannot be pushed to ${target}: ${refused.slice(0, 3).map((d) => `${d.serialNumber} (${d.state})`).join(", ")}${refused.length > 3 ? ` and ${refused.length - 3} more` : ""}; ${refused[0].reason}`, refused);
      const common = { actor, poolId: pool.pool_id, context, method, snCollectionId: coll?.id };
      for (const plan of plans.values()) {
        if (plan.steps === null) {
          // record policy: a report from another system, stored as it came and flagged
          this.appendAudit({ ...common, event: FORWARD_PATH.find((s) => s.to === target)!.event, serialNumbers: plan.values, fromState: plan.from, toState: target, anomaly: true });
        } else {
          let s = plan.from;
          for (const ev of plan.steps) {
            const t = transition(s, ev) as { allowed: true; to: SerialNumberState };
            this.appendAudit({ ...common, event: ev, serialNumbers: plan.values, fromState: s, toState: t.to });
            s = t.to;
          }
        }
        const json = JSON.stringify(plan.rids);
        if (coll) this.q.setStateColl.run(S(target), coll.pk, json);
        else this.q.setState.run(S(target), json);
        this.bump(pool.pk, S(plan.from), -plan.rids.length);
        this.bump(pool.pk, S(target), plan.rids.length);
      }
      this.touched.add(pool.pk);
      return { returnStatus: "NoError" as const };
    }, { actor });
  }

  private collectionArgs(args: CollectionArgs, method: string): { collId: string | undefined; values: string[]; context: Dict; actor: string } {
    if (typeof args !== "object" || args === null || typeof args.snCollection !== "object" || args.snCollection === null) {
      throw new PssError("InvalidSerialNumberCollection", `${method}: an SNCollection { id, serialNumbers } is needed`);
    }
    checkFormat(args.snFormat);
    const id = args.snCollection.id;
    const collId = id === undefined || id === null || id === "" ? undefined : checkId(id, "SNCollection id", "InvalidSerialNumberCollection");
    const values = checkNumberList(args.snCollection.serialNumbers, method);
    return { collId, values, context: checkDict(args.context, "context", "InvalidContext"), actor: args.actor ?? this.actor };
  }

  // ---------------------------------------------------------------- events

  /** One PSS event over a batch: all or nothing; under `strict` a forbidden number refuses the batch. */
  applyEvent(event: PssEvent, args: EventArgs): { returnStatus: "NoError"; applied: number; anomalies: number } {
    if (!isEvent(event)) throw new PssError("InvalidEvent", `${JSON.stringify(event)} is not a PSS event (events: ${EVENTS.join(", ")})`);
    if (typeof args !== "object" || args === null) throw new PssError("InvalidSerialNumber", `${event}: arguments { serialNumbers, ... } are missing`);
    checkFormat(args.snFormat);
    const context = checkDict(args.context, "context", "InvalidContext");
    // SIDInspectingEvent pulls the pack as a sample (→ Sampled, EPCIS sampling); a check that leaves it sellable is
    // LabelsInspectingEvent (no state change): the pool and the EPCIS output must say the same thing
    if (event === "inspecting" && (context.destructive ?? "").toLowerCase() === "false") {
      throw new PssError("InvalidContext", `inspecting: SIDInspectingEvent pulls the pack as a sample (Commissioned → Sampled); a non-destructive inspection leaves it Commissioned: report it with LabelsInspectingEvent (label_inspecting)`);
    }
    const lc = args.labelCollection;
    if (lc !== undefined && lc !== null && (typeof lc !== "object" || Array.isArray(lc))) throw new PssError("InvalidSerialNumberCollection", `${event}: labelCollection must be an object`);
    const labels = lc?.labels ?? [];
    if (!Array.isArray(labels) || labels.some((l) => typeof l !== "object" || l === null || typeof l.id !== "string")) throw new PssError("InvalidSerialNumberCollection", `${event}: labelCollection.labels must be an array of { id, properties }`);
    const raw = args.serialNumbers === undefined || (Array.isArray(args.serialNumbers) && args.serialNumbers.length === 0 && labels.length) ? labels.map((l) => l.id) : args.serialNumbers;
    const values = checkNumberList(raw, event);
    const inBatch = new Set(values);
    const strays = labels.filter((l) => !inBatch.has(l.id)).map((l) => l.id);
    if (strays.length) throw new PssError("InvalidSerialNumberCollection", `${event}: ${strays.length} label(s) are not among the serial numbers of the event: ${listSome(strays)}`, strays.map((s) => ({ serialNumber: s, reason: "label without its serial number in the event" })));
    const labelProps = labels.filter((l) => l.properties && Object.keys(l.properties).length).map((l) => [l.id, checkDict(l.properties, `properties of label ${l.id}`, "InvalidSerialNumberCollection")] as const);
    const lcProps = checkDict(lc?.properties, `${event}: labelCollection.properties`, "InvalidSerialNumberCollection");
    const lcId = lc && (lc.id || Object.keys(lcProps).length || lc.description) ? (lc.id ? checkId(lc.id, "labelCollection id", "InvalidSerialNumberCollection") : `LC-${crypto.randomUUID()}`) : undefined;
    const actor = args.actor ?? this.actor;
    const method = METHOD_OF_EVENT[event];
    return this.transaction((tx) => {
      // a parent takes its contents along: everything packed under it, in this transaction, audited per parent
      const under = TREE_EVENTS.includes(event) ? this.hierarchyHook()?.expand(tx, event, values, context) ?? [] : [];
      const via = new Map(under.map((u) => [u.value, u]));
      const rows = this.lookup(under.length ? values.concat(under.map((u) => u.value)) : values, event);
      if (args.poolId !== undefined) {
        const pool = this.poolRow(args.poolId);
        // the numbers of the call must be in the pool; their contents may come from other pools (units in SSCC cases)
        const strangers = rows.filter((r) => r.pool !== pool.pk && !via.has(r.v));
        if (strangers.length) throw new PssError("UnknownSerialNumber", `${event}: ${strangers.length} serial number(s) are not in pool ${pool.pool_id}: ${listSome(strangers.map((r) => r.v))}`, strangers.map((r) => ({ serialNumber: r.v, state: stateFromEnum(r.state as number), reason: `not in pool ${pool.pool_id}` })));
      }
      const pools = new Map<number, PoolRow>();
      const poolOf = (pk: number) => {
        let p = pools.get(pk);
        if (!p) pools.set(pk, (p = this.q.poolByPk.get(pk) as PoolRow));
        return p;
      };
      const groups = new Map<string, { pool: PoolRow; from: SerialNumberState; to: SerialNumberState; anomaly: boolean; rids: number[]; values: string[]; in?: TreeMember }>();
      const refused: PssErrorDetail[] = [];
      const target = eventTarget(event);
      for (const r of rows) {
        const pool = poolOf(r.pool as number);
        const from = stateFromEnum(r.state as number);
        const t = transition(from, event);
        let to: SerialNumberState;
        let anomaly = false;
        if (t.allowed) to = t.to;
        else if (pool.guard_policy === "record") {
          anomaly = true;
          // terminal states stay terminal even under `record`: the report is audited, the state is kept
          to = TERMINAL_STATES.includes(from) || target === null ? from : target;
        } else {
          refused.push({ serialNumber: r.v, state: from, reason: t.reason });
          continue;
        }
        const inTree = via.get(r.v);
        const key = `${pool.pk}|${from}|${anomaly ? 1 : 0}|${inTree ? inTree.parent : ""}`;
        const g = groups.get(key) ?? { pool, from, to, anomaly, rids: [], values: [], in: inTree };
        g.rids.push(r.rid as number);
        g.values.push(r.v);
        groups.set(key, g);
      }
      if (refused.length) {
        const e = this.forbidden(event, event, refused);
        const packed = refused.filter((d) => via.has(d.serialNumber));
        if (packed.length) e.message += ` (packed under ${via.get(packed[0].serialNumber)!.root}: unpack ${packed.length === 1 ? "it" : "them"} first)`;
        throw e;
      }
      let labelPk: number | null = null;
      if (lcId !== undefined) {
        labelPk = (this.q.labelById.get(lcId) as number | undefined) ?? Number(this.q.insertLabel.run(lcId, lc?.description ?? "", canonicalContext(lcProps), new Date(this.clock()).toISOString()).lastInsertRowid);
      }
      let anomalies = 0;
      for (const g of groups.values()) {
        const json = JSON.stringify(g.rids);
        if (g.to !== g.from) {
          this.q.setState.run(S(g.to), json);
          this.bump(g.pool.pk, S(g.from), -g.rids.length);
          this.bump(g.pool.pk, S(g.to), g.rids.length);
        }
        if (labelPk !== null && !g.in) this.q.setLabel.run(labelPk, json);
        if (g.anomaly) anomalies += g.rids.length;
        // only numbers leaving a free state (Unassigned, Unallocated) can make the pool low: an event on numbers
        // already in use (encoding, commissioning, shipping ...) skips the low check after the commit
        if (g.from === "Unassigned" || g.from === "Unallocated") this.touched.add(g.pool.pk);
        const ctx = g.in ? { ...context, aggregationRoot: g.in.root, parent: g.in.parent } : context;
        this.appendAudit({ actor, event, poolId: g.pool.pool_id, serialNumbers: g.values, fromState: g.from, toState: g.to, context: ctx, anomaly: g.anomaly, method, labelCollectionId: g.in ? undefined : lcId });
      }
      for (const [v, p] of labelProps) this.q.setProps.run(JSON.stringify(p), v);
      return { returnStatus: "NoError" as const, applied: rows.length, anomalies };
    }, { actor });
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
    if (!isEvent(event)) throw new PssError("InvalidEvent", `${JSON.stringify(event)} is not a PSS event (events: ${EVENTS.join(", ")})`);
    const values = checkNumberList(serialNumbers, `check ${event}`);
    const rows = this.q.lookup.all(JSON.stringify(values)) as LookupRow[];
    const out: GuardCheck = { allowed: [], refused: [] };
    for (const r of rows) {
      if (r.rid === null) {
        out.refused.push({ serialNumber: r.v, reason: "not in the store" });
        continue;
      }
      const state = stateFromEnum(r.state as number);
      const t = transition(state, event);
      if (t.allowed) out.allowed.push({ serialNumber: r.v, state, to: t.to });
      else out.refused.push({ serialNumber: r.v, state, reason: t.reason });
    }
    return out;
  }

  private lookup(values: string[], what: string): LookupRow[] {
    const rows = this.q.lookup.all(JSON.stringify(values)) as LookupRow[];
    const unknown = rows.filter((r) => r.rid === null).map((r) => r.v);
    if (unknown.length) throw new PssError("UnknownSerialNumber", `${what}: ${unknown.length} serial number(s) are not in the store: ${listSome(unknown)}`, unknown.map((u) => ({ serialNumber: u, reason: "not in the store" })));
    return rows;
  }

  private refusals(rows: LookupRow[], event: PssEvent): PssErrorDetail[] {
    const out: PssErrorDetail[] = [];
    for (const r of rows) {
      const state = stateFromEnum(r.state as number);
      const t = transition(state, event);
      if (!t.allowed) out.push({ serialNumber: r.v, state, reason: t.reason });
    }
    return out;
  }

  private forbidden(what: string, event: PssEvent, refused: PssErrorDetail[]): PssError {
    const shown = refused.slice(0, 3).map((d) => `${d.serialNumber} (${d.state})`).join(", ");
    return new PssError("TransitionForbidden", `${what}: ${refused.length} serial number(s) may not take ${event}: ${shown}${refused.length > 3 ? ` and ${refused.length - 3} more` : ""}; ${refused[0].reason}`, refused);
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

/** The PSS function (OPC UA method) that reports each event, for the audit log. */
const METHOD_OF_EVENT: Record<PssEvent, string> = {
  provisioning: "provisioning",
  sn_returning: "sn_returning",
  sn_allocating: "sn_allocating",
  sn_deallocating: "sn_deallocating",
  sn_invalidating: "SNInvalidatingEvent",
  sn_encoding: "LabelsEncodingEvent",
  label_inspecting: "LabelsInspectingEvent",
  label_sampling: "LabelsSamplingEvent",
  label_scrapping: "LabelsScrappingEvent",
  commissioning: "SIDCommissioningEvent",
  inspecting: "SIDInspectingEvent",
  shipping: "SIDShippingEvent",
  decommissioning: "SIDDecommissioningEvent",
  destroying: "SIDDestroyingEvent",
  packing: "AggregationPackingEvent",
  unpacking: "AggregationUnpackingEvent",
};

/** Opens (and creates when needed) a pool file. Several processes may open the same file. */
export function openPoolStore(file: string, options: OpenOptions = {}): SqlitePoolStore {
  if (typeof file !== "string" || !file) throw new PssError("InvalidPool", "openPoolStore needs a file name");
  return new SqlitePoolStore(file, options);
}
