/* PoolBackend over the PostgreSQL engine (issue 17): one pool of a schema that many Node-RED instances share. Every
   call is one engine transaction running the PSS rules (nodes/core/store/rules.ts), as the pool file runs them; the
   arguments are handled as LocalPoolBackend handles them, except that an event names this pool (the numbers of an
   event must be in it). Aggregation is not built on PostgreSQL yet: aggregate() refuses with NotSupported. */
import { PssError, parseImportText, ruleCheck, type Pool, type PssErrorDetail } from "../core/store";
import type { PgPoolEngine } from "../core/store/pg";
import type {
  AggregationArgs, CollectionArgs, EventArgs, GuardResult, PoolBackend, PoolStatus, PushTarget, RecentEvent, RequestArgs,
  RequestResult, RequestTarget, ReturnTarget,
} from "./pool-backend";
import type { Dict } from "./args";

/** numbers generated per transaction by generate() (one `sn_adding` record each), and stored per import step */
export const PG_GENERATE_STEP = 20_000;
/** lines an import parses between two pauses (the event loop stays free), as the pool file's import */
const IMPORT_BLOCK = 10_000;

export interface PgBackendOptions {
  poolId: string;
  /** criteria that select this pool when a message gives none */
  criteria: Dict;
  /** the largest page one request returns (the pool's maxRequest) */
  maxPage: number;
  /** told after a call that can raise the pool's free count (returns, pushes, generate, import), for the "level"
   *  event that clears a "pool low" status; a draw that leaves the pool low is told through NOTIFY instead */
  onFreed?: () => void;
}

export class PgPoolBackend implements PoolBackend {
  readonly poolId: string;
  readonly maxPage: number;
  private readonly criteria: Dict;
  private readonly onFreed?: () => void;
  private readonly engineOf: () => Promise<PgPoolEngine>;

  /** `engine`: the open engine, or a function that gives it (the pss-pool node opens it asynchronously, and again
   *  after a failure; it throws PoolUnavailable while the server cannot be reached) */
  constructor(engine: PgPoolEngine | (() => Promise<PgPoolEngine>), options: PgBackendOptions) {
    this.engineOf = typeof engine === "function" ? engine : async () => engine;
    this.poolId = options.poolId;
    this.criteria = options.criteria;
    this.maxPage = options.maxPage;
    this.onFreed = options.onFreed;
  }

  private crit(c: Dict | undefined): Dict {
    return c && Object.keys(c).length ? c : this.criteria;
  }

  private freed(): void {
    try {
      this.onFreed?.();
    } catch {
      // a listener's failure is not the call's: it committed
    }
  }

  async request(target: RequestTarget, a: RequestArgs, actor: string): Promise<RequestResult> {
    const r = await (await this.engineOf()).request(target, {
      poolSelectionCriteria: this.crit(a.poolSelectionCriteria),
      snCollectionId: a.snCollectionId || undefined,
      count: a.count,
      snFormat: a.snFormat,
      requestToken: a.requestToken || undefined,
      actor,
      context: a.context,
    });
    return { returnStatus: r.returnStatus, snCollection: { ...r.snCollection }, returnedRequestToken: r.returnedRequestToken };
  }

  async returnSerialNumbers(target: ReturnTarget, a: CollectionArgs, actor: string): Promise<{ returnStatus: string }> {
    const r = await (await this.engineOf()).returnSerialNumbers(target, { snCollection: a.snCollection, poolSelectionCriteria: this.crit(a.poolSelectionCriteria), snFormat: a.snFormat, actor, context: a.context });
    this.freed();
    return { returnStatus: r.returnStatus };
  }

  async pushTo(target: PushTarget, a: CollectionArgs, actor: string): Promise<{ returnStatus: string }> {
    const r = await (await this.engineOf()).pushTo(target, { snCollection: a.snCollection, poolSelectionCriteria: this.crit(a.poolSelectionCriteria), snFormat: a.snFormat, actor, context: a.context });
    if (target === "Unallocated") this.freed();
    return { returnStatus: r.returnStatus };
  }

