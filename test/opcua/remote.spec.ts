/* RemotePool: the store's call shapes over an OPEN-SCS server, batches split to the server's Max* limits. */
import assert from "node:assert/strict";
import { RemotePool, RemotePoolError, createOpenScsServer } from "../../nodes/core/opcua";
import { startRig, Rig, sharedPki, USERS } from "./fixtures";

describe("RemotePool over an OPEN-SCS server", function () {
  let rig: Rig;
  let pool: RemotePool;

  before(async function () {
    rig = await startRig({ provision: 300, pool: { maxRequest: 40 }, server: { limits: { maxSNPushable: 10, maxSNReturnable: 10, maxEvents: 7, maxAggregationEvents: 2 } } });
    const { folder } = await sharedPki();
    pool = await RemotePool.connect({ endpointUrl: rig.server.endpointUrl, user: "admin", password: "admin-pw", pkiFolder: folder, trustServerCertificate: rig.server.certificate, maxRetry: 20 });
  });
  after(async function () {
    await pool?.close();
    await rig?.stop();
  });

  it("reads the server's limits and pages requests by token, never handing a number out twice", async function () {
    assert.equal(pool.maxPage, 40);
    const got: string[] = [];
    let token = "";
    do {
      const r = await pool.request("Allocated", { count: 100, requestToken: token });
      assert.ok(r.snCollection.serialNumbers.length <= 40);
      got.push(...r.snCollection.serialNumbers);
      token = r.returnedRequestToken;
    } while (token);
    assert.equal(got.length, 100);
    assert.equal(new Set(got).size, 100);
    assert.ok(got.every((sn) => rig.store.getSerialNumber(sn)?.state === "Allocated"));
  });

  it("splits pushes, events and aggregations into calls within MaxSNPushable, MaxEvents and MaxAggregationEvents", async function () {
    const pushed = Array.from({ length: 25 }, (_, i) => `REMOTE-${i}`);
    assert.equal((await pool.pushTo("Allocated", { snCollection: { id: "remote-push", serialNumbers: pushed } })).returnStatus, "NoError");
    assert.ok(pushed.every((sn) => rig.store.getSerialNumber(sn)?.state === "Allocated"));
    const r = await pool.applyEvent("sn_encoding", { serialNumbers: pushed, labelCollection: { labels: pushed.map((id) => ({ id, properties: { lot: "RL-1" } })) } });
    assert.equal(r.applied, 25);
    assert.ok(pushed.every((sn) => rig.store.getSerialNumber(sn)?.state !== "Allocated"), "every number moved on");
    await pool.applyEvent("commissioning", { serialNumbers: pushed });
    const elements = [0, 1, 2].map((i) => ({ parent: pushed[i * 5], children: pushed.slice(i * 5 + 1, i * 5 + 5) }));
    assert.equal((await pool.aggregate("packing", { elements })).returnStatus, "NoError");
  });

  it("turns a refusal into an error whose code is the ReturnStatus name", async function () {
    await assert.rejects(pool.request("Allocated", { count: 1, snFormat: "NO-SUCH" }), (e: unknown) => e instanceof RemotePoolError && e.code === "InvalidSerialNumbersFormat");
    await assert.rejects(pool.applyEvent("shipping", { serialNumbers: ["NEVER-SEEN-1"] }), (e: unknown) => e instanceof RemotePoolError && e.code === "UnableToAcceptSIDEvents");
  });

  it("reconnects by itself: a call made while the server restarts completes once it is back", async function () {
    const { folder } = await sharedPki();
    const port = rig.server.port;
    await rig.server.shutdown();
    const during = pool.request("Allocated", { count: 1 });
    await new Promise((r) => setTimeout(r, 1000));
    const again = await createOpenScsServer({ store: rig.store, port, pkiFolder: folder, users: USERS, log: () => undefined });
    try {
      const r = await during;
      assert.equal(r.snCollection.serialNumbers.length, 1);
      assert.equal(rig.store.getSerialNumber(r.snCollection.serialNumbers[0])?.state, "Allocated");
    } finally {
      await pool.close();
      await again.shutdown();
    }
  });
});
