/* The engine interface: the set-based primitives that the PSS rules (rules.ts) run inside one transaction of a pool
   store. The rules are written once; each database engine implements these primitives in its own folder:
   the SQLite engine (index.ts, better-sqlite3, synchronous) and the PostgreSQL engine (pg/, node-postgres,
   asynchronous).

   One rule runs on both because each primitive, and each rule, is a generator (`Op<T>`): a primitive of the SQLite
   engine returns its result without ever yielding, so a rule driven by `runSync` runs start to end synchronously
   inside a better-sqlite3 transaction; a primitive of the PostgreSQL engine yields the promise of its query, and
   `runAsync` awaits each one and hands its result back. The rule cannot tell the two apart. */
import type { PssEvent, SerialNumberState } from "../lifecycle";
import type { SerialCheck } from "./serials";

type Dict = Record<string, string>;

/** One step of a rule or a primitive: drive it with runSync (SQLite) or runAsync (PostgreSQL). */
export type Op<T> = Generator<unknown, T, unknown>;

/** Runs an Op that never yields (the SQLite engine's): synchronous, inside the caller's transaction. */
export function runSync<T>(op: Op<T>): T {
  const r = op.next();
  if (!r.done) throw new Error("internal: a primitive of a synchronous engine yielded");
  return r.value;
}

/** Runs an Op whose primitives yield promises (the PostgreSQL engine's): each is awaited and its value (or its
 *  error, thrown into the rule) handed back. */
export async function runAsync<T>(op: Op<T>): Promise<T> {
  let r = op.next();
  while (!r.done) {
    let v: unknown;
    try {
      v = await r.value;
    } catch (err) {
      r = op.throw(err);
      continue;
    }
    r = op.next(v);
  }
  return r.value;
}

/** Inside an asynchronous primitive: `const rows = yield* wait(client.query(...))`. */
export function* wait<T>(p: Promise<T>): Op<T> {
  return (yield p) as T;
}

/** A row's handle in its engine (the SQLite rowid, the PostgreSQL value): only handed back to the same engine. */
export type Rid = number | string;

export interface PoolRec {
  pk: number;
  poolId: string;
  sidClass: string;
  selectionCriteria: Dict;
  guardPolicy: "strict" | "record";
  lowThreshold: number;
  maxRequest: number;
  maxCount: number;
  isDefault: boolean;
}

export interface CollRec {
  pk: number;
  id: string;
  pool: number;
  description: string;
  state: SerialNumberState;
}

/** A number of a call, looked up: rid null when the store does not hold it. */
export interface NumberRow {
  v: string;
  rid: Rid | null;
  pool: number | null;
  state: SerialNumberState | null;
  coll: number | null;
}

export interface TokenRec {
  token: string;
  pool: number;
  target: SerialNumberState;
  coll: number;
  remaining: number;
  /** ms since the epoch */
  expires: number;
}

/** What a request with an snCollectionId answered, kept so that a repeat (a retry after a lost answer) gets the
 *  same numbers. */
export interface AnsweredRequest {
  count: number;
  numbers: string[];
  token: string;
}

/** One audit record as a rule writes it; the engine adds the time, and chains it (SQLite at once, PostgreSQL after
 *  the commit, in commit order). */
export interface AuditEntry {
  actor: string;
  event: string;
  poolId: string;
  serialNumbers: readonly string[];
  fromState?: string;
  toState?: string;
  context?: Dict;
  anomaly?: boolean;
  method?: string;
  snCollectionId?: string;
  labelCollectionId?: string;
}

/** A number an event reaches through the hierarchy: packed (directly) in `parent`, under `root` (a number of the call). */
export interface TreeMemberRec {
  value: string;
  parent: string;
  root: string;
}

/**
 * The primitives of one transaction. Each works on a set (many numbers in one statement), never loops a statement
 * per number where the engine can do it in one. Everything done through one EngineTx commits together or not at all.
 */
export interface EngineTx {
  /** the actor of the call (audit records name it) */
  readonly actor: string;
  /** where the pool lives, for messages: a file name, a PostgreSQL schema */
  readonly where: string;
  /** ms since the epoch (a test clock in tests) */
  now(): number;

  pools(): Op<PoolRec[]>;
  poolById(poolId: string): Op<PoolRec | undefined>;
  poolByPk(pk: number): Op<PoolRec | undefined>;
  /** the pool's own serial rule (a custom SID class), null when its SID class's rules apply */
  serialCheck(pool: PoolRec): Op<SerialCheck | null>;

  collById(id: string): Op<CollRec | undefined>;
  collByPk(pk: number): Op<CollRec | undefined>;
  insertColl(id: string, pool: PoolRec, description: string, state: SerialNumberState): Op<CollRec>;
  deleteColl(pk: number): Op<void>;
  answeredRequest(coll: number): Op<AnsweredRequest | undefined>;
  recordRequest(coll: number, target: SerialNumberState, answer: AnsweredRequest): Op<void>;

  token(token: string): Op<TokenRec | undefined>;
  deleteToken(token: string): Op<void>;
  /** stores a new paging token; tokens that expired before `purgeBefore` are forgotten */
  insertToken(t: TokenRec, purgeBefore: number): Op<void>;

  /** up to n free numbers (bound to no collection) of `pool` in state `from` move to `to`, bound to `coll`; concurrent
   *  transactions never take the same number; returns the numbers taken */
  take(pool: number, from: SerialNumberState, to: SerialNumberState, coll: number, n: number): Op<string[]>;
  /** the numbers, in the order given, with their rows (rid null for a number the store does not hold); the rows are
   *  locked against concurrent change until the commit where the engine can lock */
  lookup(values: readonly string[]): Op<NumberRow[]>;
  /** sets the state (and, when `coll` is given, the collection: null unbinds) of the rows */
  setState(rids: readonly Rid[], state: SerialNumberState, coll?: number | null): Op<void>;
  /** adds signed deltas to a pool's per-state counters */
  count(pool: number, deltas: ReadonlyArray<readonly [SerialNumberState, number]>): Op<void>;
  /** inserts new numbers as Unassigned; a number stored already (or twice in `values`) refuses the call with
   *  DuplicateSerialNumber / DuplicateInBatch. Counts them; the caller audits. */
  insertNumbers(pool: PoolRec, values: readonly string[], what: string): Op<void>;

  /** appends one audit record to the transaction */
  audit(rec: AuditEntry): Op<void>;
  /** the pool had free numbers taken: check its low threshold after the commit */
  touched(pool: number): void;

  /** the label collection's key, inserted when it is new */
  labelCollection(id: string, description: string, properties: string): Op<number>;
  setLabel(label: number, rids: readonly Rid[]): Op<void>;
  /** merges properties into a number's stored properties */
  setProperties(value: string, props: Dict): Op<void>;

  /** shipping, decommissioning and destroying reach packed contents: the hierarchy checks the numbers' place (refusing,
   *  or unpacking with an audit record when the context says unpack=true) and returns everything packed under them;
   *  [] where there is no hierarchy */
  expand(event: PssEvent, values: readonly string[], context: Dict): Op<TreeMemberRec[]>;
}