  /** One PSS event over a batch; its numbers must be in this pool (contents reached through a parent may be of
   *  another pool). */
  async applyEvent(event: string, a: EventArgs, actor: string): Promise<{ returnStatus: string; applied: number; anomalies: number }> {
    const r = await (await this.engineOf()).applyEvent(event as never, {
      serialNumbers: a.serialNumbers,
      snFormat: a.snFormat,
      labelCollection: a.labelCollection,
      context: a.context,
      actor,
      poolId: this.poolId,
    });
    return { returnStatus: r.returnStatus, applied: r.applied, anomalies: r.anomalies };
  }

  async aggregate(event: "packing" | "unpacking", _a: AggregationArgs, _actor: string): Promise<{ returnStatus: string }> {
    throw new PssError("NotSupported", `${event === "packing" ? "AggregationPackingEvent" : "AggregationUnpackingEvent"}: pool ${this.poolId} lives in PostgreSQL, where aggregation (packing and unpacking) is not built yet; nothing was changed. Packing needs a local (SQLite) pool for now: set the pss-pool of this node to mode "local"`);
  }

  async checkEvent(event: string, serialNumbers: string[]): Promise<GuardResult> {
    return (await (await this.engineOf()).checkEvent(event as never, serialNumbers)) as GuardResult;
  }

  private async pool(engine: PgPoolEngine): Promise<Pool> {
    const p = (await engine.pools()).find((x) => x.poolId === this.poolId);
    if (!p) throw new PssError("UnknownPool", `pool ${this.poolId} does not exist in the PostgreSQL ${engine.where}`);
    return p;
  }

  async status(): Promise<PoolStatus> {
    const engine = await this.engineOf();
    const pool = await this.pool(engine);
    const counts = (await engine.counts(this.poolId)) as Record<string, number>;
    const available = await engine.available(this.poolId);
    return { poolId: this.poolId, counts, available, threshold: pool.lowThreshold ?? 0 };
  }

  async serialProperties(serialNumbers: string[]): Promise<Record<string, Record<string, string>>> {
    return (await this.engineOf()).serialProperties(serialNumbers);
  }

  async recentEvents(limit: number): Promise<RecentEvent[]> {
    return (await (await this.engineOf()).recentAudit(limit, this.poolId)).map((r) => {
      const e: RecentEvent = { seq: r.seq, time: r.time, actor: r.actor, event: r.event, anomaly: r.anomaly, count: r.count, serialNumbers: r.serialNumbers };
      if (r.fromState !== undefined) e.fromState = r.fromState;
      if (r.toState !== undefined) e.toState = r.toState;
      if (r.method !== undefined) e.method = r.method;
      return e;
    });
  }

  /** In steps of PG_GENERATE_STEP numbers, one transaction and `sn_adding` record each, with progress. */
  async generate(count: number, actor: string, onProgress?: (done: number, total: number) => void): Promise<{ added: number }> {
    const engine = await this.engineOf();
    if (!Number.isInteger(count) || count <= PG_GENERATE_STEP) {
      const added = (await engine.generateNumbers(this.poolId, count, { actor })).length;
      this.freed();
      return { added };
    }
    let added = 0;
    try {
      while (added < count) {
        const n = Math.min(PG_GENERATE_STEP, count - added);
        added += (await engine.generateNumbers(this.poolId, n, { actor })).length;
        onProgress?.(added, count);
      }
    } finally {
      if (added) this.freed();
    }
    return { added };
  }

