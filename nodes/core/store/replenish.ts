/* Local pools that replenish (issue 17; the PSS's global serial number management, activities 1 and 2): a line's
   local pool (a SQLite pool file) under its threshold draws blocks of numbers from its global pool by itself, keeps
   running from its local buffer while the global pool is unreachable (retrying with backoff, its status saying how
   many minutes of production the buffer still holds), and gives back what it did not use at the end of a run.

   A number is never free in two pools. Each transfer has an id, recorded on both sides, and two steps:
   - in: (1) the local file records the transfer as asked; (2) the global pool binds up to n free numbers to a
     collection named by the transfer id (SNRequestAllocated with that snCollectionId: a repeat of the same request
     answers the same numbers, nothing new); (3) one local transaction adds the numbers (Unassigned, sn_adding with the
     transfer id in its context) and records the transfer as done. A crash after (2) leaves the transfer asked: on
     restart (3) is reached by asking again with the same id, which returns the same numbers.
   - out: (1) one local transaction binds the free local numbers of one inbound transfer to a local collection named
     by the outbound transfer id (they are no longer free here) and records the transfer as asked, with its numbers;
     (2) the global pool takes them back (SNReturnAllocated from the inbound transfer's collection: free there again);
     (3) the local file records the transfer as done. A crash after (2) is resolved on restart by asking the global
     pool whether the numbers are still bound to the inbound transfer: if not, they were given back.
   The rules stay the pools' own (rules.ts): this module only calls each pool's contract. */
import { EventEmitter } from "events";
import * as crypto from "crypto";
import { PssError } from "./errors";
import type { SqlitePoolStore } from "./index";
import type { PgPoolEngine } from "./pg";

type Dict = Record<string, string>;

/** What a local pool needs of its global pool. */
export interface GlobalPool {
  /** for messages: where the global pool is */
  readonly name: string;
  /** binds up to n free numbers to the collection `transfer` and returns them; the same call again returns the same
   *  numbers */
  draw(transfer: string, n: number, context: Dict): Promise<string[]>;
  /** gives numbers of the collection `transfer` back, free */
  giveBack(transfer: string, values: string[], context: Dict): Promise<void>;
  /** whether all of `values` are still bound to the collection `transfer` (false: given back already) */
  stillOut(transfer: string, values: string[]): Promise<boolean>;
}

/** A PostgreSQL pool as a global pool. */
export function pgGlobalPool(engine: PgPoolEngine, poolId: string): GlobalPool {
  return {
    name: `pool ${poolId} in the PostgreSQL ${engine.where}`,
    async draw(transfer, n, context) {
      const r = await engine.request("Allocated", { count: n, snCollectionId: transfer, poolSelectionCriteria: { PoolID: poolId }, context });
      return r.snCollection.serialNumbers;
    },
    async giveBack(transfer, values, context) {
      await engine.returnSerialNumbers("Allocated", { snCollection: { id: transfer, serialNumbers: values }, poolSelectionCriteria: { PoolID: poolId }, context });
    },
    async stillOut(transfer, values) {
      for (const v of values) {
        const info = await engine.getSerialNumber(v);
        if (!info || info.snCollectionId !== transfer) return false;
      }
      return true;
    },
  };
}

export interface ReplenishOptions {
  /** the local pool */
  poolId: string;
  /** a transfer is asked when fewer free numbers than this are left */
  threshold: number;
  /** numbers asked per transfer */
  block: number;
  /** who the audit logs name */
  actor?: string;
  /** how often the level is checked (ms); default 1,000 */
  checkMs?: number;
  /** the first retry after a failed transfer (ms), doubling up to retryMaxMs; default 1,000 and 30,000 */
  retryMs?: number;
  retryMaxMs?: number;
}

