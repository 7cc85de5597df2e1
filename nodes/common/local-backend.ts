/* PoolBackend over the local SQLite store: every call is one store transaction (a savepoint of a group commit for
   the PSS calls: SqlitePoolStore.grouped). */
import { batchReport, reconcile, retryBusy, type BatchReport, type ReconcileResult, type SqlitePoolStore } from "../core/store";
import { aggregationFor, type Aggregation } from "../core/aggregation";
import type {
  AggregationArgs, CollectionArgs, EventArgs, GuardResult, PoolBackend, PoolStatus, PushTarget, RecentEvent, RequestArgs,
  RequestResult, RequestTarget, ReturnTarget,
} from "./pool-backend";
import type { Dict } from "./args";

/** numbers generated per transaction by generate(): ~50 ms of work on the 2-core reference machine */
export const GENERATE_STEP = 5_000;

export class LocalPoolBackend implements PoolBackend {
  constructor(
    /** the open store (the pss-aggregator node builds on it) */
    readonly store: SqlitePoolStore,
    readonly poolId: string,
    /** criteria that select this pool when a message gives none */
    private readonly criteria: Dict,
    readonly maxPage: number,
    /** how long a call waits, retrying asynchronously, while another process holds the file locked */
    readonly busyWaitMs = 10_000,
  ) {
    // the hierarchy tables exist from the start, so that a refused first aggregation leaves the file as it was
    aggregationFor(store);
  }

  /** one store call; a locked file is retried with setTimeout pauses (never a synchronous wait), then PoolBusy */
  private call<T>(f: () => T): Promise<T> {
    return retryBusy(f, { file: this.store.file, maxWaitMs: this.busyWaitMs });
  }

  /** one PSS call, group-committed with the calls of the same turn of the event loop (SqlitePoolStore.grouped):
   *  answered once the commit that holds it is durable */
  private grouped<T>(f: () => T): Promise<T> {
    return this.store.grouped(f, { busyWaitMs: this.busyWaitMs });
  }

  private crit(c: Dict | undefined): Dict {
    return c && Object.keys(c).length ? c : this.criteria;
  }

  async request(target: RequestTarget, a: RequestArgs, actor: string): Promise<RequestResult> {
    const r = await this.grouped(() => this.store.request(target, {
      poolSelectionCriteria: this.crit(a.poolSelectionCriteria),
      snCollectionId: a.snCollectionId || undefined,
      count: a.count,
      snFormat: a.snFormat,
      requestToken: a.requestToken || undefined,
      actor,
      context: a.context,
    }));
    return { returnStatus: r.returnStatus, snCollection: { ...r.snCollection }, returnedRequestToken: r.returnedRequestToken };
  }

  async returnSerialNumbers(target: ReturnTarget, a: CollectionArgs, actor: string): Promise<{ returnStatus: string }> {
    const r = await this.grouped(() => this.store.returnSerialNumbers(target, { snCollection: a.snCollection, poolSelectionCriteria: this.crit(a.poolSelectionCriteria), snFormat: a.snFormat, actor, context: a.context }));
    return { returnStatus: r.returnStatus };
  }

  async pushTo(target: PushTarget, a: CollectionArgs, actor: string): Promise<{ returnStatus: string }> {
    const r = await this.grouped(() => this.store.pushTo(target, { snCollection: a.snCollection, poolSelectionCriteria: this.crit(a.poolSelectionCriteria), snFormat: a.snFormat, actor, context: a.context }));
    return { returnStatus: r.returnStatus };
  }

  async applyEvent(event: string, a: EventArgs, actor: string): Promise<{ returnStatus: string; applied: number; anomalies: number }> {
    const r = await this.grouped(() => this.store.applyEvent(event as never, {
      serialNumbers: a.serialNumbers,
      snFormat: a.snFormat,
      labelCollection: a.labelCollection,
      context: a.context,
      actor,
    }));
    return { returnStatus: r.returnStatus, applied: r.applied, anomalies: r.anomalies };
  }

