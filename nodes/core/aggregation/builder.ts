/* The live builder: one scan at a time, as a camera sends them. Children wait in agg_pending (in the pool file,
   so a restart finds them); a full parent closes itself: its identifier is drawn from the level's pool, encoded
   and commissioned, the children are packed into it (audited), and it waits as a child of the next level. */
import * as crypto from "crypto";
import { PssError, type Dict, type StoreTransaction } from "../store";
import { Aggregation, checkLevels, combine, mixingProblem, type AggregationLevel, type LotAndExpiry, type Refusal } from "./hierarchy";

export interface ClosedParent {
  level: string;
  parent: string;
  children: string[];
  /** closed because it was full (false: closed partial by a message or the idle time) */
  full: boolean;
  parentPool: string;
  /** a serialized homogeneous parent (parentKind "serial", mixing oneGtinOneLot): the lot and expiry of its
   *  contents, which its commissioning carries (and so its label and its EPCIS ILMD) */
  lot?: string;
  expiry?: string;
}

export interface OpenLevel {
  level: string;
  capacity: number;
  count: number;
}

export interface ScanResult {
  status: "added" | "duplicate" | "refused";
  serialNumber: string;
  /** refused: the rule's code and the reason */
  code?: string;
  reason?: string;
  closed: ClosedParent[];
  open: OpenLevel[];
}

interface PendingRow {
  child: string;
  level: number;
  gtin: string;
  lot: string;
}

export class AggregationBuilder {
  readonly levels: AggregationLevel[];
  private readonly q: ReturnType<AggregationBuilder["prepare"]>;

  constructor(readonly agg: Aggregation, readonly id: string, levels: AggregationLevel[], private readonly options: { actor?: string; context?: Dict } = {}) {
    if (typeof id !== "string" || !id || id.length > 200) throw new PssError("InvalidArgument", "a builder needs an id (1 to 200 characters)");
    this.levels = checkLevels(levels);
    if (this.levels.length === 0) throw new PssError("InvalidLevel", `builder ${id}: give at least one level`);
    for (const l of this.levels) {
      const poolId = l.parentPools?.[0];
      if (!poolId) throw new PssError("InvalidLevel", `builder ${id}: level ${l.name} names no parent pool to draw its parents from`);
      for (const p of l.parentPools ?? []) if (!agg.store.getPool(p)) throw new PssError("UnknownPool", `builder ${id}: level ${l.name} draws parents from pool ${p}, which is not in this file`);
    }
    this.q = this.prepare();
    agg.store.transaction(() => {
      const counts = this.q.counts.all(id) as Array<{ level: number; n: number }>;
      for (const c of counts) {
        const l = this.levels[c.level];
        if (!l || c.n > l.capacity) {
          throw new PssError("BuilderChanged", `builder ${id} has ${c.n} children waiting at level ${c.level + 1}, which the new levels ${l ? `cap at ${l.capacity}` : "do not have"}: close or discard them with the old configuration first`);
        }
      }
      this.q.upsert.run(id, JSON.stringify(this.levels), new Date().toISOString());
    });
  }

  private prepare() {
    const db = this.agg.db;
    return {
      upsert: db.prepare(`INSERT INTO agg_builder (id, levels, last_closed, updated) VALUES (?, ?, '[]', ?)
        ON CONFLICT (id) DO UPDATE SET levels = excluded.levels, updated = excluded.updated`),
      counts: db.prepare("SELECT level, count(*) AS n FROM agg_pending WHERE builder = ? GROUP BY level"),
      pendingAt: db.prepare("SELECT child FROM agg_pending WHERE builder = ? AND level = ? ORDER BY pos").pluck(),
      contents: db.prepare("SELECT DISTINCT level, gtin, lot FROM agg_pending WHERE builder = ?"),
      nextPos: db.prepare("SELECT coalesce(max(pos), 0) + 1 FROM agg_pending WHERE builder = ? AND level = ?").pluck(),
      insert: db.prepare("INSERT INTO agg_pending (child, builder, level, pos, gtin, lot) VALUES (?, ?, ?, ?, ?, ?)"),
      clearLevel: db.prepare("DELETE FROM agg_pending WHERE builder = ? AND level = ?"),
      clearAll: db.prepare("DELETE FROM agg_pending WHERE builder = ?"),
      removeOne: db.prepare("DELETE FROM agg_pending WHERE builder = ? AND child = ? RETURNING level").pluck(),
      lastClosed: db.prepare("SELECT last_closed FROM agg_builder WHERE id = ?").pluck(),
      setLastClosed: db.prepare("UPDATE agg_builder SET last_closed = ?, updated = ? WHERE id = ?"),
    };
  }