export interface ReplenishStatus {
  poolId: string;
  /** free numbers in the local pool */
  available: number;
  /** numbers used per minute, measured over the last minute (0 before anything was used) */
  perMinute: number;
  /** minutes of production the local buffer holds at that rate (Infinity when nothing is being used) */
  minutesLeft: number;
  /** the global pool cannot be reached (or refused): the last error, and when the next try is */
  unreachable?: { message: string; retryAt: string };
  /** numbers received and given back since start */
  received: number;
  returned: number;
}

const TRANSFER_SCHEMA = `
CREATE TABLE IF NOT EXISTS pool_transfer (
  id TEXT PRIMARY KEY,
  pool TEXT NOT NULL,
  direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
  state TEXT NOT NULL CHECK (state IN ('asked', 'done')),
  count INTEGER NOT NULL,
  numbers TEXT,
  inbound TEXT,
  global TEXT NOT NULL,
  created TEXT NOT NULL,
  done TEXT
);
CREATE TABLE IF NOT EXISTS pool_transfer_number (value TEXT PRIMARY KEY, transfer TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS pool_transfer_number_transfer ON pool_transfer_number (transfer);`;

interface TransferRow {
  id: string;
  pool: string;
  direction: "in" | "out";
  state: "asked" | "done";
  count: number;
  numbers: string | null;
  inbound: string | null;
}

/**
 * Keeps a local pool above its threshold from a global pool. start() first finishes what a crash left half done,
 * then checks the level every checkMs (and at once after a commit leaves the pool low). finish() gives the unused
 * numbers back. Events: "status" (ReplenishStatus, after every check), "error" is never emitted: failures are in
 * the status and retried.
 */
export class Replenisher extends EventEmitter {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private failures = 0;
  private nextTry = 0;
  private lastError: string | undefined;
  private received = 0;
  private returned = 0;
  private readonly samples: Array<{ t: number; used: number }> = [];
  private used = 0;
  private lastAvailable: number | undefined;
  private readonly actor: string;
  private readonly onLow = (info: { poolId: string }) => {
    if (info.poolId === this.options.poolId) this.kick();
  };

  constructor(private readonly local: SqlitePoolStore, private readonly global: GlobalPool, private readonly options: ReplenishOptions) {
    super();
    if (!Number.isInteger(options.threshold) || options.threshold < 1) throw new PssError("InvalidPool", `replenishing pool ${options.poolId}: the threshold must be a whole number of at least 1`);
    if (!Number.isInteger(options.block) || options.block < 1) throw new PssError("InvalidPool", `replenishing pool ${options.poolId}: the block must be a whole number of at least 1`);
    this.actor = options.actor ?? "serialflow-replenish";
    local.getPool(options.poolId) ?? (() => { throw new PssError("UnknownPool", `replenishing: no pool ${options.poolId} in ${local.file}`); })();
    local.transaction((tx) => tx.db.exec(TRANSFER_SCHEMA));
  }

  /** Finishes half-done transfers, then keeps the pool topped up. */
  async start(): Promise<void> {
    await this.recover();
    this.local.on("low", this.onLow);
    this.timer = setInterval(() => this.kick(), this.options.checkMs ?? 1_000);
    this.timer.unref?.();
    this.kick();
    await this.running;
  }

  /** Stops topping up (a transfer under way is finished first). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.local.removeListener("low", this.onLow);
    while (this.running) await this.running;
  }

  /** The end of a run: stops, finishes half-done transfers, then gives every free local number that came from the global pool back to it. Throws
   *  when the global pool cannot be reached (the numbers stay bound locally, given back by the next finish()). */
  async finish(): Promise<{ returned: number }> {
    await this.stop();
    // what a crash left half done first (after a restart, finish() may be the first call)
    await this.recover();
    let n = 0;
    const db = this.local.db;
    const inbound = db.prepare(`SELECT DISTINCT t.transfer FROM pool_transfer_number t JOIN serial_number s ON s.value = t.value
      WHERE s.sn_collection IS NULL AND s.state IN (0, 1)`).pluck().all() as string[];
    for (const from of inbound) n += await this.giveBack(from);
    return { returned: n };
  }

