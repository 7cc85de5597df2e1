/* The OPEN-SCS backend of a pss-opcua-server node: the pools it exposes (local pss-pool nodes, possibly in
   several files), and only those. Requests, returns and pushes go to the exposed pool the
   PoolSelectionCriteria select; events and aggregations to the pool of their serial numbers. Each call is
   one transaction of one store, through the core StoreBackend; a storage fault is a StoreError (storageCall). */
import { StoreBackend, storageCall } from "../core/opcua";
import type { OpenScsBackend, StoreLike, EventName, AggregationElementIn, RequestResult } from "../core/opcua";
import { PssError } from "../core/store";
import type { SqlitePoolStore } from "../core/store";
import type { Dict } from "./args";

export interface ExposedPool {
  store: SqlitePoolStore;
  /** the store's file (pools of one file share one store) */
  dbFile: string;
  poolId: string;
  sidClass: string;
  /** the criteria that select the pool (PoolID included) */
  criteria: Dict;
  maxRequest: number;
}

const matches = (p: ExposedPool, c: Dict): boolean =>
  Object.keys(c).every((k) => p.criteria[k] === c[k] || (k === "PoolID" && c[k] === p.poolId && p.criteria[k] === undefined));

/** The store seen through the pools of it that are exposed. */
class ExposedStore implements StoreLike {
  constructor(private readonly store: SqlitePoolStore, private readonly pools: ExposedPool[], private readonly wholeStore: boolean) {}

  listPools() {
    const ids = new Set(this.pools.map((p) => p.poolId));
    return this.store.listPools().filter((p) => ids.has(p.poolId));
  }

  // requests, returns and pushes arrive pinned to one exposed pool by ExposedPoolsBackend.route
  request(target: Parameters<StoreLike["request"]>[0], a: Parameters<StoreLike["request"]>[1]) {
    return this.store.request(target, a);
  }

  returnSerialNumbers(target: Parameters<StoreLike["returnSerialNumbers"]>[0], a: Parameters<StoreLike["returnSerialNumbers"]>[1]) {
    return this.store.returnSerialNumbers(target, a);
  }

  pushTo(target: Parameters<StoreLike["pushTo"]>[0], a: Parameters<StoreLike["pushTo"]>[1]) {
    return this.store.pushTo(target, a);
  }

  // aggregation and EPCISStream work on the file itself, limited to the exposed pools
  poolFile() {
    return { store: this.store, pools: this.wholeStore ? undefined : this.pools.map((p) => p.poolId) };
  }

  applyEvent(event: string, a: Parameters<StoreLike["applyEvent"]>[1]) {
    if (this.wholeStore) return this.store.applyEvent(event as never, a);
    // only numbers of an exposed pool: the store refuses a batch with numbers of another pool
    const first = a.serialNumbers.length ? a.serialNumbers[0] : a.labelCollection?.labels?.[0]?.id;
    const info = first === undefined ? undefined : this.store.getSerialNumber(first);
    if (!info || !this.pools.some((p) => p.poolId === info.poolId)) {
      throw new PssError("UnknownSerialNumber", `${event}: serial number ${JSON.stringify(first)} is not in an exposed pool`, first === undefined ? undefined : [{ serialNumber: first, reason: "not in an exposed pool" }]);
    }
    return this.store.applyEvent(event as never, { ...a, poolId: info.poolId });
  }
}

/** OpenScsBackend over the exposed pools of a pss-opcua-server node. */
export class ExposedPoolsBackend implements OpenScsBackend {
  private readonly backends = new Map<SqlitePoolStore, StoreBackend>();

  /** `pools` in the node's order: with no criteria, a call goes to the first one */
  constructor(private readonly pools: ExposedPool[]) {
    if (pools.length === 0) throw new Error("no pool to expose");
    for (const p of pools) {
      if (this.backends.has(p.store)) continue;
      const mine = pools.filter((x) => x.store === p.store);
      const wholeStore = p.store.listPools().every((sp) => mine.some((x) => x.poolId === sp.poolId));
      this.backends.set(p.store, new StoreBackend(new ExposedStore(p.store, mine, wholeStore)));
    }
  }

