/* pss-aggregator in Node-RED (test helper) over a real pool file: a three-level pallet from camera-like scans,
   partial and idle closes, bad input, a restart mid-case; and the packing/unpacking function nodes on the same core. */
import assert from "node:assert/strict";
import * as path from "path";
import { helper, allNodeModules, nextMessage, coreNodeModule } from "../helpers/red";
import { tmpDir } from "../helpers/tmp";
import { dbDigest } from "../helpers/digest";
import { until as waitFor } from "../helpers/until";
import { openPoolStore } from "../../nodes/core/store";
import { Aggregation } from "../../nodes/core/aggregation";
import { openFixture, ssccs, units, commission } from "../core/aggregation-fixture";

type Msg = Record<string, any>;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

function flow(dbFile: string, levels: unknown, extra: Record<string, unknown> = {}) {
  return [
    { id: "t", type: "tab", label: "agg" },
    { id: "pool", type: "pss-pool", mode: "local", dbFile, poolId: "UNITS", sidClass: "custom", serialPattern: ".+", serialLength: "1-128", criteria: [], guardPolicy: "strict", lowThreshold: 0, maxRequest: 100000 },
    { id: "agg", z: "t", type: "pss-aggregator", name: "", pool: "pool", builderId: "", levels: JSON.stringify(levels), idleSeconds: 0, idleClose: "", wires: [["packed"], ["refused"], ["labels"]], ...extra },
    { id: "packed", z: "t", type: "helper" },
    { id: "refused", z: "t", type: "helper" },
    { id: "labels", z: "t", type: "helper" },
    { id: "catcher", z: "t", type: "catch", scope: null, uncaught: false, wires: [["caught"]] },
    { id: "caught", z: "t", type: "helper" },
  ];
}

const modules = () => [...allNodeModules(), coreNodeModule("25-catch")] as any;

function collect(id: string): Msg[] {
  const out: Msg[] = [];
  helper.getNode(id).on("input", (m: Msg) => out.push(m));
  return out;
}

/** resolves when `list` holds n messages */
function until(list: Msg[], n: number, timeoutMs = 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const tick = () => {
      if (list.length >= n) return resolve();
      if (Date.now() - t0 > timeoutMs) return reject(new Error(`only ${list.length} of ${n} messages arrived`));
      setTimeout(tick, 5);
    };
    tick();
  });
}