  status(): ReplenishStatus {
    const available = this.local.available(this.options.poolId);
    const now = Date.now();
    while (this.samples.length && this.samples[0].t < now - 60_000) this.samples.shift();
    const first = this.samples[0];
    const perMinute = first && now > first.t ? ((this.used - first.used) / (now - first.t)) * 60_000 : 0;
    return {
      poolId: this.options.poolId,
      available,
      perMinute,
      minutesLeft: perMinute > 0 ? available / perMinute : Infinity,
      ...(this.lastError ? { unreachable: { message: this.lastError, retryAt: new Date(this.nextTry).toISOString() } } : {}),
      received: this.received,
      returned: this.returned,
    };
  }

  private kick(): void {
    if (this.running || this.stopped) return;
    this.running = this.check().finally(() => {
      this.running = undefined;
    });
  }

  private async check(): Promise<void> {
    const available = this.local.available(this.options.poolId);
    // numbers used since the last check: what went, less what arrived (arrivals are counted in `received`)
    if (this.lastAvailable !== undefined && available < this.lastAvailable) this.used += this.lastAvailable - available;
    this.lastAvailable = available;
    this.samples.push({ t: Date.now(), used: this.used });
    if (available < this.options.threshold && Date.now() >= this.nextTry) {
      try {
        // an inbound transfer whose answer was lost (the global pool unreachable, or its commit in doubt) is asked
        // again under its own id: the global pool answers the same numbers if it had bound them
        const pending = this.local.db.prepare("SELECT id, count FROM pool_transfer WHERE pool = ? AND direction = 'in' AND state = 'asked' ORDER BY created LIMIT 1").get(this.options.poolId) as { id: string; count: number } | undefined;
        const got = pending ? await this.transferIn(pending.id, pending.count, true) : await this.transferIn(`TR-${crypto.randomUUID()}`, this.options.block);
        this.failures = 0;
        this.lastError = undefined;
        this.nextTry = 0;
        this.lastAvailable = this.local.available(this.options.poolId);
        if (got === 0) this.lastError = `the global ${this.global.name} has no free numbers left`;
      } catch (err) {
        // unreachable or refusing: keep running from the local buffer, try again later
        this.failures++;
        const wait = Math.min(this.options.retryMaxMs ?? 30_000, (this.options.retryMs ?? 1_000) * 2 ** (this.failures - 1));
        this.nextTry = Date.now() + wait;
        this.lastError = `${(err as Error).message}`;
      }
    }
    this.emit("status", this.status());
  }

  /** Finishes transfers a crash left half done (both directions), as described at the top of this file. */
  private async recover(): Promise<void> {
    const rows = this.local.db.prepare("SELECT * FROM pool_transfer WHERE pool = ? AND state = 'asked' ORDER BY created").all(this.options.poolId) as TransferRow[];
    for (const r of rows) {
      if (r.direction === "in") await this.transferIn(r.id, r.count, true);
      else await this.finishOut(r);
    }
  }

  /** Inbound transfer `id` of up to n numbers; returns how many arrived. */
  private async transferIn(id: string, n: number, again = false): Promise<number> {
    const db = this.local.db;
    if (!again) {
      db.prepare("INSERT INTO pool_transfer (id, pool, direction, state, count, global, created) VALUES (?, ?, 'in', 'asked', ?, ?, ?)")
        .run(id, this.options.poolId, n, this.global.name, new Date().toISOString());
    }
    const values = await this.global.draw(id, n, { transferTo: `${this.local.file}#${this.options.poolId}` });
    this.local.transaction(() => {
      if (values.length) {
        this.local.provision(this.options.poolId, values, { actor: this.actor, context: { transfer: id, transferFrom: this.global.name } });
        const ins = db.prepare("INSERT INTO pool_transfer_number (value, transfer) VALUES (?, ?)");
        for (const v of values) ins.run(v, id);
      }
      db.prepare("UPDATE pool_transfer SET state = 'done', count = ?, done = ? WHERE id = ?").run(values.length, new Date().toISOString(), id);
    }, { actor: this.actor });
    this.received += values.length;
    return values.length;
  }

