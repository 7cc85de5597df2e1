/* 50 full redeploys of a flow that uses one pool file: every deploy closes the store it opened (no open file
   handles left behind), and no state is lost across them. */
import assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { helper, allNodeModules, nextMessage } from "../helpers/red";
import { tmpDir } from "../helpers/tmp";
import { openPoolStore } from "../../nodes/core/store";
import { openStoreFiles } from "../../nodes/common/stores";

const POOL = "RD";

/** file descriptors of this process open on `file` (or its -wal/-shm companions) */
function openHandles(file: string): number {
  let n = 0;
  for (const fd of fs.readdirSync("/proc/self/fd")) {
    try {
      if (fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith(file)) n++;
    } catch {
      // the fd closed while we looked
    }
  }
  return n;
}

describe("redeploys of a flow with a pool", function () {
  let tmp: ReturnType<typeof tmpDir>;
  let dbFile: string;

  before(async function () {
    tmp = tmpDir();
    dbFile = path.join(tmp.dir, "redeploy.db");
    const store = openPoolStore(dbFile);
    store.createPool({ poolId: POOL, sidClass: "GS1-SGTIN", selectionCriteria: { PoolID: POOL } });
    store.provision(POOL, Array.from({ length: 200 }, (_, i) => `RD${String(i).padStart(6, "0")}`));
    store.close();
    await helper.startServer();
  });

  after(async function () {
    await helper.stopServer();
    tmp.cleanup();
  });

  it("50 redeploys leave one open store while deployed, none after, and every number handed out once", async function () {
    const flow = (label: string) => [
      { id: "t", type: "tab", label },
      { id: "pool", type: "pss-pool", mode: "local", dbFile, poolId: POOL, sidClass: "GS1-SGTIN", criteria: [], guardPolicy: "strict", lowThreshold: 0, maxRequest: 100 },
      { id: "req", z: "t", type: "pss-sn-request-allocated", name: "", pool: "pool", count: 2, snFormat: "SERIALONLY", snCollectionId: "", wires: [["out"]] },
      { id: "out", z: "t", type: "helper" },
    ];
    await helper.load(allNodeModules() as any, flow("deploy 0"));
    const handed: string[] = [];
    const baseline = openHandles(dbFile);
    for (let i = 1; i <= 50; i++) {
      await helper.setFlows(flow(`deploy ${i}`) as any, "full");
      assert.deepEqual(openStoreFiles(), [path.resolve(dbFile)], `deploy ${i}: exactly one open store`);
      assert.ok(openHandles(dbFile) <= baseline, `deploy ${i}: handles do not grow (${openHandles(dbFile)} > ${baseline})`);
      const got = nextMessage("out");
      helper.getNode("req").receive({ payload: {} });
      handed.push(...(await got).payload.snCollection.serialNumbers);
    }
    await helper.unload();
    assert.deepEqual(openStoreFiles(), [], "the last close closed the store");
    assert.equal(openHandles(dbFile), 0, "no file handle left on the pool file");
    assert.equal(handed.length, 100);
    assert.equal(new Set(handed).size, 100, "no number handed out twice across redeploys");
    const store = openPoolStore(dbFile);
    try {
      const counts = store.countByState(POOL) as Record<string, number>;
      assert.equal(counts.Allocated, 100);
      assert.equal(counts.Unassigned, 100);
      assert.equal(store.verifyAudit().ok, true);
    } finally {
      store.close();
    }
  });
});
