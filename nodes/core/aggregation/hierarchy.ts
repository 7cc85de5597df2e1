/* The parent/child hierarchy: packing, unpacking, rework and queries over the pool file, in the store's
   transactions. Every change is audited as a packing/unpacking record whose serialNumbers are the DIRECT children
   and whose context.parent names the parent: the EPCIS exporter makes one AggregationEvent per record (per level). */
import type Database from "better-sqlite3";
import { transition, type PssEvent, type SerialNumberState, stateFromEnum } from "../lifecycle";
import { PssError, listSome, type PssErrorDetail, type SqlitePoolStore, type Dict, type StoreTransaction, type TreeMember } from "../store";
import { isValidSscc } from "../gs1";
import { AGGREGATION_SCHEMA } from "./schema";

/** How a level mixes products: any, one GTIN, or one GTIN and one lot (Russia's mono-aggregates). */
export type MixingPolicy = "any" | "oneGtin" | "oneGtinOneLot";
export const MIXING_POLICIES: readonly MixingPolicy[] = ["any", "oneGtin", "oneGtinOneLot"];

/** One packaging level: its parents hold at most `capacity` children of the level below (units for the first). */
export interface AggregationLevel {
  /** bundle, case, pallet, ... */
  name: string;
  capacity: number;
  /** the pools parent identifiers come from (the first one is drawn from by the builder); empty = any pool */
  parentPools?: string[];
  /** "sscc": every parent must be an 18-digit SSCC with a correct check digit; "serial": any serial number */
  parentKind?: "sscc" | "serial";
  mixing?: MixingPolicy;
}

export interface PackElement {
  parent: string;
  children: string[];
  /** the parent's own properties (OPC 30260 ParentElement label properties): kept in its packing audit record's
   *  context as "parentProperty.<key>" */
  properties?: Dict;
}

/** A parent's own properties in its packing record's context, as "parentProperty.<key>", so they never collide
 *  with the record's own keys (parent, level) or the call's context. */
function parentPropertyContext(properties: Dict | undefined): Dict {
  const out: Dict = {};
  for (const [k, v] of Object.entries(properties ?? {})) out[`parentProperty.${k}`] = v;
  return out;
}

export interface PackOptions {
  actor?: string;
  context?: Dict;
  /** apply this level's rules (capacity, parent pool, mixing, child level) */
  level?: string;
  /** the hierarchy the level is named in (default: the one given to the constructor) */
  levels?: AggregationLevel[];
}

export interface PackedParent {
  parent: string;
  children: string[];
  level: string;
  /** children the parent holds now */
  count: number;
}

export interface UnpackOptions {
  actor?: string;
  context?: Dict;
  /** the children to take out; absent or empty = all of them (the parent is emptied) */
  children?: string[];
}

export interface ParentInfo {
  parent: string;
  level: string;
  count: number;
  /** the one GTIN of the content, or "*" when mixed */
  gtin: string;
  /** the one lot of the content, "" when unknown, "*" when mixed */
  lot: string;
  packed: string;
}

export interface TreeNode {
  serialNumber: string;
  /** the parent's level; absent for a unit */
  level?: string;
  children?: TreeNode[];
}

/** Events that a parent passes on to everything under it. */
export type TreeEvent = "shipping" | "decommissioning" | "destroying";

/** A refusal with the rule's code; details name each serial number concerned. */
export interface Refusal extends PssErrorDetail {
  code: string;
}

export interface SerialRow {
  v: string;
  state: number | null;
  pool: string | null;
  props: string | null;
  lcp: string | null;
  inParent: string | null;
  asLevel: string | null;
  cg: string | null;
  cl: string | null;
  /** children and first packing time, when the serial number is a parent */
  cn: number | null;
  cp: string | null;
  pendingIn: string | null;
}

interface Content {
  gtin: string;
  lot: string;
}

/** What packIn is told besides the elements. */
interface PackContext {
  context?: Dict;
  lv?: { level: AggregationLevel; childLevel: string | null };
  /** the builder whose pending children these are (they may be pending there) */
  ownPending?: string;
  method?: string;
}

/** One parent's packing, checked, ready to write: its content, count and children by pool (one audit record each). */
interface PackPlan {
  e: PackElement;
  level: string;
  content: Content | undefined;
  count: number;
  packed: string;
  groups: Map<string, string[]>;
  /** the pool the parent sits in (when it is a serial number of the store) */
  parentPool: string | null;
}

/** What the rules for a child of one parent look at besides the child's row (see Aggregation.admitChild). */
interface ChildCheck {
  parent: string;
  lv: PackContext["lv"];
  ownPending?: string;
  /** the parent's ancestors (a child among them would close a cycle) */
  ancestors: ReadonlySet<string>;
  /** the parent's content so far: what it held before, and the children admitted */
  content: Content | undefined;
}

const ID_MAX = 256;
const MIXED = "*";

/** The code for a serial number the table does not let take `event`, named after its state. */
export function stateCode(state: SerialNumberState): string {
  switch (state) {
    case "Destroyed": return "Destroyed";
    case "Sampled": return "Sampled";
    case "Inactive": return "Inactive";
    case "Released": return "AlreadyShipped";
    default: return "NotCommissioned";
  }
}

export function combine(a: Content | undefined, b: Content): Content {
  if (!a) return { ...b };
  return { gtin: a.gtin === b.gtin ? a.gtin : MIXED, lot: a.lot === b.lot ? a.lot : MIXED };
}

/** The mixing rule a content breaks under `policy`, or undefined. */
export function mixingProblem(policy: MixingPolicy | undefined, c: Content): string | undefined {
  if (!policy || policy === "any") return undefined;
  if (c.gtin === MIXED) return "more than one GTIN";
  if (policy === "oneGtinOneLot" && c.lot === MIXED) return "more than one lot";
  return undefined;
}

export function refusalError(refusals: Refusal[], what: string): PssError {
  const first = refusals[0];
  const same = refusals.filter((r) => r.code === first.code);
  const err = new PssError(first.code, `${what}: ${first.reason}${same.length > 1 ? ` (${same.length} serial numbers: ${listSome(same.map((r) => r.serialNumber))})` : ""}${refusals.length > same.length ? `; ${refusals.length - same.length} more refusal(s) of other rules` : ""}`,
    refusals.map(({ serialNumber, state, reason }) => ({ serialNumber, ...(state ? { state } : {}), reason })));
  return err;
}

