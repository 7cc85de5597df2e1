/* Local pools that replenish from a global PostgreSQL pool (issue 17, nodes/core/store/replenish.ts): blocks drawn
   under the threshold, a transfer left half done by a crash finished on restart (both directions), unused numbers
   given back, and a line of 20,000 units that never stops while the global pool is unreachable for 30 s (a TCP proxy
   in front of PostgreSQL refuses every connection). No number is ever free in two pools. PostgreSQL is
   SERIALFLOW_TEST_PG or the embedded server (test/helpers/pg.ts); never skipped. */
import { strict as assert } from "assert";
import * as net from "net";
import * as path from "path";
import { Client } from "pg";
import { openPoolStore, verifyPoolFile, type SqlitePoolStore } from "../../nodes/core/store";
import { PgPoolEngine, quoteIdent } from "../../nodes/core/store/pg";
import { Replenisher, pgGlobalPool, type GlobalPool, type ReplenishStatus } from "../../nodes/core/store/replenish";
import { testPg, type TestPg } from "../helpers/pg";
import { tmpDir } from "../helpers/tmp";
import { until } from "../helpers/until";

const RULE = { pattern: "[A-Z0-9-]+", minLength: 1, maxLength: 40 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A TCP proxy in front of PostgreSQL that can go down: every connection cut, new ones refused. */
async function proxy(target: URL): Promise<{ url: (u: string) => string; down(): void; up(): void; close(): Promise<void> }> {
  let isDown = false;
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    if (isDown) return void client.destroy();
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    open.add(client);
    open.add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: (u) => {
      const x = new URL(u);
      x.hostname = "127.0.0.1";
      x.port = String(port);
      return x.toString();
    },
    down() {
      isDown = true;
      for (const s of open) s.destroy();
      open.clear();
    },
    up() {
      isDown = false;
    },
    close: () => new Promise<void>((r) => {
      for (const s of open) s.destroy();
      server.close(() => r());
    }),
  };
}

