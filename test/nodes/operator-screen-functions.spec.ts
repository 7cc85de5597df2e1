/* The operator screen's function nodes (examples/Operator screen.json) in Node-RED's own function node: the rejects
   counted by cause, the last documents, the alarms (pool low, a printer or camera fault, not a refusal of a PSS
   function), the pool's figures for the lot the tab names. The whole screen against a running line is tested in
   test/browser/operator-screen.spec.ts; here the cases a short demo run does not reach (faults, a low pool). */
import assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { helper } from "../helpers/red";
import { REPO_ROOT } from "../helpers/paths";

type FlowNode = { id: string; type: string; z?: string; wires?: string[][]; [k: string]: unknown };

const SCREEN = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "examples", "Operator screen.json"), "utf8")) as FlowNode[];

function functionModule(): unknown {
  const dir = path.dirname(require.resolve("@node-red/nodes/package.json", { paths: [path.dirname(require.resolve("node-red"))] }));
  return require(path.join(dir, "core", "function", "10-function.js"));
}

/** the tab and its function nodes, each output wired to a helper node "<id>-out<i>" that records what it gets */
function flow(): FlowNode[] {
  const tab = SCREEN.find((n) => n.type === "tab")!;
  const fns = SCREEN.filter((n) => n.type === "function").map((n) => ({ ...n, wires: (n.wires ?? []).map((_, i) => [`${n.id}-out${i}`]) }));
  const outs = fns.flatMap((n) => n.wires!.map((w) => ({ id: w[0], type: "helper", z: tab.id, wires: [] as string[][] })));
  return [tab, ...fns, ...outs];
}