function checkLevels(levels: unknown): AggregationLevel[] {
  if (!Array.isArray(levels)) throw new PssError("InvalidLevel", "levels must be an array of { name, capacity, parentPools, mixing }");
  const names = new Set<string>();
  return levels.map((l, i) => {
    if (typeof l !== "object" || l === null) throw new PssError("InvalidLevel", `level ${i + 1} must be an object { name, capacity, ... }`);
    const x = l as AggregationLevel;
    if (typeof x.name !== "string" || !x.name.trim()) throw new PssError("InvalidLevel", `level ${i + 1} needs a name (bundle, case, pallet, ...)`);
    if (names.has(x.name)) throw new PssError("InvalidLevel", `level name ${x.name} is used twice`);
    names.add(x.name);
    if (!Number.isInteger(x.capacity) || x.capacity < 1 || x.capacity > 1_000_000) throw new PssError("InvalidLevel", `level ${x.name}: capacity must be an integer from 1 to 1000000, got ${JSON.stringify(x.capacity)}`);
    if (x.mixing !== undefined && !MIXING_POLICIES.includes(x.mixing)) throw new PssError("InvalidLevel", `level ${x.name}: mixing must be one of ${MIXING_POLICIES.join(", ")}, got ${JSON.stringify(x.mixing)}`);
    if (x.parentKind !== undefined && x.parentKind !== "sscc" && x.parentKind !== "serial") throw new PssError("InvalidLevel", `level ${x.name}: parentKind must be "sscc" or "serial"`);
    if (x.parentPools !== undefined && (!Array.isArray(x.parentPools) || x.parentPools.some((p) => typeof p !== "string" || !p))) throw new PssError("InvalidLevel", `level ${x.name}: parentPools must be an array of pool ids`);
    return { name: x.name, capacity: x.capacity, parentPools: x.parentPools ? [...x.parentPools] : [], parentKind: x.parentKind ?? "serial", mixing: x.mixing ?? "any" };
  });
}
export { checkLevels };

function serial(x: unknown, what: string): string {
  if (typeof x !== "string" || x.length === 0 || x.length > ID_MAX || /[\u0000-\u001f\u007f]/.test(x)) {
    throw new PssError("InvalidSerialNumber", `${what} must be a serial number (a non-empty string of at most ${ID_MAX} characters without control characters), got ${JSON.stringify(typeof x === "string" ? x.slice(0, 40) : x)}`);
  }
  return x;
}

function pick(o: Record<string, unknown> | null, keys: string[]): string | undefined {
  if (!o) return undefined;
  for (const k of keys) if (typeof o[k] === "string" && o[k]) return o[k] as string;
  return undefined;
}

/** A GTIN in the serial number itself: (01) or 01 and 14 digits at the start. */
const VALUE_GTIN = /^(?:\(01\)|01)(\d{14})/;

/** The columns of a child that the packing rules and its content and audit record depend on: a batch is checked
    set-wise when they are the same for all its children (state, place in the hierarchy, builder, pool, own
    properties, label data, level and content as a parent). */
const KIND_COLUMNS = ["state", "inParent", "poolPk", "props", "lcPk", "asLevel", "cg", "cl"] as const;
const KIND_COLUMNS_PENDING = [...KIND_COLUMNS, "pendingIn"] as const;

/**
 * The set-wise look at a batch's children (json_each(@kids)), one row: how many children there are and, for each
 * column the packing rules and a child's content and audit record depend on, its least and greatest value and how
 * many children have one, which tells whether all children are of one kind (no sort). It states no rule: the rules
 * are applied to that one kind in JS (Aggregation.admitChild), as to each child's row on the per-child path.
 */
function childKinds(withPending: boolean): string {
  const cols = (withPending ? KIND_COLUMNS_PENDING : KIND_COLUMNS).map((c) => `min(${c}) AS ${c}, max(${c}) AS ${c}Max, count(${c}) AS ${c}N`).join(", ");
  return `SELECT count(*) AS n, ${cols} FROM (
    SELECT s.state AS state, l.parent AS inParent, s.pool AS poolPk, s.properties AS props, s.label_collection AS lcPk,
      ap.level AS asLevel, ap.gtin AS cg, ap.lot AS cl${withPending ? ", pe.builder AS pendingIn" : ""}
    FROM json_each(@kids) j
    LEFT JOIN serial_number s ON s.value = j.value
    LEFT JOIN agg_link l ON l.child = j.value
    LEFT JOIN agg_parent ap ON ap.parent = j.value${withPending ? "\n    LEFT JOIN agg_pending pe ON pe.child = j.value" : ""})`;
}

const GTIN_KEYS = ["gtin", "GTIN", "01"];
const LOT_KEYS = ["lot", "LOT", "batch", "10"];
const EXPIRY_KEYS = ["expiry", "EXPIRY", "17"];

/** The lot and expiry a homogeneous parent takes from its contents (see Aggregation.lotAndExpiryOf). */
export interface LotAndExpiry {
  lot?: string;
  expiry?: string;
}

export class Aggregation {
  readonly db: Database.Database;
  readonly levels: AggregationLevel[];
  private readonly q: ReturnType<Aggregation["prepare"]>;
  private readonly jsonCache = new Map<string, Record<string, unknown> | null>();
  private readonly poolGtin = new Map<string, string | undefined>();

  constructor(readonly store: SqlitePoolStore, options: { levels?: AggregationLevel[] } = {}) {
    this.db = store.db;
    this.levels = checkLevels(options.levels ?? []);
    store.transaction((tx) => tx.db.exec(AGGREGATION_SCHEMA));
    this.q = this.prepare();
    // every path that ships, decommissions or destroys through the store reaches what is packed
    store.setHierarchy({ expand: (tx, event, values, context) => this.treeMembers(tx, event, [...values], context) });
  }