  /** Gives the free local numbers of inbound transfer `from` back; returns how many. */
  private async giveBack(from: string): Promise<number> {
    const db = this.local.db;
    const id = `TR-${crypto.randomUUID()}`;
    let values: string[] = [];
    // step 1, one local transaction: the numbers leave the local pool's free numbers (bound to a collection named
    // by the outbound transfer, with an audit record), and the transfer is recorded with them
    this.local.transaction((tx) => {
      values = db.prepare(`SELECT s.value FROM pool_transfer_number t JOIN serial_number s ON s.value = t.value
        WHERE t.transfer = ? AND s.sn_collection IS NULL AND s.state IN (0, 1) ORDER BY s.value`).pluck().all(from) as string[];
      if (!values.length) return;
      const pool = db.prepare("SELECT pk FROM pool WHERE pool_id = ?").pluck().get(this.options.poolId) as number;
      const coll = Number(db.prepare("INSERT INTO sn_collection (id, pool, description, state, created, actor) VALUES (?, ?, ?, ?, ?, ?)")
        .run(id, pool, `numbers given back to the global ${this.global.name}`, 1, new Date().toISOString(), this.actor).lastInsertRowid);
      // Unassigned ones are provisioned first (audited): they go back as Unallocated, as the global pool gave them
      const unassigned = db.prepare("SELECT value FROM serial_number WHERE state = 0 AND value IN (SELECT value FROM json_each(?)) ORDER BY value").pluck().all(JSON.stringify(values)) as string[];
      if (unassigned.length) {
        db.prepare("INSERT INTO pool_count (pool, state, n) VALUES (?, 0, ?), (?, 1, ?) ON CONFLICT (pool, state) DO UPDATE SET n = n + excluded.n").run(pool, -unassigned.length, pool, unassigned.length);
        tx.audit({ event: "provisioning", poolId: this.options.poolId, serialNumbers: unassigned, fromState: "Unassigned", toState: "Unallocated", method: "provisioning", context: { transfer: id } });
      }
      db.prepare("UPDATE serial_number SET state = 1, sn_collection = ? WHERE value IN (SELECT value FROM json_each(?))").run(coll, JSON.stringify(values));
      tx.audit({ event: "sn_transferring", poolId: this.options.poolId, serialNumbers: values, fromState: "Unallocated", toState: "Unallocated", snCollectionId: id, context: { transfer: id, inbound: from, transferTo: this.global.name } });
      db.prepare("INSERT INTO pool_transfer (id, pool, direction, state, count, numbers, inbound, global, created) VALUES (?, ?, 'out', 'asked', ?, ?, ?, ?, ?)")
        .run(id, this.options.poolId, values.length, JSON.stringify(values), from, this.global.name, new Date().toISOString());
    }, { actor: this.actor });
    if (!values.length) return 0;
    await this.finishOut({ id, pool: this.options.poolId, direction: "out", state: "asked", count: values.length, numbers: JSON.stringify(values), inbound: from });
    return values.length;
  }

  /** Steps 2 and 3 of an outbound transfer (also after a crash: the global pool says whether step 2 happened). */
  private async finishOut(r: TransferRow): Promise<void> {
    const values = JSON.parse(r.numbers ?? "[]") as string[];
    const from = r.inbound as string;
    if (values.length && (await this.global.stillOut(from, values))) {
      await this.global.giveBack(from, values, { transferFrom: `${this.local.file}#${this.options.poolId}`, transfer: r.id });
    }
    this.local.db.prepare("UPDATE pool_transfer SET state = 'done', done = ? WHERE id = ?").run(new Date().toISOString(), r.id);
    this.returned += values.length;
  }
}

