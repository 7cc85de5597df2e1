/* The PSS rules of the pool functions, the events and the guard, written once over the engine interface (engine.ts):
   argument checks, pool selection, request-token paging and a repeated request's answer, the pool functions'
   source and target states, the forward path of the pushes, the guard policies (strict refuses, record stores and
   flags), tree propagation through the hierarchy, and what each audit record holds. Each engine runs them inside
   one of its transactions: the SQLite store synchronously, the PostgreSQL store asynchronously. No SQL here. */
import * as crypto from "crypto";
import {
  EVENTS, FORWARD_PATH, PssEvent, SerialNumberState, TERMINAL_STATES, TRANSITIONS, forwardSteps, isEvent, transition,
} from "../lifecycle";
import { PssError, PssErrorDetail, listSome } from "./errors";
import { validateSerialNumbers, refuseDuplicates } from "./serials";
import { canonicalContext } from "./audit";
import type { CollRec, EngineTx, NumberRow, Op, PoolRec, Rid, TreeMemberRec } from "./engine";

export type Dict = Record<string, string>;
export type RequestTarget = "Unassigned" | "Unallocated" | "Allocated";
export type ReturnTarget = "Unallocated" | "Allocated";
export type PushTarget = "Unallocated" | "Allocated" | "Encoded";

export const SN_FORMATS = ["SERIALONLY", "LITERAL"] as const;
const ID_MAX = 256;

/** The events a parent passes on to everything packed under it (docs/aggregation.md). */
export const TREE_EVENTS: readonly PssEvent[] = ["shipping", "decommissioning", "destroying"];

