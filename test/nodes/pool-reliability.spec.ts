import assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { spawn, ChildProcess } from "child_process";
import Database from "better-sqlite3";
import { helper, nodeModule, nextMessage, coreNodeModule } from "../helpers/red";
import { tmpDir } from "../helpers/tmp";
import { openPoolStore } from "../../nodes/core/store";

const LOCKER = path.resolve(__dirname, "..", "core", "fixtures", "lock-worker.js");
const POOL = "LINE1";

async function lockFile(file: string, ms: number): Promise<{ child: ChildProcess; released: Promise<unknown> }> {
  const child = spawn(process.execPath, [LOCKER, file, String(ms)], { stdio: ["ignore", "pipe", "pipe"] });
  const released = new Promise((r) => child.once("exit", r));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once("data", () => resolve());
    child.once("exit", (code) => reject(new Error(`lock worker exited early with ${code}`)));
  });
  return { child, released };
}

/** The longest gap between ticks of a 20 ms interval: how long the event loop was frozen at most. */
function lagMeter(): { stop: () => number } {
  let last = Date.now();
  let worst = 0;
  const t = setInterval(() => {
    const now = Date.now();
    worst = Math.max(worst, now - last);
    last = now;
  }, 20);
  return {
    stop: () => {
      clearInterval(t);
      return Math.max(worst, Date.now() - last);
    },
  };
}

function flow(dbFile: string, pool: Record<string, unknown> = {}) {
  return [
    { id: "f1", type: "tab", label: "test" },
    { id: "pool", type: "pss-pool", name: "", mode: "local", dbFile, poolId: POOL, sidClass: "custom", serialPattern: ".+", serialLength: "1-128", criteria: [], guardPolicy: "strict", lowThreshold: 0, maxRequest: 10000, ...pool },
    { id: "req", z: "f1", type: "pss-sn-request-allocated", name: "", pool: "pool", count: 3, snFormat: "SERIALONLY", snCollectionId: "", wires: [["out"]] },
    { id: "enc", z: "f1", type: "pss-labels-encoding", name: "", pool: "pool", snFormat: "SERIALONLY", snCollectionId: "", context: "", wires: [["out"]] },
    { id: "admin", z: "f1", type: "pss-pool-admin", name: "", pool: "pool", action: "status", count: 10, olderThan: "", wires: [["out"], []] },
    { id: "out", z: "f1", type: "helper" },
    { id: "catcher", z: "f1", type: "catch", scope: null, uncaught: false, wires: [["caught"]] },
    { id: "caught", z: "f1", type: "helper" },
  ];
}