  /** The hierarchy store in this pool's file (shared by every backend on the file). */
  aggregation(): Aggregation {
    return aggregationFor(this.store);
  }

  async aggregate(event: "packing" | "unpacking", a: AggregationArgs, actor: string): Promise<{ returnStatus: string }> {
    // the aggregation core checks every rule and writes the hierarchy and its audit records in one transaction
    const elements = a.elements.map((e) => ({ parent: e.parent, children: e.children, properties: e.parentProperties }));
    const r = await this.grouped(() => event === "packing"
      ? this.aggregation().pack(elements, { actor, context: a.context })
      : this.aggregation().unpackMany(elements, { actor, context: a.context }));
    return { returnStatus: r.returnStatus };
  }

  async checkEvent(event: string, serialNumbers: string[]): Promise<GuardResult> {
    return (await this.call(() => this.store.checkEvent(event as never, serialNumbers))) as GuardResult;
  }

  async status(): Promise<PoolStatus> {
    return this.call(() => {
      const pool = this.store.getPool(this.poolId);
      const counts = this.store.countByState(this.poolId) as Record<string, number>;
      const available = this.store.available(this.poolId);
      return { poolId: this.poolId, counts, available, threshold: pool?.lowThreshold ?? 0 };
    });
  }

  async serialProperties(serialNumbers: string[]): Promise<Record<string, Record<string, string>>> {
    const out: Record<string, Record<string, string>> = {};
    for (const sn of serialNumbers) {
      const props = this.store.getSerialNumber(sn)?.properties;
      if (props && Object.keys(props).length) out[sn] = props as Record<string, string>;
    }
    return out;
  }

  async recentEvents(limit: number): Promise<RecentEvent[]> {
    return this.store.recentAudit(limit, this.poolId).map((r) => {
      const e: RecentEvent = { seq: r.seq, time: r.time, actor: r.actor, event: r.event, anomaly: r.anomaly, count: r.count, serialNumbers: r.serialNumbers };
      if (r.fromState !== undefined) e.fromState = r.fromState;
      if (r.toState !== undefined) e.toState = r.toState;
      if (r.method !== undefined) e.method = r.method;
      return e;
    });
  }

  /** In steps of GENERATE_STEP numbers, one transaction each, yielding to the event loop between them: a
      million numbers never hold Node-RED (its editor, other flows) for more than one step. */
  async generate(count: number, actor: string, onProgress?: (done: number, total: number) => void): Promise<{ added: number }> {
    if (!Number.isInteger(count) || count <= GENERATE_STEP) return this.call(() => this.store.provision(this.poolId, { generate: count }, { actor }));
    let added = 0;
    while (added < count) {
      const n = Math.min(GENERATE_STEP, count - added);
      added += (await this.call(() => this.store.provision(this.poolId, { generate: n }, { actor }))).added;
      onProgress?.(added, count);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return { added };
  }

  /** Read, checked and stored in steps that yield to the event loop (store.importFileInSteps): a million-line
      authority file never holds Node-RED; nothing is stored unless the whole file is sound. */
  async importText(text: string, actor: string, onProgress?: (done: number, total: number) => void): Promise<{ added: number }> {
    return this.call(() => this.store.importFileInSteps(this.poolId, text, { actor, onProgress }));
  }

  /** pss-pool-admin "reconcile": this pool's stranded numbers (older than olderThanMs), settled when `apply`, and
      its batch report */
  async reconcile(options: { olderThanMs?: number; apply: boolean }, actor: string): Promise<{ result: ReconcileResult; report: BatchReport }> {
    return this.call(() => {
      const result = reconcile(this.store, { poolId: this.poolId, olderThanMs: options.olderThanMs, apply: options.apply, actor, context: { olderThan: `${options.olderThanMs ?? 0}ms` } });
      return { result, report: batchReport(this.store, this.poolId)[0] };
    });
  }
}