/** The PSS function (OPC UA method) that reports each event, for the audit log. */
export const METHOD_OF_EVENT: Record<PssEvent, string> = {
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

// ---------------------------------------------------------------- argument checks (before any transaction)

function isDict(x: unknown): x is Dict {
  return typeof x === "object" && x !== null && !Array.isArray(x) && Object.values(x).every((v) => typeof v === "string");
}

export function checkDict(x: unknown, what: string, code: string): Dict {
  if (x === undefined || x === null) return {};
  if (!isDict(x)) throw new PssError(code, `${what} must be an object of string values (key/value pairs), got ${Array.isArray(x) ? "an array" : typeof x === "object" ? "a non-string value" : typeof x}`);
  return x;
}

export function checkId(x: unknown, what: string, code: string): string {
  if (typeof x !== "string" || x.length === 0) throw new PssError(code, `${what} must be a non-empty string, got ${x === "" ? "an empty string" : typeof x}`);
  if (x.length > ID_MAX || /[\u0000-\u001f\u007f]/.test(x)) throw new PssError(code, `${what} ${JSON.stringify(x.slice(0, 40))} is longer than ${ID_MAX} characters or contains a control character`);
  return x;
}

export function checkFormat(f: unknown): void {
  if (f === undefined || f === null || f === "") return;
  if (typeof f !== "string" || !(SN_FORMATS as readonly string[]).includes(f.toUpperCase())) {
    throw new PssError("InvalidSerialNumbersFormat", `SNFormat ${JSON.stringify(f)} is not supported by this pool store (supported: ${SN_FORMATS.join(", ")})`);
  }
}

export function checkNumberList(x: unknown, what: string): string[] {
  if (!Array.isArray(x)) throw new PssError("InvalidSerialNumber", `${what}: serialNumbers must be an array of strings, got ${x === null ? "null" : typeof x}`);
  if (x.length === 0) throw new PssError("InvalidCount", `${what}: no serial numbers given (at least one is needed)`);
  validateSerialNumbers(x, null, what);
  refuseDuplicates(x as string[], what);
  return x as string[];
}

/** The target state an event leads to whatever the start (null for the events that change nothing). */
export function eventTarget(event: PssEvent): SerialNumberState | null {
  const tos = new Set(Object.entries(TRANSITIONS[event]).filter(([from, to]) => from !== to).map(([, to]) => to));
  return tos.size === 1 ? [...tos][0] : null;
}


// ---------------------------------------------------------------- call shapes

export interface RequestArgs {
  count: number;
  snCollectionId?: string;
  snFormat?: string;
  poolSelectionCriteria?: Dict;
  requestToken?: string;
  context?: Dict;
  actor?: string;
}

export interface RequestResult {
  returnStatus: "NoError" | "InsufficientSerialNumbers";
  snCollection: { id: string; description: string; state: SerialNumberState; associatedPoolId: string; serialNumbers: string[] };
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

export interface GuardCheck {
  allowed: Array<{ serialNumber: string; state: SerialNumberState; to: SerialNumberState }>;
  refused: Array<{ serialNumber: string; state?: SerialNumberState; reason: string }>;
}

export interface EventResult {
  returnStatus: "NoError";
  applied: number;
  anomalies: number;
}

// ---------------------------------------------------------------- pools

/** Empty criteria pick the default pool (or the only pool); otherwise every key/value must match one pool. */
export function* selectPool(tx: EngineTx, criteria: unknown): Op<PoolRec> {
  const c = checkDict(criteria, "poolSelectionCriteria", "InvalidSelectionCriteria");
  const rows = yield* tx.pools();
  const keys = Object.keys(c);
  if (keys.length === 0) {
    const d = rows.find((r) => r.isDefault) ?? (rows.length === 1 ? rows[0] : undefined);
    if (!d) throw new PssError("InvalidSelectionCriteria", rows.length ? `no pool selection criteria given and no default pool among ${rows.map((r) => r.poolId).join(", ")}` : "no pool exists in this store");
    return d;
  }
  const hits = rows.filter((r) => keys.every((k) => r.selectionCriteria[k] === c[k] || (k === "PoolID" && c[k] === r.poolId && r.selectionCriteria[k] === undefined)));
  const shown = canonicalContext(c);
  if (hits.length === 0) throw new PssError("InvalidSelectionCriteria", `no pool matches the selection criteria ${shown}`);
  if (hits.length > 1) throw new PssError("InvalidSelectionCriteria", `the selection criteria ${shown} match several pools (${hits.map((r) => r.poolId).join(", ")}): add a key that tells them apart`);
  return hits[0];
}

export function* poolNamed(tx: EngineTx, poolId: unknown): Op<PoolRec> {
  if (typeof poolId !== "string" || !poolId) throw new PssError("UnknownPool", `pool id must be a non-empty string, got ${JSON.stringify(poolId)}`);
  const r = yield* tx.poolById(poolId);
  if (!r) {
    const names = (yield* tx.pools()).map((p) => p.poolId);
    throw new PssError("UnknownPool", `pool ${poolId} does not exist in ${tx.where} (pools: ${names.slice(0, 20).join(", ") || "none"}${names.length > 20 ? ", ..." : ""})`);
  }
  return r;
}

function* poolName(tx: EngineTx, pk: number | null): Op<string> {
  return pk === null ? "?" : (yield* tx.poolByPk(pk))?.poolId ?? String(pk);
}

function* newCollection(tx: EngineTx, id: string, pool: PoolRec, target: SerialNumberState): Op<CollRec> {
  return yield* tx.insertColl(id, pool, `${target} serial numbers of pool ${pool.poolId}`, target);
}

/** New numbers (unknown to the store) enter the pool as Unassigned, with one `sn_adding` record. */
export function* addNumbers(tx: EngineTx, pool: PoolRec, values: string[], context: Dict, method: string): Op<void> {
  yield* tx.insertNumbers(pool, values, `${method} into pool ${pool.poolId}`);
  tx.touched(pool.pk);
  yield* tx.audit({ actor: tx.actor, event: "sn_adding", poolId: pool.poolId, serialNumbers: values, toState: "Unassigned", context, method });
}

// ---------------------------------------------------------------- requests

export interface RequestCall {
  target: RequestTarget;
  method: string;
  count: unknown;
  token: string | undefined;
  collId: string | undefined;
  criteria: unknown;
  context: Dict;
}

/** Checks a request's arguments before any transaction. */
export function requestCall(target: RequestTarget, args: RequestArgs): RequestCall {
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
  return { target, method, count: args.count, token, collId, criteria: args.poolSelectionCriteria, context };
}

/**
 * SNRequestUnassigned / SNRequestUnallocated / SNRequestAllocated: up to one page (the pool's maxRequest) of free
 * numbers bound to a collection; a longer request returns a token for the next page. A repeated snCollectionId with the
 * same count answers the same numbers again (a retry after a lost answer), nothing new.
 */
export function* request(tx: EngineTx, call: RequestCall, tokenTtlMs: number): Op<RequestResult> {
  const { target, method, token, collId, context } = call;
  const pool = yield* selectPool(tx, call.criteria);
  const now = tx.now();
  let coll: CollRec;
  let remaining: number;
  let createdColl = false;
  if (token !== undefined) {
    const t = yield* tx.token(token);
    if (!t) throw new PssError("InvalidRequestToken", `${method}: request token ${JSON.stringify(token.slice(0, 60))} is unknown (finished, replaced by a later page, or never issued)`);
    if (t.expires <= now) throw new PssError("InvalidRequestToken", `${method}: request token ${JSON.stringify(token)} expired at ${new Date(t.expires).toISOString()}`, undefined, "TokenExpired");
    if (t.pool !== pool.pk) throw new PssError("InvalidRequestToken", `${method}: request token ${JSON.stringify(token)} was issued for pool ${yield* poolName(tx, t.pool)}, not pool ${pool.poolId}`);
    if (t.target !== target) throw new PssError("InvalidRequestToken", `${method}: request token ${JSON.stringify(token)} was issued for SNRequest${t.target}`);
    coll = (yield* tx.collByPk(t.coll)) as CollRec;
    if (collId !== undefined && collId !== coll.id) throw new PssError("InvalidRequestToken", `${method}: request token ${JSON.stringify(token)} continues SNCollection ${coll.id}, not ${collId}`);
    remaining = t.remaining;
    yield* tx.deleteToken(token);
  } else {
    const n = call.count;
    if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > pool.maxCount) {
      throw new PssError("InvalidCount", `${method} from pool ${pool.poolId}: count must be an integer from 1 to the pool's maximum ${pool.maxCount}, got ${JSON.stringify(n)}`);
    }
    remaining = n;
    if (collId !== undefined) {
      const c = yield* tx.collById(collId);
      if (c && c.pool !== pool.pk) throw new PssError("InvalidSerialNumberCollection", `${method}: SNCollection ${collId} belongs to pool ${yield* poolName(tx, c.pool)}, not pool ${pool.poolId}`);
      if (c && c.state !== target) throw new PssError("InvalidSerialNumberCollection", `${method}: SNCollection ${collId} holds ${c.state} numbers, not ${target} ones`);
      const prev = c ? yield* tx.answeredRequest(c.pk) : undefined;
      if (c && prev) {
        // a repeat of a request already answered (a retry after a lost answer): the same numbers, nothing new
        if (prev.count !== n) {
          throw new PssError("InvalidSerialNumberCollection", `${method}: SNCollection ${collId} was requested already with count ${prev.count}; a repeat with the same count returns the same numbers, a count of ${n} is refused (use a new snCollectionId for more numbers)`, undefined, "CollectionRequestedAlready");
        }
        const still = prev.token && (yield* tx.token(prev.token)) ? prev.token : "";
        return {
          returnStatus: prev.numbers.length < Math.min(prev.count, pool.maxRequest) ? "InsufficientSerialNumbers" : "NoError",
          snCollection: { id: c.id, description: c.description, state: target, associatedPoolId: pool.poolId, serialNumbers: prev.numbers },
          returnedRequestToken: still,
        };
      }
      if (c) coll = c;
      else {
        coll = yield* newCollection(tx, collId, pool, target);
        createdColl = true;
      }
    } else {
      coll = yield* newCollection(tx, `SNC-${crypto.randomUUID()}`, pool, target);
      createdColl = true;
    }
  }
  const page = Math.min(remaining, pool.maxRequest);
  const got = yield* take(tx, pool, target, coll, page, context, method);
  let returned = "";
  const insufficient = got.length < page;
  if (!insufficient && remaining - got.length > 0) {
    returned = crypto.randomBytes(18).toString("base64url");
    // tokens expired for a day are forgotten; younger ones still answer "expired" rather than "unknown"
    yield* tx.insertToken({ token: returned, pool: pool.pk, target, coll: coll.pk, remaining: remaining - got.length, expires: now + tokenTtlMs }, now - 86_400_000);
  }
  if (got.length === 0 && createdColl) yield* tx.deleteColl(coll.pk);
  else if (collId !== undefined && token === undefined && got.length) yield* tx.recordRequest(coll.pk, target, { count: remaining, numbers: got, token: returned });
  return {
    returnStatus: insufficient ? "InsufficientSerialNumbers" : "NoError",
    snCollection: { id: coll.id, description: coll.description, state: target, associatedPoolId: pool.poolId, serialNumbers: got },
    returnedRequestToken: returned,
  };
}

function to(from: SerialNumberState, event: PssEvent): SerialNumberState {
  const t = transition(from, event);
  if (!t.allowed) throw new Error(`internal: the table forbids ${event} from ${from}`);
  return t.to;
}

/** Binds up to `n` free numbers to `coll`, walking each through the table to `target`, audited per transition. */
function* take(tx: EngineTx, pool: PoolRec, target: RequestTarget, coll: CollRec, n: number, context: Dict, method: string): Op<string[]> {
  const common = { actor: tx.actor, poolId: pool.poolId, context, method, snCollectionId: coll.id };
  tx.touched(pool.pk);
  if (target === "Unassigned") {
    const got = yield* tx.take(pool.pk, "Unassigned", "Unassigned", coll.pk, n);
    if (got.length) yield* tx.audit({ ...common, event: "sn_binding", serialNumbers: got, fromState: "Unassigned", toState: "Unassigned" });
    return got;
  }
  if (target === "Unallocated") {
    const s = to("Unassigned", "provisioning");
    const got = yield* tx.take(pool.pk, "Unassigned", s, coll.pk, n);
    if (got.length) {
      yield* tx.count(pool.pk, [["Unassigned", -got.length], [s, got.length]]);
      yield* tx.audit({ ...common, event: "provisioning", serialNumbers: got, fromState: "Unassigned", toState: s });
    }
    return got;
  }
  // Allocated: free Unallocated numbers first, then Unassigned ones (provisioned, then allocated)
  const s = to("Unallocated", "sn_allocating");
  const a = yield* tx.take(pool.pk, "Unallocated", s, coll.pk, n);
  const b = a.length < n ? yield* tx.take(pool.pk, "Unassigned", s, coll.pk, n - a.length) : [];
  if (b.length) {
    to("Unassigned", "provisioning");
    yield* tx.audit({ ...common, event: "provisioning", serialNumbers: b, fromState: "Unassigned", toState: "Unallocated" });
  }
  const got = b.length ? a.concat(b) : a;
  if (got.length) {
    yield* tx.count(pool.pk, [["Unassigned", -b.length], ["Unallocated", -a.length], [s, got.length]]);
    yield* tx.audit({ ...common, event: "sn_allocating", serialNumbers: got, fromState: "Unallocated", toState: s });
  }
  return got;
}

// ---------------------------------------------------------------- returns and pushes

export interface CollectionCall {
  method: string;
  collId: string | undefined;
  values: string[];
  context: Dict;
  criteria: unknown;
}

export function collectionCall(args: CollectionArgs, method: string): CollectionCall {
  if (typeof args !== "object" || args === null || typeof args.snCollection !== "object" || args.snCollection === null) {
    throw new PssError("InvalidSerialNumberCollection", `${method}: an SNCollection { id, serialNumbers } is needed`);
  }
  checkFormat(args.snFormat);
  const id = args.snCollection.id;
  const collId = id === undefined || id === null || id === "" ? undefined : checkId(id, "SNCollection id", "InvalidSerialNumberCollection");
  const values = checkNumberList(args.snCollection.serialNumbers, method);
  return { method, collId, values, context: checkDict(args.context, "context", "InvalidContext"), criteria: args.poolSelectionCriteria };
}

export function returnCall(target: ReturnTarget, args: CollectionArgs): CollectionCall {
  const method = `SNReturn${target}`;
  if (target !== "Allocated" && target !== "Unallocated") throw new PssError("InvalidEvent", `return target must be Allocated or Unallocated, got ${JSON.stringify(target)}`);
  const call = collectionCall(args, method);
  if (call.collId === undefined) throw new PssError("InvalidSerialNumberCollection", `${method}: name the SNCollection the numbers came from (its id is empty)`);
  return call;
}

function* known(tx: EngineTx, values: readonly string[], what: string): Op<NumberRow[]> {
  const rows = yield* tx.lookup(values);
  const unknown = rows.filter((r) => r.rid === null).map((r) => r.v);
  if (unknown.length) throw new PssError("UnknownSerialNumber", `${what}: ${unknown.length} serial number(s) are not in the store: ${listSome(unknown)}`, unknown.map((u) => ({ serialNumber: u, reason: "not in the store" })));
  return rows;
}

function refusals(rows: NumberRow[], event: PssEvent): PssErrorDetail[] {
  const out: PssErrorDetail[] = [];
  for (const r of rows) {
    const state = r.state as SerialNumberState;
    const t = transition(state, event);
    if (!t.allowed) out.push({ serialNumber: r.v, state, reason: t.reason });
  }
  return out;
}

function forbidden(what: string, event: PssEvent, refused: PssErrorDetail[]): PssError {
  const shown = refused.slice(0, 3).map((d) => `${d.serialNumber} (${d.state})`).join(", ");
  return new PssError("TransitionForbidden", `${what}: ${refused.length} serial number(s) may not take ${event}: ${shown}${refused.length > 3 ? ` and ${refused.length - 3} more` : ""}; ${refused[0].reason}`, refused);
}

/** SNReturnAllocated / SNReturnUnallocated: numbers go back to the pool, free, from the collection they came from. */
export function* returnNumbers(tx: EngineTx, target: ReturnTarget, call: CollectionCall): Op<{ returnStatus: "NoError" }> {
  const { method, values, context } = call;
  const collId = call.collId as string;
  const event: PssEvent = target === "Allocated" ? "sn_deallocating" : "sn_returning";
  const pool = yield* selectPool(tx, call.criteria);
  const coll = yield* tx.collById(collId);
  if (!coll) throw new PssError("InvalidSerialNumberCollection", `${method}: SNCollection ${collId} is unknown`);
  if (coll.pool !== pool.pk) throw new PssError("InvalidSerialNumberCollection", `${method}: SNCollection ${collId} belongs to pool ${yield* poolName(tx, coll.pool)}, not pool ${pool.poolId}`);
  const rows = yield* known(tx, values, method);
  const wrong = rows.filter((r) => r.coll !== coll.pk);
  if (wrong.length) {
    throw new PssError("InvalidSerialNumberCollection", `${method}: ${wrong.length} serial number(s) were not handed out in SNCollection ${collId}: ${listSome(wrong.map((r) => r.v))}`,
      wrong.map((r) => ({ serialNumber: r.v, state: r.state as SerialNumberState, reason: `not in SNCollection ${collId}` })), "WrongCollection");
  }
  // returns make numbers free again: always strict, whatever the pool's policy (re-issuing an unknown state is the incident)
  const refused = refusals(rows, event);
  if (refused.length) throw forbidden(method, event, refused);
  const from: SerialNumberState = target;
  const next = to(from, event);
  yield* tx.setState(rows.map((r) => r.rid as Rid), next, null);
  yield* tx.count(pool.pk, [[from, -rows.length], [next, rows.length]]);
  tx.touched(pool.pk);
  yield* tx.audit({ actor: tx.actor, event, poolId: pool.poolId, serialNumbers: values, fromState: from, toState: next, context, method, snCollectionId: collId });
  return { returnStatus: "NoError" };
}

export function pushCall(target: PushTarget, args: CollectionArgs): CollectionCall {
  const method = `SNto${target}`;
  if (target !== "Unallocated" && target !== "Allocated" && target !== "Encoded") throw new PssError("InvalidEvent", `push target must be Unallocated, Allocated or Encoded, got ${JSON.stringify(target)}`);
  return collectionCall(args, method);
}

/**
 * SNtoUnallocated / SNtoAllocated / SNtoEncoded: numbers (unknown ones are added to the pool) are walked along the
 * forward path to the target, one audited event per step. Numbers already in the target state are left as they are.
 */
export function* pushTo(tx: EngineTx, target: PushTarget, call: CollectionCall): Op<{ returnStatus: "NoError" }> {
  const { method, collId, values, context } = call;
  const pool = yield* selectPool(tx, call.criteria);
  validateSerialNumbers(values, pool.sidClass, `${method} into pool ${pool.poolId}`, yield* tx.serialCheck(pool));
  let rows = yield* tx.lookup(values);
  const foreign = rows.filter((r) => r.rid !== null && r.pool !== pool.pk);
  if (foreign.length) {
    const details: PssErrorDetail[] = [];
    for (const r of foreign) details.push({ serialNumber: r.v, state: r.state as SerialNumberState, reason: `belongs to pool ${yield* poolName(tx, r.pool)}` });
    throw new PssError("DuplicateSerialNumber", `${method} into pool ${pool.poolId}: ${foreign.length} serial number(s) belong to another pool: ${listSome(foreign.map((r) => r.v))}`, details);
  }
  // binding for Allocated/Encoded pushes: the named (or a new) collection of this pool
  let coll: CollRec | null = null;
  if (target !== "Unallocated") {
    const c = collId === undefined ? undefined : yield* tx.collById(collId);
    if (c && c.pool !== pool.pk) throw new PssError("InvalidSerialNumberCollection", `${method}: SNCollection ${collId} belongs to pool ${yield* poolName(tx, c.pool)}, not pool ${pool.poolId}`);
    coll = c ?? (yield* newCollection(tx, collId ?? `SNC-${crypto.randomUUID()}`, pool, target));
  }
  const policy = pool.guardPolicy;
  const plans = new Map<SerialNumberState, { from: SerialNumberState; steps: PssEvent[] | null; rids: Rid[]; values: string[] }>();
  const refused: Array<{ serialNumber: string; state: SerialNumberState; reason: string }> = [];
  const unknown = rows.filter((r) => r.rid === null).map((r) => r.v);
  if (unknown.length) {
    yield* addNumbers(tx, pool, unknown, context, method);
    rows = yield* tx.lookup(values);
  }
  for (const r of rows) {
    const from = r.state as SerialNumberState;
    const steps = forwardSteps(from, target);
    if (steps === null && (policy === "strict" || TERMINAL_STATES.includes(from))) {
      refused.push({ serialNumber: r.v, state: from, reason: `${method}: no path from ${from} to ${target} along ${FORWARD_PATH.map((s) => s.from).join(" → ")}${TERMINAL_STATES.includes(from) ? ` (${from} is terminal)` : ""}` });
      continue;
    }
    if (steps !== null && steps.length === 0) continue;
    const plan = plans.get(from) ?? { from, steps, rids: [], values: [] };
    plan.rids.push(r.rid as Rid);
    plan.values.push(r.v);
    plans.set(from, plan);
  }
  if (refused.length) throw new PssError("TransitionForbidden", `${method}: ${refused.length} serial number(s) cannot be pushed to ${target}: ${refused.slice(0, 3).map((d) => `${d.serialNumber} (${d.state})`).join(", ")}${refused.length > 3 ? ` and ${refused.length - 3} more` : ""}; ${refused[0].reason}`, refused);
  const common = { actor: tx.actor, poolId: pool.poolId, context, method, snCollectionId: coll?.id };
  for (const plan of plans.values()) {
    if (plan.steps === null) {
      // record policy: a report from another system, stored as it came and flagged
      yield* tx.audit({ ...common, event: FORWARD_PATH.find((s) => s.to === target)!.event, serialNumbers: plan.values, fromState: plan.from, toState: target, anomaly: true });
    } else {
      let s = plan.from;
      for (const ev of plan.steps) {
        const next = to(s, ev);
        yield* tx.audit({ ...common, event: ev, serialNumbers: plan.values, fromState: s, toState: next });
        s = next;
      }
    }
    if (coll) yield* tx.setState(plan.rids, target, coll.pk);
    else yield* tx.setState(plan.rids, target);
    yield* tx.count(pool.pk, [[plan.from, -plan.rids.length], [target, plan.rids.length]]);
  }
  tx.touched(pool.pk);
  return { returnStatus: "NoError" };
}

// ---------------------------------------------------------------- events

export interface EventCall {
  event: PssEvent;
  method: string;
  values: string[];
  context: Dict;
  poolId: string | undefined;
  labelId: string | undefined;
  labelDescription: string;
  labelProperties: Dict;
  numberProperties: Array<readonly [string, Dict]>;
}

/** Checks an event's arguments before any transaction. */
export function eventCall(event: PssEvent, args: EventArgs): EventCall {
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
  const numberProperties = labels.filter((l) => l.properties && Object.keys(l.properties).length).map((l) => [l.id, checkDict(l.properties, `properties of label ${l.id}`, "InvalidSerialNumberCollection")] as const);
  const labelProperties = checkDict(lc?.properties, `${event}: labelCollection.properties`, "InvalidSerialNumberCollection");
  const labelId = lc && (lc.id || Object.keys(labelProperties).length || lc.description) ? (lc.id ? checkId(lc.id, "labelCollection id", "InvalidSerialNumberCollection") : `LC-${crypto.randomUUID()}`) : undefined;
  return { event, method: METHOD_OF_EVENT[event], values, context, poolId: args.poolId, labelId, labelDescription: lc?.description ?? "", labelProperties, numberProperties };
}

/** One PSS event over a batch: all or nothing; under `strict` a forbidden number refuses the batch. */
export function* applyEvent(tx: EngineTx, call: EventCall): Op<EventResult> {
  const { event, values, context, method, labelId } = call;
  // a parent takes its contents along: everything packed under it, in this transaction, audited per parent
  const under = TREE_EVENTS.includes(event) ? yield* tx.expand(event, values, context) : [];
  const via = new Map<string, TreeMemberRec>(under.map((u) => [u.value, u]));
  const rows = yield* known(tx, under.length ? values.concat(under.map((u) => u.value)) : values, event);
  if (call.poolId !== undefined) {
    const pool = yield* poolNamed(tx, call.poolId);
    // the numbers of the call must be in the pool; their contents may come from other pools (units in SSCC cases)
    const strangers = rows.filter((r) => r.pool !== pool.pk && !via.has(r.v));
    if (strangers.length) throw new PssError("UnknownSerialNumber", `${event}: ${strangers.length} serial number(s) are not in pool ${pool.poolId}: ${listSome(strangers.map((r) => r.v))}`, strangers.map((r) => ({ serialNumber: r.v, state: r.state as SerialNumberState, reason: `not in pool ${pool.poolId}` })));
  }
  const pools = new Map<number, PoolRec>();
  const groups = new Map<string, { pool: PoolRec; from: SerialNumberState; to: SerialNumberState; anomaly: boolean; rids: Rid[]; values: string[]; in?: TreeMemberRec }>();
  const refused: PssErrorDetail[] = [];
  const target = eventTarget(event);
  for (const r of rows) {
    const pk = r.pool as number;
    let pool = pools.get(pk);
    if (!pool) pools.set(pk, (pool = (yield* tx.poolByPk(pk)) as PoolRec));
    const from = r.state as SerialNumberState;
    const t = transition(from, event);
    let next: SerialNumberState;
    let anomaly = false;
    if (t.allowed) next = t.to;
    else if (pool.guardPolicy === "record") {
      anomaly = true;
      // terminal states stay terminal even under `record`: the report is audited, the state is kept
      next = TERMINAL_STATES.includes(from) || target === null ? from : target;
    } else {
      refused.push({ serialNumber: r.v, state: from, reason: t.reason });
      continue;
    }
    const inTree = via.get(r.v);
    const key = `${pool.pk}|${from}|${anomaly ? 1 : 0}|${inTree ? inTree.parent : ""}`;
    const g = groups.get(key) ?? { pool, from, to: next, anomaly, rids: [], values: [], in: inTree };
    g.rids.push(r.rid as Rid);
    g.values.push(r.v);
    groups.set(key, g);
  }
  if (refused.length) {
    const e = forbidden(event, event, refused);
    const packed = refused.filter((d) => via.has(d.serialNumber));
    if (packed.length) e.message += ` (packed under ${via.get(packed[0].serialNumber)!.root}: unpack ${packed.length === 1 ? "it" : "them"} first)`;
    throw e;
  }
  const labelPk = labelId !== undefined ? yield* tx.labelCollection(labelId, call.labelDescription, canonicalContext(call.labelProperties)) : null;
  let anomalies = 0;
  for (const g of groups.values()) {
    if (g.to !== g.from) {
      yield* tx.setState(g.rids, g.to);
      yield* tx.count(g.pool.pk, [[g.from, -g.rids.length], [g.to, g.rids.length]]);
    }
    if (labelPk !== null && !g.in) yield* tx.setLabel(labelPk, g.rids);
    if (g.anomaly) anomalies += g.rids.length;
    // only numbers leaving a free state (Unassigned, Unallocated) can make the pool low: an event on numbers
    // already in use (encoding, commissioning, shipping ...) skips the low check after the commit
    if (g.from === "Unassigned" || g.from === "Unallocated") tx.touched(g.pool.pk);
    const ctx = g.in ? { ...context, aggregationRoot: g.in.root, parent: g.in.parent } : context;
    yield* tx.audit({ actor: tx.actor, event, poolId: g.pool.poolId, serialNumbers: g.values, fromState: g.from, toState: g.to, context: ctx, anomaly: g.anomaly, method, labelCollectionId: g.in ? undefined : labelId });
  }
  for (const [v, p] of call.numberProperties) yield* tx.setProperties(v, p);
  return { returnStatus: "NoError", applied: rows.length, anomalies };
}

/** The guard's dry run: which numbers the table lets `event` touch, and why the others are refused. */
export function checkCall(event: PssEvent, serialNumbers: unknown): string[] {
  if (!isEvent(event)) throw new PssError("InvalidEvent", `${JSON.stringify(event)} is not a PSS event (events: ${EVENTS.join(", ")})`);
  return checkNumberList(serialNumbers, `check ${event}`);
}

export function* checkEvent(tx: EngineTx, event: PssEvent, values: readonly string[]): Op<GuardCheck> {
  const rows = yield* tx.lookup(values);
  const out: GuardCheck = { allowed: [], refused: [] };
  for (const r of rows) {
    if (r.rid === null) {
      out.refused.push({ serialNumber: r.v, reason: "not in the store" });
      continue;
    }
    const state = r.state as SerialNumberState;
    const t = transition(state, event);
    if (t.allowed) out.allowed.push({ serialNumber: r.v, state, to: t.to });
    else out.refused.push({ serialNumber: r.v, state, reason: t.reason });
  }
  return out;
}
