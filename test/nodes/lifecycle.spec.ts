/* A serial number driven through the PSS lifecycle across nodes: request → encode → commission → pack → ship,
   with the stored states checked at each step, and refused transitions reaching a Catch node. */
import assert from "node:assert/strict";
import * as path from "path";
import { helper, allNodeModules, nextMessage, coreNodeModule } from "../helpers/red";
import { tmpDir } from "../helpers/tmp";
import { dbDigest } from "../helpers/digest";
import { openPoolStore } from "../../nodes/core/store";

const POOL = "LC";

function flow(dbFile: string) {
  const f = (id: string, type: string, extra: Record<string, unknown> = {}) => ({
    id, z: "t", type, name: "", pool: "pool", snFormat: "SERIALONLY", snCollectionId: "", context: "", wires: [[`${id}-out`]], ...extra,
  });
  const out = (id: string) => ({ id: `${id}-out`, z: "t", type: "helper" });
  const steps = [
    f("req", "pss-sn-request-allocated", { count: 12 }),
    f("enc", "pss-labels-encoding", { context: JSON.stringify({ lot: "L1", expiry: "281231" }) }),
    f("com", "pss-sid-commissioning", { context: JSON.stringify({ lot: "L1", expiry: "281231" }) }),
    f("scrap", "pss-labels-scrapping"),
    f("pack", "pss-aggregation-packing"),
    f("ship", "pss-sid-shipping"),
    f("destroy", "pss-sid-destroying"),
  ];
  return [
    { id: "t", type: "tab", label: "lifecycle" },
    { id: "pool", type: "pss-pool", mode: "local", dbFile, poolId: POOL, sidClass: "GS1-SGTIN", criteria: [], guardPolicy: "strict", lowThreshold: 0, maxRequest: 5 },
    ...steps,
    ...steps.map((s) => out(s.id)),
    { id: "catcher", z: "t", type: "catch", scope: null, uncaught: false, wires: [["caught"]] },
    { id: "caught", z: "t", type: "helper" },
  ];
}

async function call(id: string, payload: unknown): Promise<Record<string, any>> {
  const got = nextMessage(`${id}-out`);
  helper.getNode(id).receive({ payload });
  return got;
}

async function refused(id: string, payload: unknown): Promise<Record<string, any>> {
  const got = nextMessage("caught");
  helper.getNode(id).receive({ payload });
  return got;
}