describe("pss-aggregator", function () {
  let tmp: ReturnType<typeof tmpDir>;
  let dbFile: string;

  beforeEach(async function () {
    tmp = tmpDir();
    dbFile = path.join(tmp.dir, "agg.db");
    await helper.startServer();
  });
  afterEach(async function () {
    await helper.unload();
    await helper.stopServer();
    tmp.cleanup();
  });

  it("builds a pallet of 40 cases of 12 bundles of 10 units from 4,800 single scans with 1% double reads and 1% bad scans, exactly as expected", async function () {
    const U = units("U", 4800);
    const store = openFixture(dbFile, { units: 4800, ssccFree: 41, bundleFree: 480 });
    store.provision("UNITS", ["NEW000001"]);
    commission(store, "UNITS", ["DEAD00001"]);
    store.applyEvent("destroying", { serialNumbers: ["DEAD00001"] });
    store.close();
    const levels = [
      { name: "bundle", capacity: 10, parentPool: "BUNDLES", mixing: "oneGtinOneLot" },
      { name: "case", capacity: 12, parentPool: "SSCC", parentKind: "sscc", mixing: "oneGtinOneLot" },
      { name: "pallet", capacity: 40, parentPool: "SSCC", parentKind: "sscc", mixing: "oneGtin" },
    ];
    await helper.load(modules(), flow(dbFile, levels) as any);
    const packed = collect("packed");
    const refused = collect("refused");
    const labels = collect("labels");
    const caught = collect("caught");
    const r = rng(42);
    const bad = ["NOREAD", "", "NEW000001", "DEAD00001", "U0000\u00001", "XX-UNKNOWN"];
    let badCount = 0;
    let doubles = 0;
    const node = helper.getNode("agg");
    for (let i = 0; i < U.length; i++) {
      node.receive({ payload: U[i], seq: i });
      if (r() < 0.01) {
        node.receive({ payload: U[i] });
        doubles++;
      }
      if (r() < 0.01) {
        node.receive({ payload: bad[badCount % bad.length] });
        badCount++;
      }
    }
    await until(packed, 480 + 40 + 1);
    await until(refused, badCount);
    assert.ok(doubles >= 20 && badCount >= 20, `enough faults injected (${doubles} double reads, ${badCount} bad scans)`);
    assert.deepEqual(caught.map((m) => m.error?.message), [], "no errors");
    assert.equal(refused.length, badCount);
    assert.deepEqual(new Set(refused.map((m) => m.payload.code)), new Set(["UnknownSerialNumber", "InvalidSerialNumber", "NotCommissioned", "Destroyed"]));
    assert.ok(refused.every((m) => typeof m.payload.reason === "string" && m.payload.reason.length > 10));
    assert.deepEqual(packed.map((m) => m.payload.level).filter((l, i, a) => a.indexOf(l) === i), ["bundle", "case", "pallet"]);
    assert.equal(labels.length, packed.length);
    assert.deepEqual(labels.map((m) => m.payload.serialNumber), packed.map((m) => m.payload.aggregationElement[0].parent));
    // the hierarchy in the file is exactly the expected one
    const check = openPoolStore(dbFile);
    try {
      const agg = new Aggregation(check);
      const pallet = packed[packed.length - 1].payload.aggregationElement[0].parent;
      assert.equal(packed[packed.length - 1].payload.level, "pallet");
      const cases = agg.childrenOf(pallet);
      assert.equal(cases.length, 40);
      const bundleMsgs = packed.filter((m) => m.payload.level === "bundle").map((m) => m.payload.aggregationElement[0]);
      const caseMsgs = packed.filter((m) => m.payload.level === "case").map((m) => m.payload.aggregationElement[0]);
      bundleMsgs.forEach((b: { parent: string; children: string[] }, k: number) => {
        assert.deepEqual(b.children, U.slice(k * 10, k * 10 + 10), `bundle ${k} holds units ${k * 10}..${k * 10 + 9} in scan order`);
        assert.deepEqual(agg.childrenOf(b.parent), [...b.children].sort());
      });
      caseMsgs.forEach((c: { parent: string; children: string[] }, j: number) => {
        assert.deepEqual(c.children, bundleMsgs.slice(j * 12, j * 12 + 12).map((b: { parent: string }) => b.parent));
        assert.deepEqual(agg.childrenOf(c.parent), [...c.children].sort());
        assert.deepEqual(agg.pathToTop(c.parent), [pallet]);
      });
      assert.deepEqual([...cases].sort(), caseMsgs.map((c: { parent: string }) => c.parent).sort());
      const all = agg.descendants(pallet);
      assert.equal(all.length, 40 + 480 + 4800);
      assert.deepEqual(all.filter((s) => s.startsWith("U")).sort(), U);
      // one packing audit record per parent, its children the direct ones
      const packingRecs = [...check.auditRecords()].filter((a) => a.event === "packing");
      assert.equal(packingRecs.length, 521);
      assert.equal(check.verifyAudit().ok, true);
    } finally {
      check.close();
    }
  });

  it("closes a partial parent by message and after the idle time; closing with nothing open is a status note (no error, nothing stored)", async function () {
    const store = openFixture(dbFile, { units: 30, ssccFree: 10 });
    store.close();
    const levels = [{ name: "case", capacity: 12, parentPool: "SSCC", parentKind: "sscc" }];
    await helper.load(modules(), flow(dbFile, levels, { idleSeconds: 0.3 }) as any);
    const packed = collect("packed");
    const labels = collect("labels");
    const node = helper.getNode("agg");
    for (const u of units("U", 3)) node.receive({ payload: u });
    node.receive({ payload: { close: true }, tag: "end of batch" });
    await until(packed, 1);
    assert.deepEqual(packed[0].payload.aggregationElement[0].children, units("U", 3));
    assert.equal(packed[0].payload.full, false);
    assert.equal(packed[0].tag, "end of batch");
    assert.equal(labels[0].payload.level, "case");
    // nothing open: closing is a normal moment on a line, a status note, not an error; nothing is sent or stored
    const before = dbDigest(dbFile);
    const caught = collect("caught");
    const seen: Msg[] = [];
    const orig = (node as any).status.bind(node);
    (node as any).status = (st: Msg) => {
      seen.push(st);
      return orig(st);
    };
    node.receive({ payload: { close: "case" }, tag: "again" });
    await waitFor("the status after the close", () => (seen.length ? true : undefined));
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(caught.map((m) => m.error), [], "no error reaches the Catch node");
    assert.equal(seen.at(-1)?.fill, "blue");
    assert.match(String(seen.at(-1)?.text), /^nothing to close/);
    assert.equal(packed.length, 1);
    assert.equal(dbDigest(dbFile), before);
    // idle: two scans, then silence closes the partial case by itself
    node.receive({ payload: "U000010" });
    node.receive({ payload: "U000011" });
    await until(packed, 2);
    assert.deepEqual(packed[1].payload.aggregationElement[0].children, ["U000010", "U000011"]);
  });

  it("a serialized homogeneous case asks for its label with the lot and expiry of its contents; an SSCC pallet with none", async function () {
    const store = openFixture(dbFile, { units: 10, ssccFree: 2, bundleFree: 4 });
    store.close();
    const levels = [
      { name: "case", capacity: 3, parentPool: "BUNDLES", parentKind: "serial", mixing: "oneGtinOneLot" },
      { name: "pallet", capacity: 2, parentPool: "SSCC", parentKind: "sscc", mixing: "oneGtin" },
    ];
    await helper.load(modules(), flow(dbFile, levels) as any);
    const labels = collect("labels");
    const node = helper.getNode("agg");
    for (const u of units("U", 6)) node.receive({ payload: u });
    await until(labels, 3);
    assert.deepEqual(labels.map((m) => [m.payload.level, m.payload.poolId, m.payload.lot, m.payload.expiry]), [
      ["case", "BUNDLES", "L1", "271231"], ["case", "BUNDLES", "L1", "271231"], ["pallet", "SSCC", undefined, undefined],
    ]);
  });

  it("bad messages go to the Catch node with their code; remove takes a waiting unit out", async function () {
    const store = openFixture(dbFile, { units: 30, ssccFree: 10 });
    store.close();
    await helper.load(modules(), flow(dbFile, [{ name: "case", capacity: 3, parentPool: "SSCC" }]) as any);
    const node = helper.getNode("agg");
    const packed = collect("packed");
    for (const [payload, code] of [[{}, "InvalidArgument"], [{ close: 5 }, "InvalidArgument"], [{ close: "pallet" }, "UnknownLevel"], [{ remove: "U000001" }, "NotInParent"], [null, "InvalidArgument"]] as const) {
      const err = nextMessage("caught");
      node.receive({ payload });
      assert.equal((await err).error.code, code, JSON.stringify(payload));
    }
    node.receive({ payload: "U000001" });
    node.receive({ payload: "U000002" });
    const removed = nextMessage("packed");
    node.receive({ payload: { remove: "U000001" } });
    assert.deepEqual((await removed).payload, { removed: "U000001", level: "case" });
    node.receive({ payload: "U000003" });
    node.receive({ payload: "U000004" });
    await until(packed, 2);
    assert.deepEqual(packed[1].payload.aggregationElement[0].children, ["U000002", "U000003", "U000004"]);
  });

  it("finishes the same case after Node-RED is stopped mid-case and started again on the same file", async function () {
    const store = openFixture(dbFile, { units: 30, ssccFree: 10 });
    store.close();
    const levels = [{ name: "case", capacity: 10, parentPool: "SSCC", parentKind: "sscc" }];
    const U = units("U", 10);
    await helper.load(modules(), flow(dbFile, levels) as any);
    for (const u of U.slice(0, 4)) helper.getNode("agg").receive({ payload: u });
    // a redeploy keeps them too
    await helper.setFlows(flow(dbFile, levels) as any, "full");
    for (const u of U.slice(4, 6)) helper.getNode("agg").receive({ payload: u });
    await new Promise((r) => setTimeout(r, 50));
    await helper.unload();
    await helper.stopServer();
    await helper.startServer();
    await helper.load(modules(), flow(dbFile, levels) as any);
    const packed = collect("packed");
    const refused = collect("refused");
    helper.getNode("agg").receive({ payload: U[5] }); // the camera reads the last one again after the restart
    for (const u of U.slice(6)) helper.getNode("agg").receive({ payload: u });
    await until(packed, 1);
    assert.deepEqual(packed[0].payload.aggregationElement[0].children, U);
    assert.equal(packed[0].payload.full, true);
    assert.equal(refused.length, 0);
  });

  it("the packing and unpacking function nodes build and take apart a real hierarchy on the same core", async function () {
    const store = openFixture(dbFile, { units: 10 });
    const S = ssccs(0, 3);
    commission(store, "SSCC", S);
    store.close();
    await helper.load(modules(), ([
      { id: "t", type: "tab", label: "fn" },
      { id: "pool", type: "pss-pool", mode: "local", dbFile, poolId: "UNITS", sidClass: "custom", serialPattern: ".+", serialLength: "1-128", criteria: [], guardPolicy: "strict", lowThreshold: 0, maxRequest: 1000 },
      { id: "pack", z: "t", type: "pss-aggregation-packing", pool: "pool", snFormat: "SERIALONLY", snCollectionId: "", context: "", wires: [["out"]] },
      { id: "unpack", z: "t", type: "pss-aggregation-unpacking", pool: "pool", snFormat: "SERIALONLY", snCollectionId: "", context: "", wires: [["out"]] },
      { id: "out", z: "t", type: "helper" },
      { id: "catcher", z: "t", type: "catch", scope: null, uncaught: false, wires: [["caught"]] },
      { id: "caught", z: "t", type: "helper" },
    ] as any));
    const ok = nextMessage("out");
    helper.getNode("pack").receive({ payload: { parent: S[0], children: units("U", 4) } });
    assert.equal((await ok).payload.returnStatus, "NoError");
    const again = nextMessage("caught");
    helper.getNode("pack").receive({ payload: { parent: S[1], children: ["U000003"] } });
    assert.equal((await again).error.code, "AlreadyPacked");
    const cycle = nextMessage("caught");
    helper.getNode("pack").receive({ payload: { parent: "U000000", children: [S[0]] } });
    assert.equal((await cycle).error.code, "Cycle");
    const wrong = nextMessage("caught");
    helper.getNode("unpack").receive({ payload: { parent: S[0], children: ["U000005"] } });
    assert.equal((await wrong).error.code, "NotInParent");
    const un = nextMessage("out");
    helper.getNode("unpack").receive({ payload: { parent: S[0], children: ["U000001"] } });
    assert.equal((await un).payload.returnStatus, "NoError");
    await helper.unload();
    const check = openPoolStore(dbFile);
    try {
      const agg = new Aggregation(check);
      assert.deepEqual(agg.childrenOf(S[0]), ["U000000", "U000002", "U000003"]);
      assert.equal(agg.parentOf("U000001"), undefined);
    } finally {
      check.close();
    }
  });
});
