/* Generating a million numbers from the editor (pss-pool-admin, action generate) never freezes Node-RED: the
   work runs in steps that yield to the event loop, HTTP requests to the same process keep being answered while it
   runs (a probe every 20 ms: blocked, it would get one answer before and one after), and the node's status shows
   the progress. No timing is asserted (the suite runs on busy machines): the slowest answer is only printed. Before, one synchronous transaction held the event
   loop for the whole generation (~6 s idle, far more on a busy machine). */
import assert from "node:assert/strict";
import * as http from "http";
import * as path from "path";
import type { AddressInfo } from "net";
import { helper, nodeModule, nextMessage } from "../helpers/red";
import { tmpDir } from "../helpers/tmp";
import { openPoolStore } from "../../nodes/core/store";

const COUNT = 1_000_000;

/** GET /settings every 20 ms until stopped: how many answers and the slowest one, in ms. */
function probeSettings(port: number): { stop(): Promise<{ worst: number; answered: number }> } {
  let worst = 0;
  let answered = 0;
  let finished = false;
  const run = (async () => {
    while (!finished) {
      const t0 = Date.now();
      // a refused or reset connection (a busy machine's backlog) is not an answer, and not a failure of the test
      const ok = await new Promise<boolean>((resolve) => {
        http.get({ host: "127.0.0.1", port, path: "/settings" }, (res) => res.resume().on("end", () => resolve(true)).on("error", () => resolve(false))).on("error", () => resolve(false));
      });
      if (ok) {
        worst = Math.max(worst, Date.now() - t0);
        answered++;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    async stop() {
      finished = true;
      await run;
      return { worst, answered };
    },
  };
}

describe("pss-pool-admin: generating or importing a million numbers keeps Node-RED answering", function () {
  let tmp: ReturnType<typeof tmpDir>;
  let server: http.Server;
  before(async function () {
    tmp = tmpDir();
    server = http.createServer((_req, res) => res.end("{}"));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  });
  after(async function () {
    await helper.unload();
    await new Promise((r) => server.close(r));
    tmp.cleanup();
  });

  it(`generates ${COUNT.toLocaleString("en")} numbers; GET /settings keeps being answered throughout; the status shows progress`, async function () {
    this.timeout(15 * 60_000);
    const dbFile = path.join(tmp.dir, "pool.db");
    await helper.load([nodeModule("pss-pool"), nodeModule("pss-pool-admin")] as any, [
      { id: "t", type: "tab", label: "generate" },
      { id: "pool", type: "pss-pool", name: "", mode: "local", dbFile, poolId: "BIG", sidClass: "GS1-SGTIN", criteria: [], guardPolicy: "strict", lowThreshold: 0, maxRequest: 10000 },
      { id: "admin", z: "t", type: "pss-pool-admin", name: "", pool: "pool", action: "generate", count: COUNT, wires: [["out"], []] },
      { id: "out", z: "t", type: "helper" },
    ] as any);
    const admin = helper.getNode("admin") as any;
    const statuses: string[] = [];
    admin.on("call:status", (call: { args: [{ text?: string }] }) => statuses.push(String(call.args[0]?.text ?? "")));
    const probe = probeSettings((server.address() as AddressInfo).port);
    const got = nextMessage("out", 14 * 60_000);
    admin.receive({ payload: {} });
    const msg = await got;
    const { worst, answered } = await probe.stop();
    assert.equal(msg.payload.added, COUNT);
    assert.ok(answered >= 10, `Node-RED kept answering during the generation (${answered} answers; one synchronous transaction would allow 2)`);
    console.log(`      (${answered} answers during the generation, the slowest in ${worst} ms)`);
    const progress = statuses.filter((s) => /^generating [\d,]+ \/ 1,000,000/.test(s));
    assert.ok(progress.length >= 3, `the status showed progress: ${JSON.stringify(statuses.slice(0, 5))}`);
    await helper.unload();
    const store = openPoolStore(dbFile);
    try {
      assert.equal(store.countByState("BIG").Unassigned, COUNT);
    } finally {
      store.close();
    }
  });

  it(`imports a ${COUNT.toLocaleString("en")}-line authority file; GET /settings keeps being answered throughout; the status shows progress`, async function () {
    this.timeout(15 * 60_000);
    const dbFile = path.join(tmp.dir, "import.db");
    await helper.load([nodeModule("pss-pool"), nodeModule("pss-pool-admin")] as any, [
      { id: "t", type: "tab", label: "import" },
      { id: "pool", type: "pss-pool", name: "", mode: "local", dbFile, poolId: "ORDER", sidClass: "GS1-SGTIN", criteria: [], guardPolicy: "strict", lowThreshold: 0, maxRequest: 10000 },
      { id: "admin", z: "t", type: "pss-pool-admin", name: "", pool: "pool", action: "import", wires: [["out"], []] },
      { id: "out", z: "t", type: "helper" },
    ] as any);
    const admin = helper.getNode("admin") as any;
    const statuses: string[] = [];
    admin.on("call:status", (call: { args: [{ text?: string }] }) => statuses.push(String(call.args[0]?.text ?? "")));
    const text = Array.from({ length: COUNT }, (_, i) => `ORD${String(i).padStart(9, "0")}`).join("\n");
    const probe = probeSettings((server.address() as AddressInfo).port);
    const got = nextMessage("out", 14 * 60_000);
    admin.receive({ payload: { data: text } });
    const msg = await got;
    const { worst, answered } = await probe.stop();
    assert.equal(msg.payload.added, COUNT);
    assert.ok(answered >= 10, `Node-RED kept answering during the import (${answered} answers; one synchronous transaction would allow 2)`);
    console.log(`      (${answered} answers during the import, the slowest in ${worst} ms)`);
    const progress = statuses.filter((s) => /^importing … \d+%/.test(s));
    assert.ok(progress.length >= 3, `the status showed progress: ${JSON.stringify(statuses.slice(0, 5))}`);
    await helper.unload();
    const store = openPoolStore(dbFile);
    try {
      assert.equal(store.countByState("ORDER").Unassigned, COUNT);
      assert.equal(store.verifyAudit().ok, true);
    } finally {
      store.close();
    }
  });
});