describe("PSS lifecycle across nodes (request → encode → commission → pack → ship)", function () {
  let tmp: ReturnType<typeof tmpDir>;
  let dbFile: string;

  beforeEach(async function () {
    tmp = tmpDir();
    dbFile = path.join(tmp.dir, "lc.db");
    const store = openPoolStore(dbFile);
    store.createPool({ poolId: POOL, sidClass: "GS1-SGTIN", selectionCriteria: { PoolID: POOL } });
    store.provision(POOL, Array.from({ length: 40 }, (_, i) => `LC${String(i).padStart(5, "0")}`));
    store.close();
    await helper.startServer();
    await helper.load([...allNodeModules(), coreNodeModule("25-catch")] as any, flow(dbFile));
  });

  afterEach(async function () {
    await helper.unload();
    await helper.stopServer();
    tmp.cleanup();
  });

  function states(serials: string[]): string[] {
    const store = openPoolStore(dbFile);
    try {
      return serials.map((s) => store.getSerialNumber(s)?.state ?? "missing");
    } finally {
      store.close();
    }
  }

  it("drives 12 numbers to Released, chaining each node's output into the next, with the states stored at every step", async function () {
    // the request pages itself: 12 numbers through a pool whose page size is 5
    const r = await call("req", { count: 12 });
    assert.equal(r.payload.returnStatus, "NoError");
    const sns: string[] = r.payload.snCollection.serialNumbers;
    assert.equal(sns.length, 12);
    assert.equal(new Set(sns).size, 12);
    assert.deepEqual(states(sns), Array(12).fill("Allocated"));

    const e = await call("enc", r.payload);
    assert.equal(e.payload.returnStatus, "NoError");
    assert.deepEqual(e.payload.serialNumbers, sns);
    assert.deepEqual(states(sns), Array(12).fill("Encoded"));

    const c = await call("com", e.payload);
    assert.equal(c.payload.returnStatus, "NoError");
    assert.deepEqual(states(sns), Array(12).fill("Commissioned"));

    // the 12th number labels the case that holds the other 11
    const p = await call("pack", { parent: sns[11], children: sns.slice(0, 11) });
    assert.equal(p.payload.returnStatus, "NoError");
    assert.deepEqual(p.payload.aggregationElement, [{ parent: sns[11], children: sns.slice(0, 11) }]);

    const s = await call("ship", { serialNumbers: sns });
    assert.equal(s.payload.returnStatus, "NoError");
    assert.deepEqual(states(sns), Array(12).fill("Released"));

    // every step was audited, and the chain verifies
    const store = openPoolStore(dbFile);
    try {
      const events = [...store.auditRecords({})].map((a) => a.event);
      for (const ev of ["sn_encoding", "commissioning", "packing", "shipping"]) assert.ok(events.includes(ev), `audit has ${ev}`);
      assert.equal(store.verifyAudit().ok, true);
    } finally {
      store.close();
    }
  });

  it("commissioning a scrapped label is refused at the Catch node, naming the number and its state, and nothing changes", async function () {
    const r = await call("req", { count: 3 });
    const sns: string[] = r.payload.snCollection.serialNumbers;
    await call("enc", r.payload);
    await call("scrap", { serialNumbers: [sns[0]] });
    assert.deepEqual(states(sns), ["LabelScrapped", "Encoded", "Encoded"]);
    await helper.unload();
    const before = dbDigest(dbFile);
    await helper.load([...allNodeModules(), coreNodeModule("25-catch")] as any, flow(dbFile));

    const err = await refused("com", { serialNumbers: sns });
    assert.equal(err.error.code, "TransitionForbidden");
    assert.match(err.error.message, new RegExp(sns[0]));
    assert.match(err.error.message, /LabelScrapped/);
    assert.deepEqual(err.payload, { serialNumbers: sns }, "the Catch node gets the original message");
    const details = err.error.cause?.details as Array<{ serialNumber: string; state: string }>;
    assert.ok(Array.isArray(details) && details.some((d) => d.serialNumber === sns[0] && d.state === "LabelScrapped"));
    await helper.unload();
    assert.equal(dbDigest(dbFile), before, "one forbidden number refuses the whole batch: the two others stay Encoded");
  });

  it("nothing follows destroying: shipping a destroyed pack is refused", async function () {
    const r = await call("req", { count: 1 });
    const sn = r.payload.snCollection.serialNumbers[0];
    await call("enc", r.payload);
    await call("com", { serialNumbers: [sn] });
    await call("destroy", { serialNumbers: [sn] });
    const err = await refused("ship", { serialNumbers: [sn] });
    assert.equal(err.error.code, "TransitionForbidden");
    assert.deepEqual(states([sn]), ["Destroyed"]);
  });

  it("packing an uncommissioned child is refused and nothing is packed", async function () {
    const r = await call("req", { count: 3 });
    const sns: string[] = r.payload.snCollection.serialNumbers;
    await call("enc", r.payload);
    await call("com", { serialNumbers: sns.slice(0, 2) });
    const err = await refused("pack", { parent: sns[0], children: [sns[1], sns[2]] });
    assert.equal(err.error.code, "NotCommissioned");
    assert.match(err.error.message, new RegExp(sns[2]));
  });

  it("an unknown serial number is refused with UnknownSerialNumber", async function () {
    const err = await refused("com", { serialNumbers: ["NOT-IN-ANY-POOL"] });
    assert.equal(err.error.code, "UnknownSerialNumber");
    assert.match(err.error.message, /NOT-IN-ANY-POOL/);
  });
});