  private prepare() {
    const db = this.db;
    return {
      // four index lookups per value (value index, row, link, parent); pool ids and label data come from small caches
      lookup: db.prepare(`SELECT j.value AS v, s.state AS state, s.pool AS poolPk, s.properties AS props, s.label_collection AS lcPk,
          l.parent AS inParent, ap.level AS asLevel, ap.gtin AS cg, ap.lot AS cl, ap.count AS cn, ap.packed AS cp, pe.builder AS pendingIn
        FROM json_each(?) j
        LEFT JOIN serial_number s ON s.value = j.value
        LEFT JOIN agg_link l ON l.child = j.value
        LEFT JOIN agg_parent ap ON ap.parent = j.value
        LEFT JOIN agg_pending pe ON pe.child = j.value`),
      lookupNoPending: db.prepare(`SELECT j.value AS v, s.state AS state, s.pool AS poolPk, s.properties AS props, s.label_collection AS lcPk,
          l.parent AS inParent, ap.level AS asLevel, ap.gtin AS cg, ap.lot AS cl, ap.count AS cn, ap.packed AS cp, NULL AS pendingIn
        FROM json_each(?) j
        LEFT JOIN serial_number s ON s.value = j.value
        LEFT JOIN agg_link l ON l.child = j.value
        LEFT JOIN agg_parent ap ON ap.parent = j.value`),
      // the set-wise check of a batch's children: all of one kind and none breaking a universal rule, or the batch
      // goes the per-child path, which names every refusal
      check: db.prepare(childKinds(true)),
      checkNoPending: db.prepare(childKinds(false)),
      anyPending: db.prepare("SELECT EXISTS (SELECT 1 FROM agg_pending)").pluck(),
      poolIds: db.prepare("SELECT pk, pool_id FROM pool"),
      labelProps: db.prepare("SELECT properties FROM label_collection WHERE pk = ?").pluck(),
      link: db.prepare("INSERT INTO agg_link (child, parent) SELECT value, ? FROM json_each(?)"),
      // the links of a whole batch from one JSON object { child: parent } (children are unique in a batch)
      linkAll: db.prepare("INSERT INTO agg_link (child, parent) SELECT key, value FROM json_each(?)"),
      unlink: db.prepare("DELETE FROM agg_link WHERE parent = ? AND child IN (SELECT value FROM json_each(?))"),
      parentInfo: db.prepare("SELECT parent, level, count, gtin, lot, packed FROM agg_parent WHERE parent = ?"),
      upsertParent: db.prepare(`INSERT INTO agg_parent (parent, level, count, gtin, lot, packed) VALUES (@parent, @level, @count, @gtin, @lot, @packed)
        ON CONFLICT (parent) DO UPDATE SET count = excluded.count, gtin = excluded.gtin, lot = excluded.lot`),
      // the parents of a whole batch from one JSON array of [parent, level, count, gtin, lot, packed]
      upsertParents: db.prepare(`INSERT INTO agg_parent (parent, level, count, gtin, lot, packed)
          SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5 FROM json_each(?) WHERE true
        ON CONFLICT (parent) DO UPDATE SET count = excluded.count, gtin = excluded.gtin, lot = excluded.lot`),
      deleteParent: db.prepare("DELETE FROM agg_parent WHERE parent = ?"),
      parentOf: db.prepare("SELECT parent FROM agg_link WHERE child = ?").pluck(),
      children: db.prepare("SELECT child FROM agg_link WHERE parent = ? ORDER BY child").pluck(),
      up: db.prepare(`WITH RECURSIVE up(v, d) AS (SELECT parent, 1 FROM agg_link WHERE child = ?
          UNION ALL SELECT l.parent, up.d + 1 FROM agg_link l JOIN up ON l.child = up.v WHERE up.d < 64)
        SELECT v FROM up ORDER BY d`).pluck(),
      down: db.prepare(`WITH RECURSIVE t(v, p, d) AS (SELECT ?, NULL, 0
          UNION ALL SELECT l.child, l.parent, t.d + 1 FROM agg_link l JOIN t ON l.parent = t.v WHERE t.d < 64)
        SELECT t.v AS v, t.p AS p, ap.level AS level FROM t LEFT JOIN agg_parent ap ON ap.parent = t.v ORDER BY t.d, t.p, t.v`),
      pendingInTree: db.prepare(`WITH RECURSIVE t(v, d) AS (SELECT ?, 0 UNION ALL SELECT l.child, t.d + 1 FROM agg_link l JOIN t ON l.parent = t.v WHERE t.d < 64)
        SELECT pe.child AS child, pe.builder AS builder FROM t JOIN agg_pending pe ON pe.child = t.v LIMIT 5`),
    };
  }

  // ---------------------------------------------------------------- helpers shared with the builder

  /** The rows of serial numbers with their state, pool, label data, place in the hierarchy and builder. */
  lookup(values: string[]): SerialRow[] {
    const stmt = this.q.anyPending.get() ? this.q.lookup : this.q.lookupNoPending;
    const raw = stmt.all(JSON.stringify(values)) as Array<SerialRow & { poolPk: number | null; lcPk: number | null }>;
    const byValue = new Map<string, SerialRow>();
    for (const r of raw) {
      r.pool = r.poolPk === null ? null : this.poolId(r.poolPk);
      r.lcp = r.lcPk === null ? null : this.labelProps(r.lcPk);
      byValue.set(r.v, r);
    }
    // in the order asked for (json_each with joins does not promise it)
    return values.map((v) => byValue.get(v) as SerialRow);
  }

  private readonly poolIds = new Map<number, string>();
  private poolId(pk: number): string {
    let id = this.poolIds.get(pk);
    if (id === undefined) {
      for (const r of this.q.poolIds.all() as Array<{ pk: number; pool_id: string }>) this.poolIds.set(r.pk, r.pool_id);
      id = this.poolIds.get(pk) as string;
    }
    return id;
  }

  private readonly labels = new Map<number, string | null>();
  private labelProps(pk: number): string | null {
    let p = this.labels.get(pk);
    if (p === undefined) {
      // a label collection's properties never change once stored
      p = (this.q.labelProps.get(pk) as string | undefined) ?? null;
      if (this.labels.size > 10_000) this.labels.clear();
      this.labels.set(pk, p);
    }
    return p;
  }

  private json(s: string | null): Record<string, unknown> | null {
    if (s === null) return null;
    let v = this.jsonCache.get(s);
    if (v === undefined) {
      try {
        const parsed = JSON.parse(s) as unknown;
        // label collection properties are stored canonically, as [key, value] pairs
        v = Array.isArray(parsed) ? (Object.fromEntries(parsed.filter((kv) => Array.isArray(kv) && kv.length === 2)) as Record<string, unknown>) : (parsed as Record<string, unknown>);
      } catch {
        v = null;
      }
      if (this.jsonCache.size > 10_000) this.jsonCache.clear();
      this.jsonCache.set(s, v);
    }
    return v;
  }

  private gtinOfPool(poolId: string): string | undefined {
    if (!this.poolGtin.has(poolId)) this.poolGtin.set(poolId, pick(this.store.getPool(poolId)?.selectionCriteria ?? null, GTIN_KEYS));
    return this.poolGtin.get(poolId);
  }

