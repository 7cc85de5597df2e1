/* The suite's own harness: a test that dies between load and unload (a timeout on a busy machine) must not
   fail the tests after it. Before the guard in helpers/red.ts the second load threw "already wrapped" and
   a second startServer "Cannot init without a stop". */
import assert from "node:assert/strict";
import { helper, nodeModule, nextMessage } from "../helpers/red";

describe("test harness: one failed test stays one failure", function () {
  const flow = [
    { id: "t", type: "tab", label: "harness" },
    { id: "st", z: "t", type: "pss-state-guard", name: "", pool: "", wires: [[], []] },
    { id: "out", z: "t", type: "helper" },
  ];

  after(async function () {
    await helper.unload();
    await helper.stopServer();
  });

  it("loads a flow again while the previous test left one loaded and a server running", async function () {
    await helper.startServer();
    await helper.load(nodeModule("pss-state-guard") as any, flow as any);
    // a test that timed out here never unloaded nor stopped; the next one starts over
    await helper.startServer();
    await helper.load(nodeModule("pss-state-guard") as any, flow as any);
    assert.ok(helper.getNode("out"), "the second load deployed its flow");
    const got = nextMessage("out");
    helper.getNode("out").receive({ payload: 1 });
    assert.equal((await got).payload, 1);
  });

  it("setFlows resolves once the new flow runs, however long the deploy takes", async function () {
    await helper.load(nodeModule("pss-state-guard") as any, flow as any);
    await helper.setFlows([...flow.slice(0, 2), { id: "out2", z: "t", type: "helper" }] as any, "full");
    assert.ok(helper.getNode("out2"), "the new flow is running when setFlows resolves");
  });
});