describe("pss-pool under faults (issue 13): locked file, full disk, foreign file, retries, reconcile", function () {
  this.timeout(120_000);
  let tmp: ReturnType<typeof tmpDir>;
  let dbFile: string;
  const modules = () => [nodeModule("pss-pool"), nodeModule("pss-sn-request-allocated"), nodeModule("pss-labels-encoding"), nodeModule("pss-pool-admin"), coreNodeModule("25-catch")] as any;

  beforeEach(async function () {
    tmp = tmpDir();
    dbFile = path.join(tmp.dir, "pool.db");
    const store = openPoolStore(dbFile);
    store.createPool({ poolId: POOL, sidClass: "custom", serialRule: { pattern: ".+", minLength: 1, maxLength: 128 }, selectionCriteria: { PoolID: POOL } });
    store.provision(POOL, Array.from({ length: 100 }, (_, i) => `SN${String(i).padStart(4, "0")}`));
    store.close();
    await helper.startServer();
  });

  afterEach(async function () {
    await helper.unload();
    await helper.stopServer();
    tmp.cleanup();
  });

  it("a file locked by another process for 4 s: the request waits without freezing Node-RED and succeeds once released", async function () {
    await helper.load(modules(), flow(dbFile));
    const lock = await lockFile(dbFile, 4_000);
    const lag = lagMeter();
    try {
      const got = nextMessage("out", 60_000);
      helper.getNode("req").receive({ payload: { count: 3 } });
      const msg = await got;
      assert.equal(msg.payload.snCollection.serialNumbers.length, 3);
    } finally {
      const worst = lag.stop();
      await lock.released;
      assert.ok(worst < 1_000, `the event loop stalled ${worst} ms while the file was locked (a synchronous busy wait)`);
    }
  });

  it("a file locked longer than the pool's busy wait: PoolBusy to the Catch node, logged, nothing changed, Node-RED responsive", async function () {
    await helper.load(modules(), flow(dbFile, { busyWaitMs: 1_500 }));
    const lock = await lockFile(dbFile, 6_000);
    const lag = lagMeter();
    try {
      const caught = nextMessage("caught", 60_000);
      helper.getNode("req").receive({ payload: { count: 3 } });
      const msg = await caught;
      assert.equal(msg.error.code, "PoolBusy");
      assert.match(msg.error.message, /locked by another connection or process.*still locked after/);
      const logged = (helper.log().args as unknown[][]).some((a) => typeof a[0] === "object" && (a[0] as { level?: number }).level === 20 && /locked/.test(String((a[0] as { msg?: unknown }).msg)));
      assert.ok(logged, `the error is in Node-RED's log: ${JSON.stringify(helper.log().args.map((a: unknown[]) => a[0]))}`);
    } finally {
      const worst = lag.stop();
      await lock.released;
      assert.ok(worst < 1_000, `the event loop stalled ${worst} ms`);
    }
    const status = nextMessage("out", 30_000);
    helper.getNode("admin").receive({ payload: { action: "status" } });
    assert.equal((await status).payload.status.counts.Allocated, 0, "nothing was allocated");
  });

  it("a full disk: DiskFull to the Catch node, the store unchanged", async function () {
    await helper.load(modules(), flow(dbFile));
    const store = (helper.getNode("pool") as any).getBackend().store as ReturnType<typeof openPoolStore>;
    store.db.pragma(`max_page_count = ${store.db.pragma("page_count", { simple: true })}`);
    const head = store.verifyAudit();
    const caught = nextMessage("caught", 30_000);
    helper.getNode("admin").receive({ payload: { action: "generate", count: 50_000 } });
    const msg = await caught;
    assert.equal(msg.error.code, "DiskFull");
    assert.deepEqual(store.verifyAudit(), head);
    assert.equal(store.countByState(POOL).Unassigned, 100);
  });

  it("another application's SQLite file: pss-pool refuses it (its users show red NotAPoolFile) and leaves it byte-identical", async function () {
    const foreign = path.join(tmp.dir, "erp.db");
    const db = new Database(foreign);
    db.exec("CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT); INSERT INTO orders (item) VALUES ('x')");
    db.close();
    const before = fs.readFileSync(foreign);
    await helper.load(modules(), flow(foreign));
    const req = helper.getNode("req") as any;
    assert.equal((helper.getNode("pool") as any).failure.code, "NotAPoolFile");
    // the status each user of the pool set at deploy
    const calls = ((helper as any)._NodePrototype.status.getCalls() as Array<{ thisValue: { id: string }; args: unknown[] }>);
    for (const id of ["req", "enc", "admin"]) {
      const last = calls.filter((c) => c.thisValue.id === id).at(-1);
      assert.deepEqual(last?.args[0], { fill: "red", shape: "ring", text: "NotAPoolFile" }, id);
    }
    const caught = nextMessage("caught", 30_000);
    req.receive({ payload: { count: 3 } });
    const msg = await caught;
    assert.equal(msg.error.code, "PoolUnavailable");
    assert.match(msg.error.message, /not a SerialFlow pool file/);
    await helper.unload();
    assert.deepEqual(fs.readFileSync(foreign), before);
    assert.deepEqual(fs.readdirSync(tmp.dir).sort(), ["erp.db", "pool.db"]);
  });

  it("a request retried with the same snCollectionId (its answer was lost) returns the same numbers", async function () {
    await helper.load(modules(), flow(dbFile));
    const first = nextMessage("out");
    helper.getNode("req").receive({ payload: { count: 4, snCollectionId: "WO-1001" } });
    const a = (await first).payload.snCollection.serialNumbers;
    const second = nextMessage("out");
    helper.getNode("req").receive({ payload: { count: 4, snCollectionId: "WO-1001" } });
    assert.deepEqual((await second).payload.snCollection.serialNumbers, a);
    const caught = nextMessage("caught");
    helper.getNode("req").receive({ payload: { count: 5, snCollectionId: "WO-1001" } });
    const err = await caught;
    assert.equal(err.error.code, "InvalidSerialNumberCollection");
    assert.match(err.error.message, /requested already with count 4/);
    const status = nextMessage("out");
    helper.getNode("admin").receive({ payload: { action: "status" } });
    assert.equal((await status).payload.status.counts.Allocated, 4);
  });

  it("pss-pool-admin reconcile lists stranded numbers with the batch report, and with apply settles them", async function () {
    await helper.load(modules(), flow(dbFile));
    const first = nextMessage("out");
    helper.getNode("req").receive({ payload: { count: 4, snCollectionId: "WO-1" } });
    const a = (await first).payload.snCollection.serialNumbers as string[];
    const enc = nextMessage("out");
    helper.getNode("enc").receive({ payload: { serialNumbers: a.slice(0, 1) } });
    await enc;
    const listed = nextMessage("out");
    helper.getNode("admin").receive({ payload: { action: "reconcile" } });
    const l = (await listed).payload;
    assert.deepEqual([l.applied, l.stranded, l.invalidated, l.report.accountedFor], [false, 4, 0, false]);
    assert.equal(l.status.counts.Allocated, 3, "listing changes nothing");
    const applied = nextMessage("out");
    helper.getNode("admin").receive({ payload: { action: "reconcile", apply: true } });
    const r = (await applied).payload;
    assert.deepEqual([r.applied, r.invalidated, r.scrapped, r.report.accountedFor, r.report.pool.invalidated, r.report.pool.scrapped], [true, 3, 1, true, 3, 1]);
    const bad = nextMessage("caught");
    helper.getNode("admin").receive({ payload: { action: "reconcile", olderThan: "soon" } });
    assert.equal((await bad).error.code, "InvalidArgument");
  });
});