  /** GTIN and lot of a row: a parent's recorded content; a unit's own properties, its label collection, the GTIN its
   *  value carries ((01) + 14 digits), its pool. */
  content(r: SerialRow): Content {
    if (r.asLevel !== null) return { gtin: r.cg as string, lot: r.cl as string };
    const props = this.json(r.props);
    const lcp = this.json(r.lcp);
    let gtin = pick(props, GTIN_KEYS) ?? pick(lcp, GTIN_KEYS);
    if (!gtin) gtin = VALUE_GTIN.exec(r.v)?.[1] || ((r.pool ? this.gtinOfPool(r.pool) : undefined) ?? `pool:${r.pool ?? ""}`);
    return { gtin, lot: pick(props, LOT_KEYS) ?? pick(lcp, LOT_KEYS) ?? "" };
  }

  /**
   * The lot and expiry of a homogeneous parent's children (a serialized case GTIN carries them in its product
   * identifier): from each child's own properties, then its label collection's properties (keys lot/batch/10 and
   * expiry/17); a child that is a parent gives those of its own commissioning (stored the same way). Throws
   * MixingRefused when the children name two lots or two expiry dates: one product identifier cannot carry both.
   */
  lotAndExpiryOf(children: string[]): LotAndExpiry {
    const lots = new Set<string>();
    const expiries = new Set<string>();
    for (const r of this.lookup(children)) {
      if (!r) continue;
      const props = this.json(r.props);
      const lcp = this.json(r.lcp);
      const lot = pick(props, LOT_KEYS) ?? pick(lcp, LOT_KEYS);
      const expiry = pick(props, EXPIRY_KEYS) ?? pick(lcp, EXPIRY_KEYS);
      if (lot) lots.add(lot);
      if (expiry) expiries.add(expiry);
    }
    if (lots.size > 1 || expiries.size > 1) {
      const what = lots.size > 1 ? `lots ${[...lots].join(", ")}` : `expiry dates ${[...expiries].join(", ")}`;
      throw new PssError("MixingRefused", `the children of one homogeneous parent name ${what}: its product identifier can carry only one`, children.slice(0, 5).map((c) => ({ serialNumber: c, reason: what })));
    }
    const [lot] = lots;
    const [expiry] = expiries;
    return { ...(lot !== undefined ? { lot } : {}), ...(expiry !== undefined ? { expiry } : {}) };
  }

  /** Refusal of a row as a child or parent of `event` (unknown, or a state the table forbids), or undefined. */
  stateRefusal(r: SerialRow, event: PssEvent, role: string): Refusal | undefined {
    if (r.state === null) return { code: "UnknownSerialNumber", serialNumber: r.v, reason: `${role} ${r.v} is not in the store` };
    const state = stateFromEnum(r.state);
    const t = transition(state, event);
    if (t.allowed) return undefined;
    const code = stateCode(state);
    const why = code === "NotCommissioned" ? "is not commissioned" : code === "AlreadyShipped" ? "was shipped (Released)" : `is ${state}`;
    return { code, serialNumber: r.v, state, reason: `${role} ${r.v} ${why} (${state}): ${t.reason}` };
  }

  resolveLevel(name: string | undefined, levels: AggregationLevel[] | undefined): { level: AggregationLevel; index: number; childLevel: string | null } | undefined {
    if (name === undefined || name === "") return undefined;
    const list = levels ? checkLevels(levels) : this.levels;
    const index = list.findIndex((l) => l.name === name);
    if (index < 0) throw new PssError("UnknownLevel", `level ${JSON.stringify(name)} is not in the hierarchy (${list.map((l) => l.name).join(", ") || "no levels defined"})`);
    return { level: list[index], index, childLevel: index === 0 ? null : list[index - 1].name };
  }

  // ---------------------------------------------------------------- packing

  /** AggregationPackingEvent: children into parents, one transaction for the whole batch; all or nothing. */
  pack(elements: PackElement[], options: PackOptions = {}): { returnStatus: "NoError"; packed: PackedParent[] } {
    const els = this.checkElements(elements, "packing");
    const lv = this.resolveLevel(options.level, options.levels);
    return this.store.transaction((tx) => ({ returnStatus: "NoError" as const, packed: this.packIn(tx, els, { ...options, lv }) }), { actor: options.actor });
  }

  checkElements(elements: unknown, what: string, allowEmpty = false): PackElement[] {
    if (!Array.isArray(elements) || elements.length === 0) throw new PssError("InvalidArgument", `${what}: give a non-empty array of { parent, children }`);
    const seen = new Set<string>();
    const parents = new Set<string>();
    return elements.map((e, i) => {
      if (typeof e !== "object" || e === null) throw new PssError("InvalidArgument", `${what}: element ${i + 1} must be { parent, children }`);
      const parent = serial((e as PackElement).parent, `${what}: element ${i + 1} parent`);
      const raw = (e as PackElement).children ?? [];
      if (!Array.isArray(raw)) throw new PssError("InvalidArgument", `${what}: children of ${parent} must be an array`);
      if (raw.length === 0 && !allowEmpty) throw new PssError("EmptyParent", `${what}: parent ${parent} is given no children`, [{ serialNumber: parent, reason: "no children" }]);
      const children = raw.map((c, j) => serial(c, `${what}: child ${j + 1} of ${parent}`));
      if (children.includes(parent)) throw new PssError("Cycle", `${what}: ${parent} cannot be packed into itself`, [{ serialNumber: parent, reason: "child of itself" }]);
      // a parent may be a child of another element (several levels in one batch), but no one is listed twice in a role
      if (parents.has(parent)) throw new PssError("DuplicateInBatch", `${what}: parent ${parent} appears twice in the batch`, [{ serialNumber: parent, reason: "listed twice as a parent" }]);
      parents.add(parent);
      for (const s of children) {
        if (seen.has(s)) throw new PssError("DuplicateInBatch", `${what}: serial number ${s} appears twice in the batch`, [{ serialNumber: s, reason: "listed twice" }]);
        seen.add(s);
      }
      const props = (e as PackElement).properties;
      if (props === undefined) return { parent, children };
      if (typeof props !== "object" || props === null || Array.isArray(props) || Object.values(props).some((v) => typeof v !== "string")) {
        throw new PssError("InvalidArgument", `${what}: properties of ${parent} must be an object of strings`);
      }
      return { parent, children, properties: { ...props } };
    });
  }