  /** The exposed pool the criteria select (empty criteria: the first exposed pool). */
  select(criteria: Dict): ExposedPool {
    const keys = Object.keys(criteria);
    if (keys.length === 0) return this.pools[0];
    const hits = this.pools.filter((p) => matches(p, criteria));
    const shown = keys.map((k) => `${k}=${criteria[k]}`).join(", ");
    if (hits.length === 0) throw new PssError("InvalidSelectionCriteria", `no exposed pool matches the selection criteria ${shown}`);
    if (hits.length > 1) throw new PssError("InvalidSelectionCriteria", `the selection criteria ${shown} match several exposed pools (${hits.map((p) => p.poolId).join(", ")})`);
    return hits[0];
  }

  /** the backend of the pool's store, and criteria that select exactly that pool in it */
  private route(criteria: Dict): { backend: StoreBackend; criteria: Dict } {
    const p = this.select(criteria);
    const stored = p.store.getPool(p.poolId);
    if (!stored) throw new PssError("InvalidSelectionCriteria", `pool ${p.poolId} no longer exists in ${p.dbFile}`);
    return { backend: this.backends.get(p.store) as StoreBackend, criteria: { PoolID: stored.selectionCriteria?.PoolID ?? p.poolId } };
  }

  /** the backend of the store that holds the first of these serial numbers in an exposed pool */
  private holder(serialNumbers: string[]): StoreBackend {
    const first = serialNumbers[0];
    if (this.backends.size === 1 || first === undefined) return this.backends.values().next().value as StoreBackend;
    for (const p of this.pools) {
      const info = p.store.getSerialNumber(first);
      if (info && info.poolId === p.poolId) return this.backends.get(p.store) as StoreBackend;
    }
    throw new PssError("UnknownSerialNumber", `serial number ${JSON.stringify(first)} is not in an exposed pool`, [{ serialNumber: first, reason: "not in an exposed pool" }]);
  }

  request(target: Parameters<OpenScsBackend["request"]>[0], a: Parameters<OpenScsBackend["request"]>[1]): Promise<RequestResult> {
    return storageCall(() => {
      const r = this.route(a.poolSelectionCriteria);
      return r.backend.request(target, { ...a, poolSelectionCriteria: r.criteria });
    });
  }

  returnSerialNumbers(target: Parameters<OpenScsBackend["returnSerialNumbers"]>[0], a: Parameters<OpenScsBackend["returnSerialNumbers"]>[1]): Promise<{ returnStatus: string }> {
    return storageCall(() => {
      const r = this.route(a.poolSelectionCriteria);
      return r.backend.returnSerialNumbers(target, { ...a, poolSelectionCriteria: r.criteria });
    });
  }

  pushTo(target: Parameters<OpenScsBackend["pushTo"]>[0], a: Parameters<OpenScsBackend["pushTo"]>[1]): Promise<{ returnStatus: string }> {
    return storageCall(() => {
      const r = this.route(a.poolSelectionCriteria);
      return r.backend.pushTo(target, { ...a, poolSelectionCriteria: r.criteria });
    });
  }

  applyEvent(event: EventName, a: Parameters<OpenScsBackend["applyEvent"]>[1]): Promise<{ returnStatus: string }> {
    const serials = a.serialNumbers.length ? a.serialNumbers : a.labelCollection?.labelCollection.map((l) => l.id) ?? [];
    return storageCall(() => this.holder(serials).applyEvent(event, a));
  }

  aggregate(event: "packing" | "unpacking", a: { elements: AggregationElementIn[]; parentSnFormat: string; packedElementSnFormat: string; context: Dict; actor: string }): Promise<{ returnStatus: string }> {
    return storageCall(() => this.holder(a.elements.map((e) => e.parent)).aggregate(event, a));
  }

  /** EPCISStream: into the exposed pool named by the eventContext's PoolID, else the first exposed pool. */
  acceptEpcis(document: Buffer, a: { options: Dict; actor: string }): Promise<{ returnStatus: string }> {
    const id = a.options["context.PoolID"];
    const p = id ? this.pools.find((x) => x.poolId === id) : this.pools[0];
    if (!p) return Promise.reject(new PssError("InvalidSelectionCriteria", `EPCISStream: pool ${String(id)} is not exposed by this server`));
    return (this.backends.get(p.store) as StoreBackend).acceptEpcis(document, a);
  }

  describe(): { pools: Array<{ poolId: string; sidClass: string; selectionCriteria: Dict; maxRequest?: number }> } {
    return { pools: this.pools.map((p) => ({ poolId: p.poolId, sidClass: p.sidClass, selectionCriteria: p.criteria, maxRequest: p.maxRequest })) };
  }
}