describe("local pools that replenish from a global PostgreSQL pool", function () {
  this.timeout(300_000);
  let pg: TestPg;
  let tmp: ReturnType<typeof tmpDir>;
  const engines: PgPoolEngine[] = [];
  const stores: SqlitePoolStore[] = [];
  let n = 0;

  before(async function () {
    pg = await testPg();
    tmp = tmpDir();
  });
  after(async function () {
    for (const e of engines) await e.close().catch(() => undefined);
    for (const s of stores) s.close();
    const c = new Client({ connectionString: pg.url });
    await c.connect();
    for (const r of (await c.query("SELECT nspname FROM pg_namespace WHERE nspname LIKE $1", [`${pg.schema}_%`])).rows as Array<{ nspname: string }>) {
      await c.query(`DROP SCHEMA ${quoteIdent(r.nspname)} CASCADE`);
    }
    await c.end();
    await pg.dispose();
    tmp.cleanup();
  });

  /** a global pool of `size` numbers, and a local pool file */
  async function setup(size: number, url = pg.url): Promise<{ engine: PgPoolEngine; schema: string; local: SqlitePoolStore; file: string; all: string[] }> {
    const schema = `${pg.schema}_r${++n}`;
    const engine = await PgPoolEngine.open({ connectionString: url, schema, pool: { max: 4 } });
    engines.push(engine);
    await engine.createPool({ poolId: "G", sidClass: "custom", serialRule: RULE, maxRequest: 10_000, maxCount: 1_000_000 });
    const all = Array.from({ length: size }, (_, i) => `GL-${String(i).padStart(6, "0")}`);
    await engine.addNumbers("G", all);
    const file = path.join(tmp.dir, `line-${n}.db`);
    const local = openPoolStore(file, { actor: "line" });
    stores.push(local);
    local.createPool({ poolId: "L", sidClass: "custom", serialRule: RULE, isDefault: true });
    return { engine, schema, local, file, all };
  }

  /** The global pool's view of every number: free there, or bound to a transfer's collection. */
  async function globalView(url: string, schema: string): Promise<{ free: Set<string>; out: Map<string, string> }> {
    const c = new Client({ connectionString: url });
    await c.connect();
    try {
      const s = quoteIdent(schema);
      const rows = (await c.query(`SELECT n.value, n.state, c.id AS coll FROM ${s}.serial_number n LEFT JOIN ${s}.sn_collection c ON c.pk = n.sn_collection`)).rows as Array<{ value: string; state: number; coll: string | null }>;
      const free = new Set<string>();
      const out = new Map<string, string>();
      for (const r of rows) {
        if (r.coll === null && (r.state === 0 || r.state === 1)) free.add(r.value);
        else if (r.coll !== null) out.set(r.value, r.coll);
      }
      return { free, out };
    } finally {
      await c.end();
    }
  }

  const localFree = (local: SqlitePoolStore): Set<string> =>
    new Set(local.db.prepare("SELECT value FROM serial_number WHERE sn_collection IS NULL AND state IN (0, 1)").pluck().all() as string[]);

  /** no number free in both pools; every local number came from the global pool and is bound there to a transfer */
  async function oneHome(url: string, schema: string, local: SqlitePoolStore): Promise<void> {
    const g = await globalView(url, schema);
    const lf = localFree(local);
    for (const v of lf) assert.ok(!g.free.has(v), `${v} is free in both pools`);
    const localAll = local.db.prepare("SELECT s.value, c.id AS coll FROM serial_number s LEFT JOIN sn_collection c ON c.pk = s.sn_collection").all() as Array<{ value: string; coll: string | null }>;
    for (const r of localAll) {
      const given = r.coll?.startsWith("TR-") && (local.db.prepare("SELECT direction FROM pool_transfer WHERE id = ?").pluck().get(r.coll) === "out");
      if (given) assert.ok(g.free.has(r.value), `${r.value} was given back but is not free in the global pool`);
      else assert.ok(g.out.get(r.value)?.startsWith("TR-"), `${r.value} is in the local pool but not bound to a transfer in the global pool`);
    }
  }

  it("draws blocks under the threshold, and gives the unused numbers back at the end of the run", async () => {
    const { engine, schema, local, file } = await setup(3_000);
    const r = new Replenisher(local, pgGlobalPool(engine, "G"), { poolId: "L", threshold: 500, block: 1_000, checkMs: 50 });
    await r.start();
    assert.equal(local.available("L"), 1_000, "one block arrived at start");
    const used = local.request("Allocated", { count: 700 }).snCollection.serialNumbers;
    local.applyEvent("sn_encoding", { serialNumbers: used });
    await until("a second block", async () => (local.available("L") === 1_300 ? true : undefined));
    await oneHome(pg.url, schema, local);
    const done = await r.finish();
    assert.equal(done.returned, 1_300);
    assert.equal(local.available("L"), 0);
    const g = await globalView(pg.url, schema);
    assert.equal(g.free.size, 3_000 - 700, "everything but the used numbers is free in the global pool again");
    for (const v of used) assert.ok(!g.free.has(v));
    await oneHome(pg.url, schema, local);
    assert.ok(verifyPoolFile(local).ok, JSON.stringify(verifyPoolFile(local)));
    assert.ok((await engine.verifyAudit()).ok);
    const st = r.status();
    assert.equal(st.received, 2_000);
    assert.equal(st.returned, 1_300);
    void file;
  });

  it("a crash between the global and the local step is resolved on restart, in both directions, without a number in two pools", async () => {
    const { engine, schema, local } = await setup(2_000);
    const real = pgGlobalPool(engine, "G");
    // the process "dies" right after the global pool has answered: the local step never runs
    let crashAfter: "draw" | "giveBack" | undefined = "draw";
    const dying: GlobalPool = {
      name: real.name,
      async draw(t, k, ctx) {
        const got = await real.draw(t, k, ctx);
        if (crashAfter === "draw") throw new Error("process killed after the global draw");
        return got;
      },
      async giveBack(t, v, ctx) {
        await real.giveBack(t, v, ctx);
        if (crashAfter === "giveBack") throw new Error("process killed after the global give-back");
      },
      stillOut: (t, v) => real.stillOut(t, v),
    };
    const first = new Replenisher(local, dying, { poolId: "L", threshold: 100, block: 400, checkMs: 60_000, retryMs: 60_000 });
    await first.start();
    await first.stop();
    assert.equal(local.available("L"), 0, "the local step did not run");
    const g1 = await globalView(pg.url, schema);
    assert.equal(g1.out.size, 400, "the global pool bound 400 numbers to the transfer");
    // restart: the asked transfer is asked again under its id: the same 400 numbers, nothing new
    crashAfter = undefined;
    const second = new Replenisher(local, dying, { poolId: "L", threshold: 100, block: 400, checkMs: 60_000 });
    await second.start();
    await second.stop();
    assert.equal(local.available("L"), 400);
    const g2 = await globalView(pg.url, schema);
    assert.equal(g2.out.size, 400, "no second block: the restart finished the first transfer");
    assert.deepEqual([...localFree(local)].sort(), [...g2.out.keys()].sort());
    // give back, dying after the global step: the restart sees the numbers free there and only records it
    crashAfter = "giveBack";
    await assert.rejects(second.finish(), /killed after the global give-back/);
    crashAfter = undefined;
    const third = new Replenisher(local, dying, { poolId: "L", threshold: 1, block: 1, checkMs: 60_000 });
    assert.deepEqual(await third.finish(), { returned: 0 }, "nothing left to give back: the restart only records the give-back");
    const g3 = await globalView(pg.url, schema);
    assert.equal(g3.free.size, 2_000, "every number free in the global pool again, given back once");
    assert.equal(local.available("L"), 0);
    assert.equal(local.db.prepare("SELECT count(*) FROM pool_transfer WHERE state = 'asked'").pluck().get(), 0);
    await oneHome(pg.url, schema, local);
    assert.ok(verifyPoolFile(local).ok);
    assert.ok((await engine.verifyAudit()).ok);
  });

  it("a line runs 20,000 units while replenishing, the global pool unreachable for 30 s in the middle: it never stops", async function () {
    const px = await proxy(new URL(pg.url));
    try {
      const { engine, schema, local } = await setup(40_000, px.url(pg.url));
      const r = new Replenisher(local, pgGlobalPool(engine, "G"), { poolId: "L", threshold: 10_000, block: 5_000, checkMs: 200, retryMs: 500, retryMaxMs: 4_000 });
      await r.start();
      await until("the buffer filled to the threshold", async () => (local.available("L") >= 10_000 ? true : undefined));
      const UNITS = 20_000;
      const PER_BLOCK = 10;
      const PERIOD_MS = 40; // 250 units/s: 80 s for the run
      const t0 = Date.now();
      const seen = new Set<string>();
      let outageStatus: ReplenishStatus | undefined;
      let outageAt = -1;
      let outageEnd = -1;
      for (let k = 0; k * PER_BLOCK < UNITS; k++) {
        const at = t0 + k * PERIOD_MS;
        if (Date.now() < at) await sleep(at - Date.now());
        if (k * PER_BLOCK === 5_000) {
          px.down();
          outageAt = Date.now();
        }
        if (outageAt > 0 && outageEnd < 0 && Date.now() - outageAt >= 30_000) {
          px.up();
          outageEnd = Date.now();
        }
        if (outageAt > 0 && outageEnd < 0 && Date.now() - outageAt > 10_000 && !outageStatus) outageStatus = r.status();
        const got = local.request("Allocated", { count: PER_BLOCK });
        assert.equal(got.returnStatus, "NoError", `the line stopped at unit ${k * PER_BLOCK}: ${local.available("L")} free locally`);
        const v = got.snCollection.serialNumbers;
        for (const x of v) {
          assert.ok(!seen.has(x), `${x} issued twice`);
          seen.add(x);
        }
        local.applyEvent("sn_encoding", { serialNumbers: v });
        local.applyEvent("commissioning", { serialNumbers: v });
      }
      assert.ok(outageAt > 0 && outageEnd - outageAt >= 30_000, `the outage lasted ${outageEnd - outageAt} ms`);
      assert.equal(seen.size, UNITS);
      // while unreachable, the status said so and how long the buffer lasts
      assert.ok(outageStatus?.unreachable, `status during the outage: ${JSON.stringify(outageStatus)}`);
      assert.ok(outageStatus!.perMinute > 0 && Number.isFinite(outageStatus!.minutesLeft) && outageStatus!.minutesLeft > 0, JSON.stringify(outageStatus));
      await until("the replenisher to reach the global pool again", async () => (r.status().unreachable ? undefined : true), 30_000);
      await r.finish();
      const g = await globalView(pg.url, schema);
      assert.equal(local.available("L"), 0, "the unused numbers left the local pool");
      assert.equal(g.free.size, 40_000 - UNITS, "and are free in the global pool again");
      for (const x of seen) assert.ok(!g.free.has(x) && g.out.get(x)?.startsWith("TR-"), `${x} used locally is bound to a transfer in the global pool`);
      await oneHome(pg.url, schema, local);
      assert.ok(verifyPoolFile(local).ok);
      assert.ok((await engine.verifyAudit()).ok);
      console.log(`      (20,000 units in ${((Date.now() - t0) / 1000).toFixed(0)} s; outage ${((outageEnd - outageAt) / 1000).toFixed(0)} s; during it: ${outageStatus!.available} free locally, ${outageStatus!.minutesLeft.toFixed(1)} minutes of production left)`);
    } finally {
      await px.close();
    }
  });
});