  /**
   * The packing rules and writes, inside a transaction. `ownPending`: the builder whose pending children these are
   * (they are allowed to be pending there).
   */
  packIn(tx: StoreTransaction, els: PackElement[], o: PackContext): PackedParent[] {
    if (els.length > 1) {
      const parents = new Set(els.map((e) => e.parent));
      if (els.some((e) => e.children.some((c) => parents.has(c)))) {
        // several levels in one batch: pack the lower parents first, one element at a time
        const out: PackedParent[] = [];
        let todo = els;
        while (todo.length) {
          const waiting = new Set(todo.map((e) => e.parent));
          const ready = todo.filter((e) => !e.children.some((c) => waiting.has(c)));
          if (ready.length === 0) {
            throw new PssError("Cycle", `${o.method ?? "AggregationPackingEvent"}: the batch packs ${todo.map((e) => e.parent).join(", ")} into each other (a cycle)`, todo.map((e) => ({ serialNumber: e.parent, reason: "part of a cycle in the batch" })));
          }
          for (const e of ready) out.push(...this.packIn(tx, [e], o));
          todo = todo.filter((e) => !ready.includes(e));
        }
        return out;
      }
    }
    // set-wise first (one SQL statement over the children, the rules applied to their one kind); the per-child path
    // (the same rules, planElement, on each child's row) when a rule breaks, to name every refusal, or when the
    // children are not all of one kind
    const plans = this.planSetWise(els, o) ?? this.planPerChild(els, o);
    const now = new Date().toISOString();
    const out: PackedParent[] = [];
    const links: string[] = [];
    for (const p of plans) {
      const parent = JSON.stringify(p.e.parent);
      for (const c of p.e.children) links.push(`${JSON.stringify(c)}:${parent}`);
    }
    this.q.linkAll.run(`{${links.join(",")}}`);
    this.q.upsertParents.run(JSON.stringify(plans.map((p) => [p.e.parent, p.level, p.count, (p.content as Content).gtin, (p.content as Content).lot, p.packed || now])));
    for (const p of plans) {
      for (const [poolId, children] of p.groups) {
        // a parent that is a bare serial of another pool (a serialized case GTIN) is named by its pool, so that the
        // EPCIS exporter gives it its own pool's GTIN, not the children's; an SSCC names itself
        const parentPool = p.parentPool !== null && p.parentPool !== poolId && !isValidSscc(p.e.parent) ? { parentPool: p.parentPool } : ({} as Dict);
        tx.audit({
          event: "packing", poolId, serialNumbers: children, fromState: "Commissioned", toState: "Commissioned",
          context: { ...(o.context ?? {}), ...parentPropertyContext(p.e.properties), parent: p.e.parent, ...(p.level ? { level: p.level } : {}), ...parentPool }, method: "AggregationPackingEvent",
        });
      }
      out.push({ parent: p.e.parent, children: p.e.children, level: p.level, count: p.count });
    }
    return out;
  }

  /** The parent's own refusals for packing `e` (state, builder, pool, SSCC, level, capacity) and what it holds. */
  private parentRefusals(p: SerialRow, e: PackElement, o: PackContext, refusals: Refusal[]): { stateOk: boolean; info: ParentInfo | undefined } {
    const pr = this.stateRefusal(p, "packing", "parent");
    if (pr) {
      refusals.push(pr);
      return { stateOk: false, info: undefined };
    }
    const info: ParentInfo | undefined = p.asLevel === null ? undefined : { parent: p.v, level: p.asLevel, count: p.cn as number, gtin: p.cg as string, lot: p.cl as string, packed: p.cp as string };
    if (p.pendingIn !== null && p.pendingIn !== o.ownPending) refusals.push({ code: "ParentInProgress", serialNumber: e.parent, reason: `parent ${e.parent} waits in open builder ${p.pendingIn}: it is closed and cannot take more children` });
    const lv = o.lv;
    if (lv) {
      const L = lv.level;
      if (L.parentPools && L.parentPools.length && !L.parentPools.includes(p.pool as string)) {
        refusals.push({ code: "WrongParentPool", serialNumber: e.parent, reason: `parent ${e.parent} is from pool ${p.pool}; ${L.name} parents come from pool ${L.parentPools.join(" or ")}` });
      }
      if (L.parentKind === "sscc" && !isValidSscc(e.parent)) refusals.push({ code: "InvalidParent", serialNumber: e.parent, reason: `parent ${e.parent} of a ${L.name} is not an SSCC (18 digits with a correct check digit)` });
      if (info && info.level !== L.name) refusals.push({ code: "WrongParentLevel", serialNumber: e.parent, reason: `parent ${e.parent} is a ${info.level}, not a ${L.name}` });
      if ((info?.count ?? 0) + e.children.length > L.capacity) {
        refusals.push({ code: "CapacityExceeded", serialNumber: e.parent, reason: `a ${L.name} holds at most ${L.capacity}; ${e.parent} would hold ${(info?.count ?? 0) + e.children.length}` });
      }
    }
    return { stateOk: true, info };
  }

  /** The parent's ancestors (a child among them would close a cycle); none when the parent is in no parent. */
  private ancestors(p: SerialRow): Set<string> {
    return new Set(p.inParent === null ? [] : (this.q.up.all(p.v) as string[]));
  }

  private planOf(e: PackElement, o: PackContext, info: ParentInfo | undefined, content: Content | undefined, groups: Map<string, string[]>, parent: SerialRow): PackPlan {
    return { e, level: o.lv?.level.name ?? info?.level ?? o.context?.level ?? "", content, count: (info?.count ?? 0) + e.children.length, packed: info?.packed ?? "", groups, parentPool: parent?.pool ?? null };
  }