describe("examples/Operator screen.json: its function nodes", function () {
  this.timeout(60_000);
  const got: Record<string, Array<Record<string, any>>> = {};

  beforeEach(async function () {
    await helper.startServer();
    const f = flow();
    await helper.load([functionModule()] as any, f as any);
    for (const k of Object.keys(got)) delete got[k];
    for (const n of f.filter((x) => x.type === "helper")) helper.getNode(n.id).on("input", (m: Record<string, any>) => (got[n.id] ??= []).push(m));
  });
  afterEach(async function () {
    await helper.unload();
    await helper.stopServer();
  });

  const send = (id: string, msg: Record<string, unknown>) => helper.getNode(id).receive(msg as any);
  const settle = () => new Promise((r) => setTimeout(r, 300));
  // the function node's objects come from its own realm (vm context): compared as plain JSON
  const last = (id: string): Record<string, any> | undefined => {
    const list = got[id] ?? [];
    return list.length ? (JSON.parse(JSON.stringify(list[list.length - 1])) as Record<string, any>) : undefined;
  };

  it("counts the rejects by cause: the printer's misprints, the camera's no-reads, the check's wrong codes and low grades", async function () {
    send("op-events", { payload: { serialNumbers: ["A1"], failures: [{ serialNumber: "A1", reason: "misprint" }] } });
    send("op-events", { payload: { expected: "A2", code: null, reason: "no read", serialNumbers: ["A2"] } });
    send("op-events", { reason: "grade D", payload: { serialNumbers: ["A3"], eventContext: { reason: "grade D" } } });
    send("op-events", { reason: "wrong code read", payload: { serialNumbers: ["A4"] } });
    send("op-events", { payload: { serialNumbers: ["A5"], failures: [{ serialNumber: "A5", reason: "misprint" }] } });
    await settle();
    assert.deepEqual(last("op-events-out0")?.payload, [
      { cause: "misprint", units: "2" },
      { cause: "no read", units: "1" },
      { cause: "low grade", units: "1" },
      { cause: "wrong code read", units: "1" },
    ]);
    assert.equal(got["op-events-out2"], undefined, "a reject is no alarm");
  });

  it("lists the last 5 documents sent, newest first, with their events", async function () {
    for (let i = 1; i <= 7; i++) send("op-events", { payload: { file: `/u/serialflow/demo/epcis-case-000${i}.jsonld`, events: 10 + i } });
    await settle();
    const rows = last("op-events-out1")!.payload as Array<Record<string, string>>;
    assert.deepEqual(rows.map((r) => [r.file, r.events]), [7, 6, 5, 4, 3].map((i) => [`epcis-case-000${i}.jsonld`, String(10 + i)]));
  });

  it("raises an alarm for a printer or camera fault (red status, error) and none for a PSS refusal or a green status", async function () {
    send("op-events", { status: { fill: "green", text: "printed 3 · failed 0", source: { id: "p", type: "pss-sim-printer", name: "label printer" } } });
    send("op-events", { status: { fill: "red", shape: "ring", text: "EADDRINUSE", source: { id: "p", type: "pss-sim-printer", name: "label printer" } } });
    send("op-events", { error: { message: "refused: 0pX0 is Encoded", source: { id: "c", type: "pss-sid-commissioning", name: "commissioned" } } });
    send("op-events", { error: { message: "nothing to read", source: { id: "k", type: "pss-sim-camera", name: "vision camera" } } });
    await settle();
    assert.deepEqual((got["op-events-out2"] ?? []).map((m) => [m.topic, m.payload]), [
      ["device fault", "label printer: EADDRINUSE"],
      ["device fault", "vision camera: nothing to read"],
    ]);
    // the alarms node lists them newest first and pops each up
    for (const m of got["op-events-out2"]!) send("op-alarms", { topic: m.topic, payload: m.payload });
    send("op-alarms", { topic: "pool-low", payload: { poolId: "DEMO", available: 150, threshold: 200 } });
    await settle();
    assert.deepEqual((last("op-alarms-out0")!.payload as Array<Record<string, string>>).map((r) => [r.alarm, r.text]), [
      ["pool low", "pool DEMO low: 150 free"],
      ["device fault", "vision camera: nothing to read"],
      ["device fault", "label printer: EADDRINUSE"],
    ]);
    assert.deepEqual((got["op-alarms-out1"] ?? []).map((m) => m.payload), ["label printer: EADDRINUSE", "vision camera: nothing to read", "pool DEMO low: 150 free"]);
  });

  it("computes the line rate from the PLC's Total and the minutes of production left from the pool's free numbers", async function () {
    const read = (k: Record<string, number>) => {
      for (const [name, v] of Object.entries(k)) send("op-line", { topic: `ns=1;s=SimulatedLine.${name}`, payload: v });
    };
    read({ Total: 100, Good: 95, Rejected: 4, Pending: 1 });
    await settle();
    assert.deepEqual(last("op-line-out0")!.payload, "0 units/min", "one read: no rate yet");
    // 30 more units within the first 30 s: spread over 30 s, 60 units/min
    read({ Total: 130, Good: 124, Rejected: 5, Pending: 1 });
    await settle();
    assert.deepEqual([last("op-line-out0")!.payload, last("op-line-out1")!.payload, last("op-line-out2")!.payload, last("op-line-out3")!.payload], ["60 units/min", "124", "5", 60]);
    const zero = { Unassigned: 1234, Unallocated: 0, Allocated: 0, SNInvalid: 0, Encoded: 0, LabelSampled: 0, LabelScrapped: 0, Commissioned: 0, Sampled: 0, Inactive: 0, Destroyed: 0, Released: 0 };
    const counts = { printed: 0, commissioned: 0, released: 0, scrapped: 0, sampled: 0, invalidated: 0, stillAllocated: 0, stillEncoded: 0, openParents: 0, states: zero };
    send("op-pool", { payload: { action: "reconcile", poolId: "DEMO", report: { poolId: "DEMO", pool: counts, lots: [], accountedFor: true }, status: { available: 1234, threshold: 200 } } });
    await settle();
    assert.equal(last("op-pool-out1")!.payload, "20 min at 60 units/min", "1,234 free numbers at 60 units/min: 20 whole minutes");
    assert.deepEqual(last("op-pool-out4")!.payload, [], "no counts for a lot the pool has not seen");
    assert.equal(got["op-pool-out5"], undefined, "above the threshold: no alarm");
  });

  it("shows the pool's figures for the tab's lot, says when the line is stopped, and alarms once when the pool is low", async function () {
    const zero = { Unassigned: 0, Unallocated: 0, Allocated: 0, SNInvalid: 0, Encoded: 0, LabelSampled: 0, LabelScrapped: 0, Commissioned: 0, Sampled: 0, Inactive: 0, Destroyed: 0, Released: 0 };
    const lot = (name: string, over: Record<string, number>) => ({
      lot: name, printed: 40, commissioned: 30, released: 25, scrapped: 2, sampled: 0, invalidated: 0, stillAllocated: 0, stillEncoded: 1, openParents: 1,
      states: { ...zero, Commissioned: 5, Released: 25, LabelScrapped: 2, Encoded: 1, ...over },
    });
    const report = { poolId: "DEMO", pool: lot("", { Unassigned: 150, Allocated: 3 }), lots: [lot("", {}), lot("L2026A", { Commissioned: 7 }), lot("OTHER", { Commissioned: 99 })], accountedFor: false };
    const msg = { payload: { action: "reconcile", poolId: "DEMO", report, status: { available: 150, threshold: 200 } } };
    send("op-pool", msg);
    send("op-pool", msg);
    await settle();
    assert.equal(last("op-pool-out0")!.payload, 150, "the gauge: free numbers");
    assert.equal(last("op-pool-out1")!.payload, "line stopped", "no rate read yet: no minutes left to promise");
    assert.deepEqual(last("op-pool-out2")!.payload, [
      { state: "Unassigned", count: "150" },
      { state: "Allocated", count: "3" },
      { state: "Encoded", count: "1" },
      { state: "LabelScrapped", count: "2" },
      { state: "Commissioned", count: "5" },
      { state: "Released", count: "25" },
    ]);
    assert.equal(last("op-pool-out3")!.payload, "L2026A · expiry 2028-12-31", "the lot and expiry the tab names (LOT, EXPIRY)");
    assert.deepEqual(Object.fromEntries((last("op-pool-out4")!.payload as Array<{ what: string; count: string }>).map((r) => [r.what, r.count])), {
      "labels printed": "40", "commissioned (in stock)": "7", "released (shipped)": "25", "labels scrapped": "2", "still allocated": "0", "still encoded": "1", "cases open": "1",
    });
    assert.equal((got["op-pool-out5"] ?? []).length, 1, "one alarm while the pool stays low, not one every 2 s");
    assert.equal(got["op-pool-out5"]![0].payload, "pool DEMO low: 150 free (threshold 200)");
  });
});
