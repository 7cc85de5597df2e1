/* Pool-low notifications over LISTEN/NOTIFY (issue 17): a draw that leaves a pool under its low threshold sends
   NOTIFY serialflow_pool_low (index.ts, notifyIfLow); every engine on the same database that called onPoolLow hears it
   on a connection of its own, kept apart from the connection pool (a listening connection cannot be shared). */
import { Client, Notification, PoolConfig } from "pg";
import { StoreError } from "../errors";
import { asPgStoreError } from "./errors";

/** The channel the engine notifies on when a draw leaves a pool under its low threshold. */
export const POOL_LOW_CHANNEL = "serialflow_pool_low";

/** What NOTIFY serialflow_pool_low carries (JSON), and what onPoolLow's callback gets. */
export interface PoolLowInfo {
  /** the schema of the pool (one database may hold several) */
  schema: string;
  pool: string;
  /** free Unallocated numbers left (what a draw can take), counted up to the threshold */
  free: number;
  threshold: number;
}

interface Subscriber {
  cb: (info: PoolLowInfo) => void;
  onError?: (err: StoreError) => void;
}

const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 30_000;

/** One listening connection per engine, shared by its onPoolLow callbacks; reconnects with backoff when it breaks. */
export class PoolLowListener {
  private client: Client | undefined;
  private connecting: Promise<void> | undefined;
  private readonly subs = new Set<Subscriber>();
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private delay = FIRST_DELAY_MS;

  constructor(private readonly config: PoolConfig, private readonly schema: string, private readonly where: string) {}

  /** Adds a subscriber; resolves when the connection listens (rejects, without keeping it, when it cannot). */
  async add(sub: Subscriber): Promise<void> {
    this.subs.add(sub);
    try {
      await this.ensure();
    } catch (err) {
      this.subs.delete(sub);
      if (this.subs.size === 0) await this.stop();
      throw err;
    }
  }

  /** Removes a subscriber; the last one closes the connection (true: this listener is done). */
  async remove(sub: Subscriber): Promise<boolean> {
    this.subs.delete(sub);
    if (this.subs.size > 0) return false;
    await this.stop();
    return true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.connecting?.catch(() => undefined);
    const c = this.client;
    this.client = undefined;
    if (c) await c.end().catch(() => undefined);
  }

  private async ensure(): Promise<void> {
    if (this.stopped) throw new StoreError("StorageError", `the pool-low listener of the PostgreSQL pool ${this.where} is stopped`);
    if (this.client) return;
    this.connecting ??= this.connect().finally(() => {
      this.connecting = undefined;
    });
    await this.connecting;
  }

  private async connect(): Promise<void> {
    const c = new Client(this.config);
    c.on("notification", (m) => this.deliver(m));
    c.on("error", (err) => this.broken(c, err));
    c.on("end", () => this.broken(c, new Error("Connection terminated")));
    try {
      await c.connect();
      await c.query(`LISTEN ${POOL_LOW_CHANNEL}`);
    } catch (err) {
      await c.end().catch(() => undefined);
      throw asPgStoreError(err, this.where, "connect");
    }
    if (this.stopped) {
      await c.end().catch(() => undefined);
      return;
    }
    this.client = c;
    this.delay = FIRST_DELAY_MS;
  }

  private broken(c: Client, err: unknown): void {
    if (this.client !== c) return; // our own end(), or a connection already replaced
    this.client = undefined;
    c.end().catch(() => undefined);
    if (this.stopped) return;
    this.report(asPgStoreError(err, this.where, "body"));
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.ensure().catch((err) => {
        this.report(err);
        this.delay = Math.min(this.delay * 2, MAX_DELAY_MS);
        this.schedule();
      });
    }, this.delay);
    // a process that has nothing else to do is not kept alive by a reconnect
    this.timer.unref();
  }

  private report(err: unknown): void {
    const e = err instanceof StoreError ? err : new StoreError("ConnectionLost", `the pool-low listener of the PostgreSQL pool ${this.where} failed: ${(err as Error)?.message ?? err}`);
    for (const s of this.subs) {
      try {
        s.onError?.(e);
      } catch {
        // a failing error handler must not stop the listener
      }
    }
  }

  private deliver(m: Notification): void {
    if (m.channel !== POOL_LOW_CHANNEL || !m.payload) return;
    let info: PoolLowInfo;
    try {
      info = JSON.parse(m.payload) as PoolLowInfo;
    } catch {
      return; // not ours (another program on the same channel)
    }
    if (info?.schema !== this.schema || typeof info.pool !== "string") return;
    for (const s of this.subs) {
      try {
        s.cb({ schema: info.schema, pool: info.pool, free: Number(info.free), threshold: Number(info.threshold) });
      } catch (err) {
        process.emitWarning(`serialflow PostgreSQL pool: a pool-low callback failed: ${(err as Error)?.message ?? err}`);
      }
    }
  }
}