  /**
   * The packing rules for one child of `f.parent`, in the order they are checked: its state, no cycle, not in a
   * parent, not waiting in another builder, the level below the parent's, and the parent's mixing policy with the
   * content so far. Its refusal (the first rule it breaks), or the parent's content with it in. The one statement of
   * the child rules: both plans apply it through planElement.
   */
  private admitChild(r: SerialRow, f: ChildCheck): { refusal: Refusal } | { content: Content } {
    const c = r.v;
    const sr = this.stateRefusal(r, "packing", "child");
    if (sr) return { refusal: sr };
    if (f.ancestors.has(c)) return { refusal: { code: "Cycle", serialNumber: c, reason: `packing ${c} into ${f.parent} would make a cycle: ${f.parent} is inside ${c}` } };
    if (r.inParent !== null) return { refusal: { code: "AlreadyPacked", serialNumber: c, reason: `${c} is already inside ${r.inParent}${r.inParent === f.parent ? "" : " (unpack it first)"}` } };
    if (r.pendingIn !== null && r.pendingIn !== f.ownPending) return { refusal: { code: "AlreadyInProgress", serialNumber: c, reason: `${c} is being packed by builder ${r.pendingIn}` } };
    const lv = f.lv;
    if (lv) {
      if (lv.childLevel === null && r.asLevel !== null) {
        return { refusal: { code: "WrongChildLevel", serialNumber: c, reason: `${c} is a ${r.asLevel}; a ${lv.level.name} holds units` } };
      }
      if (lv.childLevel !== null && r.asLevel !== lv.childLevel) {
        return { refusal: { code: "WrongChildLevel", serialNumber: c, reason: `${c} is ${r.asLevel ? `a ${r.asLevel}` : "not a packed parent"}; a ${lv.level.name} holds ${lv.childLevel}s` } };
      }
    }
    const cc = this.content(r);
    const next = combine(f.content, cc);
    const problem = lv ? mixingProblem(lv.level.mixing, next) : undefined;
    if (problem) {
      return { refusal: { code: "MixingRefused", serialNumber: c, reason: `${c} (GTIN ${cc.gtin}, lot ${cc.lot || "unknown"}) would give ${f.parent} ${problem}; a ${lv?.level.name} is ${lv?.level.mixing}` } };
    }
    return { content: next };
  }

  /**
   * One element by the packing rules: the parent's (parentRefusals), then each child's in order (admitChild), every
   * refusal added to `refusals`. `rowOf` gives a child's row (read before the next one is asked for: the set-wise plan
   * hands out one row object for all). Undefined when the parent's state refuses it (its children are then not looked
   * at); else its plan, which the caller uses only when no refusal was found.
   */
  private planElement(e: PackElement, o: PackContext, parent: SerialRow, rowOf: (child: string) => SerialRow, refusals: Refusal[]): PackPlan | undefined {
    const { stateOk, info } = this.parentRefusals(parent, e, o, refusals);
    if (!stateOk) return undefined;
    // the parent's ancestors: a child among them would close a cycle. Every ancestor is a parent, so children that
    // are no parents (units) cannot close one and the walk up is skipped
    const ancestors = e.children.some((c) => rowOf(c).asLevel !== null) ? this.ancestors(parent) : new Set<string>();
    const check: ChildCheck = { parent: e.parent, lv: o.lv, ownPending: o.ownPending, ancestors, content: info ? { gtin: info.gtin, lot: info.lot } : undefined };
    const groups = new Map<string, string[]>();
    for (const c of e.children) {
      const r = rowOf(c);
      const admitted = this.admitChild(r, check);
      if ("refusal" in admitted) {
        refusals.push(admitted.refusal);
        continue;
      }
      check.content = admitted.content;
      const g = groups.get(r.pool as string);
      if (g) g.push(c);
      else groups.set(r.pool as string, [c]);
    }
    return this.planOf(e, o, info, check.content, groups, parent);
  }

  /**
   * The batch checked from one SQL statement over all its children instead of a row per child: when they are all of
   * one kind (childKinds: the same state, place in the hierarchy, builder, pool, label data, own properties, level and
   * content), the rules (planElement) are applied to that one kind. Undefined when the children are of several kinds
   * or anything is refused: the per-child path decides and explains.
   */
  private planSetWise(els: PackElement[], o: PackContext): PackPlan[] | undefined {
    const kids: string[] = [];
    for (const e of els) for (const c of e.children) kids.push(c);
    const json = JSON.stringify(kids);
    const withPending = this.q.anyPending.get() as number;
    const k = (withPending ? this.q.check.get({ kids: json }) : this.q.checkNoPending.get({ kids: json })) as Record<string, string | number | null>;
    if (k.n !== kids.length) return undefined;
    for (const c of withPending ? KIND_COLUMNS_PENDING : KIND_COLUMNS) if (k[`${c}N`] !== 0 && (k[`${c}N`] !== k.n || k[c] !== k[`${c}Max`])) return undefined;
    // every child's row: the kind with the child's value (one object, the rules keep none)
    const row: SerialRow = {
      v: "",
      state: k.state as number | null,
      pool: k.poolPk === null ? null : this.poolId(k.poolPk as number),
      props: k.props as string | null,
      lcp: k.lcPk === null ? null : this.labelProps(k.lcPk as number),
      inParent: k.inParent as string | null,
      asLevel: k.asLevel as string | null,
      cg: k.cg as string | null,
      cl: k.cl as string | null,
      // a child's own children and packing time: no rule reads them
      cn: null,
      cp: null,
      pendingIn: withPending ? (k.pendingIn as string | null) : null,
    };
    const rowOf = (v: string): SerialRow => {
      row.v = v;
      return row;
    };
    const parents = this.lookup(els.map((e) => e.parent));
    const refusals: Refusal[] = [];
    const plans: PackPlan[] = [];
    for (let i = 0; i < els.length; i++) {
      const plan = this.planElement(els[i], o, parents[i], rowOf, refusals);
      if (!plan || refusals.length) return undefined;
      plans.push(plan);
    }
    return plans;
  }

  /** Every rule, child by child on each child's own row, collecting every refusal with its reason; throws when there
   *  is one. */
  private planPerChild(els: PackElement[], o: PackContext): PackPlan[] {
    const all: string[] = [];
    for (const e of els) all.push(e.parent, ...e.children);
    const rows = this.lookup(all);
    const byValue = new Map<string, SerialRow>();
    for (const r of rows) byValue.set(r.v, r);
    const refusals: Refusal[] = [];
    const plans: PackPlan[] = [];
    for (const e of els) {
      const plan = this.planElement(e, o, byValue.get(e.parent) as SerialRow, (c) => byValue.get(c) as SerialRow, refusals);
      if (plan) plans.push(plan);
    }
    if (refusals.length) throw refusalError(refusals, o.method ?? "AggregationPackingEvent");
    return plans;
  }

  // ---------------------------------------------------------------- unpacking and rework

  /** AggregationUnpackingEvent for one parent: all its children, or the listed ones. */
  unpack(parent: string, options: UnpackOptions = {}): { returnStatus: "NoError"; parent: string; children: string[] } {
    return this.unpackMany([{ parent, children: options.children ?? [] }], options).unpacked[0] as never;
  }