  /**
   * An authority file (one code per line) into the pool, as the pool file imports it: read and checked with the
   * store's parser for the pool's SID class (or its own serial rule) in blocks that yield to the event loop, then
   * checked as a whole (a number twice in the file, a number already stored), every bad line named; nothing is stored
   * unless the whole file is sound. Then stored in steps of PG_GENERATE_STEP numbers, one transaction and audit record
   * each (context importPart / importParts).
   */
  async importText(text: string, actor: string, onProgress?: (done: number, total: number) => void): Promise<{ added: number }> {
    const engine = await this.engineOf();
    const pool = await this.pool(engine);
    if (typeof text !== "string") throw new PssError("InvalidImportFile", "the import file must be text");
    const pause = () => new Promise<void>((resolve) => setImmediate(resolve));
    let lineCount = 1;
    for (let at = text.indexOf("\n"); at !== -1; at = text.indexOf("\n", at + 1)) lineCount++;
    const total = 3 * lineCount;
    const check = pool.serialRule ? ruleCheck(pool.serialRule) : null;
    const values: string[] = [];
    const lines: number[] = [];
    const properties: Record<string, Dict> = {};
    const bad: PssErrorDetail[] = [];
    let first = 0;
    let pos = 0;
    while (pos <= text.length && first < lineCount) {
      let end = pos;
      let n = 0;
      while (n < IMPORT_BLOCK) {
        const nl = text.indexOf("\n", end);
        if (nl === -1) {
          end = text.length;
          n = lineCount - first;
          break;
        }
        end = nl + 1;
        n++;
      }
      try {
        const r = parseImportText(text.slice(pos, end), pool.sidClass, check, undefined, first);
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
      throw new PssError("InvalidImportFile", `import file for pool ${this.poolId}: ${bad.length} bad line(s): ${bad.slice(0, 3).map((d) => d.reason).join("; ")}${bad.length > 3 ? ` and ${bad.length - 3} more` : ""}`, bad);
    }
    if (values.length === 0) throw new PssError("InvalidImportFile", `the import file for pool ${this.poolId} holds no serial number`);
    const seen = new Set<string>();
    const twice: Array<{ serialNumber: string; reason: string }> = [];
    for (let i = 0; i < values.length; i++) {
      if (seen.has(values[i])) twice.push({ serialNumber: values[i], reason: `line ${lines[i]}: ${JSON.stringify(values[i])} appears more than once in the file` });
      else seen.add(values[i]);
    }
    const lineOf = new Map<string, number>();
    for (let i = 0; i < values.length; i++) if (!lineOf.has(values[i])) lineOf.set(values[i], lines[i]);
    const stored: Array<{ serialNumber: string; reason: string }> = [];
    const unique = [...seen];
    for (let a = 0; a < unique.length; a += PG_GENERATE_STEP) {
      const there = await engine.serialNumbersStored(unique.slice(a, a + PG_GENERATE_STEP));
      for (const v of there) stored.push({ serialNumber: v, reason: `line ${lineOf.get(v)}: ${JSON.stringify(v)} is already in the store` });
    }
    for (const [code, list] of [["DuplicateInBatch", twice], ["DuplicateSerialNumber", stored]] as const) {
      if (list.length) throw new PssError(code, `import into pool ${this.poolId}: ${list.length} serial number(s) refused: ${list.slice(0, 3).map((d) => d.reason).join("; ")}${list.length > 3 ? ` and ${list.length - 3} more` : ""}`, list);
    }
    const parts = Math.ceil(values.length / PG_GENERATE_STEP);
    let added = 0;
    try {
      for (let k = 0; k < parts; k++) {
        const slice = values.slice(k * PG_GENERATE_STEP, (k + 1) * PG_GENERATE_STEP);
        let props: Record<string, Dict> | undefined;
        for (const v of slice) if (properties[v]) (props ??= {})[v] = properties[v];
        try {
          added += await engine.addNumbers(this.poolId, slice, { actor, context: { importPart: String(k + 1), importParts: String(parts) }, ...(props ? { properties: props } : {}) });
        } catch (err) {
          if (added && err instanceof Error) err.message += ` (${added} of the file's ${values.length} serial numbers were stored before this step, each step audited)`;
          throw err;
        }
        onProgress?.(2 * lineCount + Math.round((lineCount * added) / values.length), total);
      }
    } finally {
      if (added) this.freed();
    }
    onProgress?.(total, total);
    return { added };
  }
}