  private actor(actor?: string): string | undefined {
    return actor ?? this.options.actor;
  }

  /** Children waiting at each level. */
  open(): OpenLevel[] {
    const counts = new Map((this.q.counts.all(this.id) as Array<{ level: number; n: number }>).map((c) => [c.level, c.n]));
    return this.levels.map((l, i) => ({ level: l.name, capacity: l.capacity, count: counts.get(i) ?? 0 }));
  }

  /** The children waiting at a level, in scan order. */
  pending(level: string | number = 0): string[] {
    const i = typeof level === "number" ? level : this.levelIndex(level);
    return this.q.pendingAt.all(this.id, i) as string[];
  }

  private levelIndex(name: string): number {
    const i = this.levels.findIndex((l) => l.name === name);
    if (i < 0) throw new PssError("UnknownLevel", `builder ${this.id} has no level ${JSON.stringify(name)} (levels: ${this.levels.map((l) => l.name).join(", ")})`);
    return i;
  }

  private lastClosed(): string[] {
    return JSON.parse((this.q.lastClosed.get(this.id) as string | undefined) ?? "[]") as string[];
  }

  /** One scan of a unit. Double reads are reported as "duplicate", refusals as "refused" with the rule: neither changes anything. */
  scan(raw: unknown, options: { actor?: string } = {}): ScanResult {
    const value = typeof raw === "string" ? raw.trim() : raw;
    const refused = (code: string, reason: string): ScanResult => ({ status: "refused", serialNumber: String(value), code, reason, closed: [], open: this.open() });
    if (typeof value !== "string" || !value || value.length > 256 || /[\u0000-\u001f\u007f]/.test(value)) {
      return refused("InvalidSerialNumber", `the scan ${JSON.stringify(typeof value === "string" ? value.slice(0, 40) : value)} is not a serial number (empty, too long, or with control characters)`);
    }
    return this.agg.store.transaction((tx) => {
      const [r] = this.agg.lookup([value]);
      if ((r.pendingIn === this.id && r.asLevel === null) || (r.inParent !== null && r.inParent === this.lastClosed()[0])) {
        return { status: "duplicate" as const, serialNumber: value, closed: [], open: this.open() };
      }
      const sr = this.agg.stateRefusal(r, "packing", "scanned");
      if (sr) return refused(sr.code, sr.reason);
      if (r.inParent !== null) return refused("AlreadyPacked", `${value} is already inside ${r.inParent}`);
      if (r.asLevel !== null) return refused("WrongChildLevel", `${value} is a packed ${r.asLevel}, not a unit: a ${this.levels[0].name} holds units`);
      if (r.pendingIn !== null) return refused("AlreadyInProgress", `${value} is being packed by builder ${r.pendingIn}`);
      const cc = this.agg.content(r);
      const contents = this.q.contents.all(this.id) as PendingRow[];
      for (let i = 0; i < this.levels.length; i++) {
        const L = this.levels[i];
        let c = cc;
        for (const p of contents) if (p.level <= i) c = combine(c, p);
        const problem = mixingProblem(L.mixing, c);
        if (problem) return refused("MixingRefused", `${value} (GTIN ${cc.gtin}, lot ${cc.lot || "unknown"}) would give the open ${L.name} ${problem}; a ${L.name} is ${L.mixing}: close it first`);
      }
      this.q.insert.run(value, this.id, 0, this.q.nextPos.get(this.id, 0), cc.gtin, cc.lot);
      const closed = this.pending(0).length >= this.levels[0].capacity ? this.closeLevel(tx, 0, true) : [];
      return { status: "added" as const, serialNumber: value, closed, open: this.open() };
    }, { actor: this.actor(options.actor) });
  }

  /**
   * Close partial parents: `level` closes the open parent of that level (lower levels close into it first);
   * "all" closes everything up to the top; no level closes the lowest open parent. Nothing open -> EmptyParent.
   */
  close(level?: string, options: { actor?: string } = {}): ClosedParent[] {
    return this.agg.store.transaction((tx) => {
      const open = this.open();
      let target: number;
      if (level === "all") target = this.levels.length - 1;
      else if (level !== undefined && level !== "") target = this.levelIndex(level);
      else {
        target = open.findIndex((o) => o.count > 0);
        if (target < 0) throw new PssError("EmptyParent", `builder ${this.id}: nothing to close, no parent is open`);
      }
      if (!open.slice(0, target + 1).some((o) => o.count > 0)) {
        throw new PssError("EmptyParent", `builder ${this.id}: the open ${this.levels[target].name} is empty${target > 0 ? ` and so is every level below it` : ""}: nothing to close`);
      }
      const closed: ClosedParent[] = [];
      for (let i = 0; i <= target; i++) {
        if (this.pending(i).length > 0) closed.push(...this.closeLevel(tx, i, false));
      }
      return closed;
    }, { actor: this.actor(options.actor) });
  }