  /** Unpacking of several parents in one transaction (an element with no children empties its parent). */
  unpackMany(elements: PackElement[], options: { actor?: string; context?: Dict } = {}): { returnStatus: "NoError"; unpacked: Array<{ returnStatus: "NoError"; parent: string; children: string[] }> } {
    const els = this.checkElements(elements, "unpacking", true);
    return this.store.transaction((tx) => ({ returnStatus: "NoError" as const, unpacked: els.map((e) => ({ returnStatus: "NoError" as const, parent: e.parent, children: this.unpackIn(tx, e.parent, e.children.length ? e.children : undefined, options.context) })) }), { actor: options.actor });
  }

  unpackIn(tx: StoreTransaction, parent: string, listed: string[] | undefined, context: Dict | undefined): string[] {
    const [p] = this.lookup([parent]);
    const pr = this.stateRefusal(p, "unpacking", "parent");
    if (pr) throw refusalError([pr], "AggregationUnpackingEvent");
    const info = this.q.parentInfo.get(parent) as ParentInfo | undefined;
    if (!info) throw new PssError("NotAParent", `AggregationUnpackingEvent: ${parent} holds no children`, [{ serialNumber: parent, reason: "not a parent" }]);
    if (p.pendingIn !== null) throw new PssError("ParentInProgress", `AggregationUnpackingEvent: ${parent} waits in open builder ${p.pendingIn}; remove it from the builder first`, [{ serialNumber: parent, reason: `pending in builder ${p.pendingIn}` }]);
    const current = this.q.children.all(parent) as string[];
    const inside = new Set(current);
    const out = listed ?? current;
    const strangers = out.filter((c) => !inside.has(c));
    if (strangers.length) {
      throw refusalError(strangers.map((c) => {
        const elsewhere = this.q.parentOf.get(c) as string | undefined;
        return { code: "NotInParent", serialNumber: c, reason: `${c} is not in ${parent}${elsewhere ? ` (it is in ${elsewhere})` : ""}` };
      }), "AggregationUnpackingEvent");
    }
    const rows = this.lookup(out);
    const refused = rows.map((r) => this.stateRefusal(r, "unpacking", "child")).filter((x): x is Refusal => x !== undefined);
    if (refused.length) throw refusalError(refused, "AggregationUnpackingEvent");
    this.q.unlink.run(parent, JSON.stringify(out));
    const remaining = current.length - out.length;
    if (remaining === 0) this.q.deleteParent.run(parent);
    else {
      let content: Content | undefined;
      const gone = new Set(out);
      for (const r of this.lookup(current.filter((c) => !gone.has(c)))) content = combine(content, this.content(r));
      this.q.upsertParent.run({ parent, level: info.level, count: remaining, gtin: (content as Content).gtin, lot: (content as Content).lot, packed: info.packed });
    }
    const groups = new Map<string, string[]>();
    for (const r of rows) {
      const g = groups.get(r.pool as string);
      if (g) g.push(r.v);
      else groups.set(r.pool as string, [r.v]);
    }
    for (const [poolId, children] of groups) {
      // as for packing: a serialized parent of another pool is named by its pool (its EPCIS identifier takes that GTIN)
      const parentPool: Dict = p.pool !== null && p.pool !== poolId && !isValidSscc(parent) ? { parentPool: p.pool } : {};
      tx.audit({ event: "unpacking", poolId, serialNumbers: children, fromState: "Commissioned", toState: "Commissioned", context: { ...(context ?? {}), parent, ...(info.level ? { level: info.level } : {}), ...parentPool }, method: "AggregationUnpackingEvent" });
    }
    return out;
  }

  /**
   * Rework: take `oldChild` out of `parent` and put `newChild` in its place, in one transaction (unpacking, then
   * packing, both audited). `oldChildEvent` (destroying or decommissioning) is applied to the old child too.
   */
  replace(parent: string, oldChild: string, newChild: string, options: { actor?: string; context?: Dict; oldChildEvent?: "destroying" | "decommissioning"; levels?: AggregationLevel[] } = {}): { returnStatus: "NoError"; parent: string; removed: string; added: string } {
    serial(parent, "replace: parent");
    serial(oldChild, "replace: old child");
    serial(newChild, "replace: new child");
    if (oldChild === newChild) throw new PssError("InvalidArgument", `replace: the new child is the old one (${oldChild})`);
    if (options.oldChildEvent !== undefined && options.oldChildEvent !== "destroying" && options.oldChildEvent !== "decommissioning") throw new PssError("InvalidEvent", `replace: oldChildEvent must be destroying or decommissioning`);
    return this.store.transaction((tx) => {
      const info = this.q.parentInfo.get(parent) as ParentInfo | undefined;
      this.unpackIn(tx, parent, [oldChild], { ...(options.context ?? {}), rework: "replace" });
      if (options.oldChildEvent) this.store.applyEvent(options.oldChildEvent, { serialNumbers: [oldChild], actor: tx.actor, context: { ...(options.context ?? {}), rework: "replace", replacedBy: newChild } });
      const list = options.levels ? checkLevels(options.levels) : this.levels;
      const lvName = info && list.some((l) => l.name === info.level) ? info.level : undefined;
      const lv = this.resolveLevel(lvName, list);
      this.packIn(tx, [{ parent, children: [newChild] }], { context: { ...(options.context ?? {}), rework: "replace", ...(info?.level ? { level: info.level } : {}) }, lv });
      return { returnStatus: "NoError" as const, parent, removed: oldChild, added: newChild };
    }, { actor: options.actor });
  }

  // ---------------------------------------------------------------- queries

  parentInfo(parent: string): ParentInfo | undefined {
    return this.q.parentInfo.get(parent) as ParentInfo | undefined;
  }

  /** The parent a serial number is packed in, or undefined. */
  parentOf(child: string): string | undefined {
    return (this.q.parentOf.get(child) as string | undefined) ?? undefined;
  }

  /** Direct children, sorted. */
  childrenOf(parent: string): string[] {
    return this.q.children.all(parent) as string[];
  }

  /** Parent, grandparent, ... up to the top (empty when the serial number is in no parent). */
  pathToTop(serialNumber: string): string[] {
    return this.q.up.all(serialNumber) as string[];
  }

