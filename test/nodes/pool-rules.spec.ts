/* Pool rules through the nodes (issue 14): pss-sid-shipping on a pallet releases what it holds; a pss-pool with an
   unknown SID class is refused on deploy; a redeployed pss-pool with changed settings is an audited pool update,
   and one that cannot be applied is refused saying why. */
import assert from "node:assert/strict";
import * as path from "path";
import { helper, allNodeModules, nextMessage, coreNodeModule } from "../helpers/red";
import { tmpDir } from "../helpers/tmp";
import { openPoolStore } from "../../nodes/core/store";
import { Aggregation } from "../../nodes/core/aggregation";
import { makeSscc } from "../../nodes/core/gs1";

const GTIN = "09506000134352";

function flow(dbFile: string, pool: Record<string, unknown> = {}) {
  const f = (id: string, type: string, extra: Record<string, unknown> = {}) => ({
    id, z: "t", type, name: "", pool: "pool", snFormat: "SERIALONLY", snCollectionId: "", context: "", wires: [[`${id}-out`]], ...extra,
  });
  const nodes = [f("req", "pss-sn-request-allocated", { count: 1 }), f("ship", "pss-sid-shipping"), f("decom", "pss-sid-decommissioning")];
  return [
    { id: "t", type: "tab", label: "pool rules" },
    { id: "pool", type: "pss-pool", mode: "local", dbFile, poolId: "UNITS", sidClass: "GS1-SGTIN", criteria: [{ key: "GTIN", value: GTIN }], guardPolicy: "strict", lowThreshold: 0, maxRequest: 100, ...pool },
    ...nodes,
    ...nodes.map((n) => ({ id: `${n.id}-out`, z: "t", type: "helper" })),
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

describe("pool rules through the nodes", function () {
  this.timeout(60_000);
  let tmp: ReturnType<typeof tmpDir>;
  let dbFile: string;
  const units = Array.from({ length: 8 }, (_, i) => `U${String(i).padStart(5, "0")}`);
  const cases = [makeSscc("9506000", 0, 1), makeSscc("9506000", 0, 2)];
  const pallet = makeSscc("9506000", 0, 3);

  const load = (pool: Record<string, unknown> = {}) => helper.load([...allNodeModules(), coreNodeModule("25-catch")] as any, flow(dbFile, pool));
  const read = <T>(fn: (s: ReturnType<typeof openPoolStore>) => T): T => {
    const s = openPoolStore(dbFile);
    try {
      return fn(s);
    } finally {
      s.close();
    }
  };

  beforeEach(async function () {
    tmp = tmpDir();
    dbFile = path.join(tmp.dir, "rules.db");
    const store = openPoolStore(dbFile);
    store.createPool({ poolId: "UNITS", sidClass: "GS1-SGTIN", selectionCriteria: { GTIN, PoolID: "UNITS" }, maxRequest: 100 });
    store.createPool({ poolId: "SSCC", sidClass: "GS1-SSCC", selectionCriteria: { PoolID: "SSCC" } });
    for (const [pool, list] of [["UNITS", units], ["SSCC", [...cases, pallet]]] as const) {
      store.pushTo("Encoded", { snCollection: { id: "", serialNumbers: [...list] }, poolSelectionCriteria: { PoolID: pool } });
      store.applyEvent("commissioning", { serialNumbers: [...list] });
    }
    const agg = new Aggregation(store);
    agg.pack([{ parent: cases[0], children: units.slice(0, 3) }, { parent: cases[1], children: units.slice(3, 6) }]);
    agg.pack([{ parent: pallet, children: cases }]);
    store.provision("UNITS", ["F00001", "F00002"]);
    store.close();
    await helper.startServer();
  });

  afterEach(async function () {
    await helper.unload();
    await helper.stopServer();
    tmp.cleanup();
  });

  it("pss-sid-shipping on a pallet releases its cases and units", async function () {
    await load();
    const r = await call("ship", { serialNumbers: [pallet] });
    assert.equal(r.payload.returnStatus, "NoError");
    await helper.unload();
    read((s) => {
      for (const sn of [pallet, ...cases, ...units.slice(0, 6)]) assert.equal(s.getSerialNumber(sn)?.state, "Released", sn);
      assert.equal(s.getSerialNumber(units[6])?.state, "Commissioned");
      assert.equal(s.countByState("UNITS").Released, 6);
    });
  });

  it("pss-sid-decommissioning of a packed unit is refused without unpack, and takes it out of its case with eventContext unpack=true", async function () {
    await load();
    const err = await refused("decom", { serialNumbers: [units[0]] });
    assert.equal(err.error.code, "NotTopLevel");
    assert.match(err.error.message, /unpack=true/);
    const r = await call("decom", { serialNumbers: [units[0]], eventContext: { unpack: "true" } });
    assert.equal(r.payload.returnStatus, "NoError");
    await helper.unload();
    read((s) => {
      assert.equal(s.getSerialNumber(units[0])?.state, "Inactive");
      assert.equal(new Aggregation(s).parentOf(units[0]), undefined);
    });
  });

  it("a pss-pool with a SID class the package does not know is refused on deploy, naming the known classes; no pool is created", async function () {
    await load({ poolId: "TYPO", sidClass: "GS1-SGTN", criteria: [] });
    const err = await refused("req", { count: 1 });
    assert.equal(err.error.code, "PoolUnavailable");
    assert.match(err.error.message, /SID class "GS1-SGTN" is unknown \(known: GS1-SGTIN/);
    await helper.unload();
    assert.equal(read((s) => s.getPool("TYPO")), undefined);
  });

  it("a custom SID class with its own pattern and length is accepted and checks the numbers", async function () {
    await load({ poolId: "OWN", sidClass: "custom", serialPattern: "[0-9]+", serialLength: "6-8", criteria: [] });
    await helper.unload();
    read((s) => {
      assert.deepEqual(s.getPool("OWN")?.serialRule, { pattern: "[0-9]+", minLength: 6, maxLength: 8 });
      assert.throws(() => s.provision("OWN", ["ABC123"]), /does not match the pool's serial pattern/);
    });
  });

  it("a redeploy with changed settings updates the pool (audited): the new criterion selects it, the guard and threshold apply", async function () {
    await load();
    await helper.unload();
    const GTIN2 = "09506000134369";
    await load({ criteria: [{ key: "GTIN", value: GTIN2 }], guardPolicy: "record", lowThreshold: 7, maxRequest: 50 });
    const r = await call("req", { count: 1 });
    assert.equal(r.payload.returnStatus, "NoError", "the changed criterion does not make calls fail");
    await helper.unload();
    read((s) => {
      const p = s.getPool("UNITS")!;
      assert.deepEqual([p.selectionCriteria.GTIN, p.guardPolicy, p.lowThreshold, p.maxRequest], [GTIN2, "record", 7, 50]);
      const upd = [...s.auditRecords({})].filter((a) => a.event === "pool_updating");
      assert.equal(upd.length, 1);
      assert.equal(upd[0].context["was.guardPolicy"], "strict");
      assert.match(upd[0].context.selectionCriteria, new RegExp(GTIN2));
      assert.match(upd[0].actor, /^node-red:/);
      assert.equal(s.verifyAudit().ok, true);
    });
  });

  it("a redeploy with another SID class on a pool that holds numbers is refused, saying why, and the pool is unchanged", async function () {
    await load({ sidClass: "EU-FMD" });
    const err = await refused("req", { count: 1 });
    assert.equal(err.error.code, "PoolUnavailable");
    assert.match(err.error.message, /cannot change from SID class GS1-SGTIN to EU-FMD: it holds serial numbers/);
    await helper.unload();
    assert.equal(read((s) => s.getPool("UNITS")?.sidClass), "GS1-SGTIN");
  });
});
