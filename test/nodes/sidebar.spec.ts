/* The Serialization sidebar's admin endpoint: each deployed pool's counts by state and its last audit events,
   behind the pss-pool.read permission. */
import assert from "node:assert/strict";
import * as path from "path";
import { helper, nodeModule, allNodeModules, nextMessage } from "../helpers/red";
import { tmpDir } from "../helpers/tmp";
import sidebarPlugin, { registerSidebarApi, SIDEBAR_PERMISSION } from "../../nodes/pss-sidebar/pss-sidebar";
import type { NodeAPI } from "../../nodes/common/red";

describe("Serialization sidebar endpoint (GET /serialflow/pools)", function () {
  let tmp: ReturnType<typeof tmpDir>;
  beforeEach(async function () {
    tmp = tmpDir();
    await helper.startServer();
  });
  afterEach(async function () {
    await helper.unload();
    await helper.stopServer();
    tmp.cleanup();
  });

  const flow = (dbFile: string) => [
    { id: "t", type: "tab" },
    { id: "poolA", type: "pss-pool", name: "line A", mode: "local", dbFile, poolId: "A", sidClass: "GS1-SGTIN", criteria: [], guardPolicy: "strict", lowThreshold: 0, maxRequest: 100 },
    { id: "poolB", type: "pss-pool", name: "", mode: "local", dbFile: "", poolId: "B", sidClass: "GS1-SGTIN", criteria: [], guardPolicy: "strict", lowThreshold: 50, maxRequest: 100 },
    { id: "push", z: "t", type: "pss-sn-to-unallocated", name: "", pool: "poolA", snFormat: "SERIALONLY", snCollectionId: "", context: "", wires: [["req"]] },
    { id: "req", z: "t", type: "pss-sn-request-allocated", name: "", pool: "poolA", count: 3, snFormat: "SERIALONLY", snCollectionId: "", wires: [["out"]] },
    { id: "out", z: "t", type: "helper" },
  ];

  it("lists every pool with its counts by state and its newest events first", async function () {
    helper.settings({ userDir: tmp.dir });
    await helper.load([...allNodeModules(), sidebarPlugin] as any, flow(path.join(tmp.dir, "a.db")));
    const got = nextMessage("out");
    helper.getNode("push").receive({ payload: { serialNumbers: ["A1", "A2", "A3", "A4", "A5", "A6", "A7"] } });
    await got;
    const r = await helper.request().get("/serialflow/pools?events=3").expect(200);
    const pools = r.body.pools as Array<Record<string, any>>;
    assert.deepEqual(pools.map((p) => [p.id, p.poolId, p.name]), [["poolA", "A", "line A"], ["poolB", "B", ""]]);
    const a = pools[0];
    assert.equal(a.status.counts.Allocated, 3);
    assert.equal(a.status.counts.Unallocated, 4);
    assert.equal(a.status.available, 4);
    assert.equal(a.events.length, 3);
    assert.ok(a.events[0].seq > a.events[1].seq && a.events[1].seq > a.events[2].seq, "newest first");
    assert.equal(a.events[0].event, "sn_allocating");
    assert.equal(a.events[0].count, 3);
    assert.ok(a.events.every((e: { serialNumbers: string[] }) => e.serialNumbers.length <= 5));
    const b = pools[1];
    assert.equal(b.status.available, 0);
    assert.equal(b.status.threshold, 50);
    assert.ok(b.events.every((e: { event: string }) => e.event === "pool_creating"), "pool B's own events only");
  });

  it("reports a pool that could not open without hiding the others, and refuses a bad events count", async function () {
    helper.settings({ userDir: tmp.dir });
    const f = flow(path.join(tmp.dir, "a.db"));
    // a file that is a folder cannot be opened
    (f[2] as Record<string, unknown>).dbFile = tmp.dir;
    await helper.load([...allNodeModules(), sidebarPlugin] as any, f);
    const r = await helper.request().get("/serialflow/pools?events=0").expect(200);
    assert.equal(r.body.pools.length, 2);
    assert.match(r.body.pools.find((p: { id: string }) => p.id === "poolB").error, /not available/);
    assert.ok(r.body.pools.find((p: { id: string }) => p.id === "poolA").status);
    assert.equal(r.body.pools[0].events, undefined, "events=0 leaves the events out");
    const bad = await helper.request().get("/serialflow/pools?events=abc").expect(400);
    assert.equal(bad.body.error, "InvalidArgument");
  });

  it("is registered behind the pss-pool.read permission", async function () {
    // the test helper's needsPermission lets everything through; this RED checks the permission the route asks for
    const asked: string[] = [];
    const guarded = (RED: NodeAPI) =>
      registerSidebarApi({
        ...RED,
        httpAdmin: RED.httpAdmin,
        auth: {
          needsPermission: (p: string) => {
            asked.push(p);
            return (req: { headers: Record<string, string> }, res: { status(n: number): { end(): void } }, next: () => void) =>
              (req.headers["x-test-permissions"] ?? "").split(",").includes(p) ? next() : res.status(401).end();
          },
        },
      } as unknown as NodeAPI);
    helper.settings({ userDir: tmp.dir });
    await helper.load([nodeModule("pss-pool"), guarded] as any, [{ id: "p", type: "pss-pool", mode: "local", dbFile: "x.db", poolId: "X", sidClass: "GS1-SGTIN" }] as any);
    assert.deepEqual(asked, [SIDEBAR_PERMISSION]);
    assert.equal(SIDEBAR_PERMISSION, "pss-pool.read");
    await helper.request().get("/serialflow/pools").expect(401);
    await helper.request().get("/serialflow/pools").set("x-test-permissions", "flows.read").expect(401);
    const ok = await helper.request().get("/serialflow/pools").set("x-test-permissions", "pss-pool.read").expect(200);
    assert.equal(ok.body.pools[0].poolId, "X");
  });
});
