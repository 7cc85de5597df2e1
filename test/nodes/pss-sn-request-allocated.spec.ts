import assert from "node:assert/strict";
import * as path from "path";
import * as vm from "vm";
import { helper, nodeModule, nextMessage, coreNodeModule } from "../helpers/red";
import { tmpDir } from "../helpers/tmp";
import { dbDigest } from "../helpers/digest";
import { openPoolStore } from "../../nodes/core/store";

const POOL = "LINE1";

function flow(dbFile: string, count = 10) {
  return [
    { id: "f1", type: "tab", label: "test" },
    { id: "pool", type: "pss-pool", name: "", mode: "local", dbFile, poolId: POOL, sidClass: "GS1-SGTIN", criteria: [], guardPolicy: "strict", lowThreshold: 0, maxRequest: 10000 },
    { id: "req", z: "f1", type: "pss-sn-request-allocated", name: "", pool: "pool", count, snFormat: "SERIALONLY", snCollectionId: "", wires: [["out"]] },
    { id: "out", z: "f1", type: "helper" },
    { id: "catcher", z: "f1", type: "catch", scope: null, uncaught: false, wires: [["caught"]] },
    { id: "caught", z: "f1", type: "helper" },
  ];
}

describe("pss-pool + pss-sn-request-allocated (Node-RED test helper)", function () {
  let tmp: ReturnType<typeof tmpDir>;
  let dbFile: string;

  beforeEach(async function () {
    tmp = tmpDir();
    dbFile = path.join(tmp.dir, "pool.db");
    // seed the pool the way plant IT would: create it and provision 100 numbers
    const store = openPoolStore(dbFile);
    store.createPool({ poolId: POOL, sidClass: "GS1-SGTIN", selectionCriteria: { PoolID: POOL } });
    store.provision(POOL, Array.from({ length: 100 }, (_, i) => `SN${String(i).padStart(6, "0")}`));
    store.close();
    await helper.startServer();
  });

  afterEach(async function () {
    await helper.unload();
    await helper.stopServer();
    tmp.cleanup();
  });

  const modules = () => [nodeModule("pss-pool"), nodeModule("pss-sn-request-allocated"), coreNodeModule("25-catch")] as any;

  it("requests 10 allocated serial numbers: the message carries them and the store has them Allocated", async function () {
    await helper.load(modules(), flow(dbFile));
    const got = nextMessage("out");
    helper.getNode("req").receive({ payload: { count: 10 }, topic: "order-42" });
    const msg = await got;
    assert.equal(msg.topic, "order-42", "the input message's other properties pass through");
    assert.equal(msg.payload.returnStatus, "NoError");
    assert.equal(msg.payload.returnedRequestToken, "");
    const c = msg.payload.snCollection;
    assert.equal(c.state, "Allocated");
    assert.equal(c.associatedPoolId, POOL);
    assert.equal(c.serialNumbers.length, 10);
    assert.equal(new Set(c.serialNumbers).size, 10);
    await helper.unload(); // close the node's store before reading the file
    const store = openPoolStore(dbFile);
    try {
      for (const s of c.serialNumbers) {
        const sn = store.getSerialNumber(s);
        assert.ok(sn, `${s} is in the store`);
        assert.equal(sn.state, "Allocated");
        assert.equal(sn.snCollectionId, c.id);
      }
      const counts = store.countByState(POOL) as Record<string, number>;
      assert.equal(counts.Allocated, 10);
      assert.equal(counts.Unassigned, 90);
    } finally {
      store.close();
    }
  });

  it("accepts a payload built by a Function node (an object of another vm realm)", async function () {
    await helper.load(modules(), flow(dbFile));
    const got = nextMessage("out");
    const payload = vm.runInNewContext("({ count: 3, snCollectionId: 'FROM-FUNCTION' })");
    assert.notEqual(Object.getPrototypeOf(payload), Object.prototype, "the payload really is of another realm");
    helper.getNode("req").receive({ payload });
    const msg = await got;
    assert.equal(msg.payload.snCollection.serialNumbers.length, 3);
    assert.equal(msg.payload.snCollection.id, "FROM-FUNCTION");
  });

  it("a second request never hands out a number twice", async function () {
    await helper.load(modules(), flow(dbFile));
    const seen = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const got = nextMessage("out");
      helper.getNode("req").receive({ payload: { count: 30 } });
      const msg = await got;
      for (const s of msg.payload.snCollection.serialNumbers) {
        assert.ok(!seen.has(s), `${s} handed out twice`);
        seen.add(s);
      }
    }
    assert.equal(seen.size, 90);
  });

  it("more than the pool holds: the available numbers with InsufficientSerialNumbers, not an error", async function () {
    await helper.load(modules(), flow(dbFile));
    const got = nextMessage("out");
    helper.getNode("req").receive({ payload: { count: 150 } });
    const msg = await got;
    assert.equal(msg.payload.returnStatus, "InsufficientSerialNumbers");
    assert.equal(msg.payload.snCollection.serialNumbers.length, 100);
  });

  for (const [label, count, code] of [
    ["a negative count", -5, "InvalidCount"],
    ["a count given as a string", "10", "InvalidCount"],
    ["a count of 1e12", 1e12, "InvalidCount"],
    ["a fractional count", 2.5, "InvalidCount"],
    ["a count of zero", 0, "InvalidCount"],
  ] as Array<[string, unknown, string]>) {
    it(`${label} reaches a Catch node with code ${code}, the original message, and the store unchanged`, async function () {
      await helper.load(modules(), flow(dbFile));
      const before = dbDigest(dbFile);
      const got = nextMessage("caught");
      helper.getNode("req").receive({ payload: { count }, topic: "bad" });
      const msg = await got;
      assert.equal(msg.error.code, code);
      assert.match(msg.error.message, /count/);
      assert.equal(msg.error.source.id, "req");
      assert.deepEqual(msg.payload, { count }, "the original payload is kept");
      assert.equal(msg.topic, "bad");
      await helper.unload();
      assert.equal(dbDigest(dbFile), before, "the store is exactly as before");
    });
  }

  it("the pool node creates its pool on first deploy when the file does not hold it", async function () {
    const other = path.join(tmp.dir, "fresh.db");
    await helper.load(modules(), flow(other));
    const caught = nextMessage("caught");
    helper.getNode("req").receive({ payload: { count: 5 } });
    const err = await caught;
    // an empty pool cannot deliver: the error is at this node, not an empty list for the next one to trip on
    assert.equal(err.error.code, "InsufficientSerialNumbers");
    assert.match(err.error.message, new RegExp(`pool ${POOL}`));
    await helper.unload();
    const store = openPoolStore(other);
    try {
      assert.equal(store.getPool(POOL)?.sidClass, "GS1-SGTIN");
    } finally {
      store.close();
    }
  });
});