  /** Take a waiting child out of its open parent (a unit pulled off the line before its parent closed). */
  remove(value: string, options: { actor?: string } = {}): { removed: string; level: string } {
    return this.agg.store.transaction(() => {
      const lvl = this.q.removeOne.get(this.id, value) as number | undefined;
      if (lvl === undefined) throw new PssError("NotInParent", `builder ${this.id}: ${value} is not waiting in an open parent of this builder`, [{ serialNumber: String(value), reason: "not pending here" }]);
      return { removed: value, level: this.levels[lvl]?.name ?? String(lvl) };
    }, { actor: this.actor(options.actor) });
  }

  /** Drop every waiting child (nothing was packed yet: no audit record is needed); returns how many. */
  discard(): number {
    return this.agg.store.transaction(() => this.q.clearAll.run(this.id).changes);
  }

  private closeLevel(tx: StoreTransaction, i: number, full: boolean): ClosedParent[] {
    const L = this.levels[i];
    const children = this.pending(i);
    if (children.length === 0) throw new PssError("EmptyParent", `builder ${this.id}: the open ${L.name} is empty`);
    const poolId = (L.parentPools as string[])[0];
    const context: Dict = { ...(this.options.context ?? {}), builder: this.id, level: L.name };
    // a homogeneous parent with a serialized GTIN (a US DSCSA case) is a product identifier of its own: GTIN, serial,
    // lot and expiry. Its commissioning takes the one lot and expiry of its contents; an SSCC carries none
    const ident = L.parentKind === "serial" && L.mixing === "oneGtinOneLot" ? this.agg.lotAndExpiryOf(children) : {};
    const parent = this.drawParent(tx, poolId, L.name, context, ident);
    this.agg.packIn(tx, [{ parent, children }], { context, lv: { level: L, childLevel: i === 0 ? null : this.levels[i - 1].name }, ownPending: this.id });
    this.q.clearLevel.run(this.id, i);
    const last = this.lastClosed();
    last[i] = parent;
    this.q.setLastClosed.run(JSON.stringify(last), new Date().toISOString(), this.id);
    const closed: ClosedParent[] = [{ level: L.name, parent, children, full, parentPool: poolId, ...ident }];
    if (i + 1 < this.levels.length) {
      const info = this.agg.parentInfo(parent);
      this.q.insert.run(parent, this.id, i + 1, this.q.nextPos.get(this.id, i + 1), info?.gtin ?? "*", info?.lot ?? "*");
      if (this.pending(i + 1).length >= this.levels[i + 1].capacity) closed.push(...this.closeLevel(tx, i + 1, true));
    }
    return closed;
  }

  /** The next parent identifier of a level: drawn from its pool, encoded and commissioned (all audited). The lot and
   *  expiry of a homogeneous serialized parent go on its commissioning twice: in the event context (the EPCIS ILMD) and
   *  as its label collection's properties (stored with the number: a parent of the next level finds them there). */
  private drawParent(tx: StoreTransaction, poolId: string, level: string, context: Dict, ident: LotAndExpiry = {}): string {
    const store = this.agg.store;
    // a collection per draw: a request repeated with a collection id returns the numbers it got the first time
    const got = store.request("Allocated", { poolSelectionCriteria: { PoolID: poolId }, count: 1, snCollectionId: `AGG-${this.id}-${poolId}-${crypto.randomUUID()}`, actor: tx.actor, context }).snCollection.serialNumbers;
    if (got.length !== 1) throw new PssError("InsufficientSerialNumbers", `builder ${this.id}: pool ${poolId} has no free serial number for the next ${level}`);
    store.applyEvent("sn_encoding", { serialNumbers: got, poolId, actor: tx.actor, context });
    const props: Dict = {};
    if (ident.lot !== undefined) props.lot = ident.lot;
    if (ident.expiry !== undefined) props.expiry = ident.expiry;
    const withIdent = Object.keys(props).length > 0;
    store.applyEvent("commissioning", { serialNumbers: got, poolId, actor: tx.actor, context: withIdent ? { ...context, ...props } : context, ...(withIdent ? { labelCollection: { properties: props } } : {}) });
    return got[0];
  }
}

export type { Refusal };