  /** The top of the hierarchy a serial number is in (itself when it is in no parent). */
  topOf(serialNumber: string): string {
    const p = this.pathToTop(serialNumber);
    return p.length ? p[p.length - 1] : serialNumber;
  }

  /** Everything under a parent, parents before their children (the parent itself not included). */
  descendants(parent: string): string[] {
    return (this.q.down.all(parent) as Array<{ v: string }>).slice(1).map((r) => r.v);
  }

  /** The tree under a parent; children sorted by serial number. Undefined when it holds nothing. */
  tree(parent: string): TreeNode | undefined {
    const rows = this.q.down.all(parent) as Array<{ v: string; p: string | null; level: string | null }>;
    if (rows.length <= 1) return undefined;
    const nodes = new Map<string, TreeNode>();
    for (const r of rows) {
      const n: TreeNode = { serialNumber: r.v };
      if (r.level !== null) {
        n.level = r.level;
        n.children = [];
      }
      nodes.set(r.v, n);
      if (r.p !== null) (nodes.get(r.p) as TreeNode).children?.push(n);
    }
    return nodes.get(parent);
  }

  // ---------------------------------------------------------------- events over a whole tree

  /**
   * The store's hierarchy hook for shipping, decommissioning and destroying, inside the event's transaction: the
   * numbers packed under the given ones (each with its direct parent and the given number it is under). A given
   * number inside a parent that the call does not also name is refused (NotTopLevel), unless the context says
   * unpack=true: then it is taken out of its parent first (an audited unpacking record). A parent that waits in an
   * open builder, or holds one that does, is refused (ParentInProgress).
   */
  treeMembers(tx: StoreTransaction, event: PssEvent, values: string[], context: Dict): TreeMember[] {
    const method = EVENT_METHOD[event] ?? event;
    const unpack = (context.unpack ?? "").toLowerCase() === "true";
    const batch = new Set(values);
    const refusals: Refusal[] = [];
    const out: TreeMember[] = [];
    for (const r of this.lookup(values)) {
      if (r.state === null) continue; // the store names unknown numbers
      let covered = false;
      if (r.inParent !== null) {
        const up = this.q.up.all(r.v) as string[];
        covered = up.some((a) => batch.has(a));
        if (!covered) {
          if (unpack) this.unpackIn(tx, r.inParent, [r.v], { ...context, reason: event });
          else {
            const top = up.length ? up[up.length - 1] : r.inParent;
            refusals.push({ code: "NotTopLevel", serialNumber: r.v, reason: `${r.v} is packed in ${r.inParent}: ${event === "shipping" ? `ship the top of its hierarchy (${top})` : "unpack it first"}, or give the event context unpack=true to take it out of its parent` });
            continue;
          }
        }
      }
      if (r.asLevel === null || covered) continue;
      if (r.pendingIn !== null) {
        refusals.push({ code: "ParentInProgress", serialNumber: r.v, reason: `${r.v} waits in open builder ${r.pendingIn}` });
        continue;
      }
      const open = this.q.pendingInTree.all(r.v) as Array<{ child: string; builder: string }>;
      for (const o of open) refusals.push({ code: "ParentInProgress", serialNumber: o.child, reason: `${o.child} under ${r.v} waits in open builder ${o.builder}` });
      if (open.length) continue;
      for (const d of (this.q.down.all(r.v) as Array<{ v: string; p: string }>).slice(1)) {
        if (!batch.has(d.v)) out.push({ value: d.v, parent: d.p, root: r.v });
      }
    }
    if (refusals.length) throw refusalError(refusals, method);
    return out;
  }

  /**
   * Shipping, decommissioning or destroying a parent: the event applies to the parent and everything under it, in
   * one transaction, through the store's state guard. Only a top-level parent (in no other parent), with nothing
   * under it waiting in an open builder, may take it.
   */
  applyToTree(event: TreeEvent, parent: string, options: { actor?: string; context?: Dict } = {}): { returnStatus: "NoError"; applied: number; serialNumbers: string[] } {
    if (event !== "shipping" && event !== "decommissioning" && event !== "destroying") throw new PssError("InvalidEvent", `only shipping, decommissioning and destroying apply to a whole tree, not ${JSON.stringify(event)}`);
    serial(parent, `${event}: parent`);
    return this.store.transaction((tx) => {
      const [p] = this.lookup([parent]);
      if (p.state === null) throw new PssError("UnknownSerialNumber", `${event}: ${parent} is not in the store`, [{ serialNumber: parent, reason: "not in the store" }]);
      if (p.asLevel === null) throw new PssError("NotAParent", `${event}: ${parent} holds no children; use the single-item event for it`, [{ serialNumber: parent, reason: "not a parent" }]);
      if (p.inParent !== null) throw new PssError("NotTopLevel", `${event}: ${parent} is inside ${p.inParent}; ${event === "shipping" ? "ship the top of the hierarchy" : "unpack it first"} (${this.topOf(parent)})`, [{ serialNumber: parent, reason: `inside ${p.inParent}` }]);
      if (p.pendingIn !== null) throw new PssError("ParentInProgress", `${event}: ${parent} waits in open builder ${p.pendingIn}`, [{ serialNumber: parent, reason: `pending in builder ${p.pendingIn}` }]);
      const open = this.q.pendingInTree.all(parent) as Array<{ child: string; builder: string }>;
      if (open.length) throw new PssError("ParentInProgress", `${event}: ${open.map((o) => o.child).join(", ")} under ${parent} wait in an open builder`, open.map((o) => ({ serialNumber: o.child, reason: `pending in builder ${o.builder}` })));
      const all = [parent, ...this.descendants(parent)];
      // the store reaches the contents through treeMembers (one audit record per parent, naming it and the root)
      const r = this.store.applyEvent(event, { serialNumbers: [parent], actor: tx.actor, context: { ...(options.context ?? {}), aggregationRoot: parent } });
      return { returnStatus: "NoError" as const, applied: r.applied, serialNumbers: all };
    }, { actor: options.actor });
  }
}

const EVENT_METHOD: Partial<Record<PssEvent, string>> = { shipping: "SIDShippingEvent", decommissioning: "SIDDecommissioningEvent", destroying: "SIDDestroyingEvent" };

const byStore = new WeakMap<SqlitePoolStore, Aggregation>();

/** The one Aggregation of an open store (its tables created on first use). */
export function aggregationFor(store: SqlitePoolStore): Aggregation {
  let a = byStore.get(store);
  if (!a) byStore.set(store, (a = new Aggregation(store)));
  return a;
}
