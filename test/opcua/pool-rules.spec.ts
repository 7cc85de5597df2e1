/* A pallet shipped through the OPC UA SIDShippingEvent method (real server and client on loopback): every case and
   unit in it is Released, audited per parent, and `serialflow pool status` counts agree. */
import assert from "node:assert/strict";
import * as path from "path";
import { spawnSync } from "child_process";
import { makeSscc } from "../../nodes/core/gs1";
import { startRig, Rig } from "./fixtures";
import type { OpenScsClient } from "../../nodes/core/opcua";

const CLI = path.resolve(__dirname, "..", "..", "bin", "serialflow.js");

describe("OPC UA: SIDShippingEvent on a pallet ships its whole hierarchy", function () {
  this.timeout(120_000);
  let rig: Rig;
  let c: OpenScsClient;

  before(async function () {
    rig = await startRig({ provision: 100 });
    c = await rig.connect("admin", "admin-pw");
  });
  after(async function () {
    await rig?.stop();
  });

  it("pallet → cases → units: one call releases every unit, and pool status counts agree", async function () {
    const units = (await c.snRequest("Allocated", { count: 12 })).snCollection.serialNumbers;
    assert.equal((await c.event("LabelsEncodingEvent", { labelCollection: { serialNumbers: units } })).returnStatus, "NoError");
    assert.equal((await c.event("SIDCommissioningEvent", { labelCollection: { serialNumbers: units } })).returnStatus, "NoError");
    // cases and the pallet: SSCCs of their own pool in the same file
    const store = rig.store;
    store.createPool({ poolId: "SSCC", sidClass: "GS1-SSCC", selectionCriteria: { PoolID: "SSCC" } });
    const cases = [makeSscc("9506000", 0, 1), makeSscc("9506000", 0, 2)];
    const pallet = makeSscc("9506000", 0, 3);
    store.pushTo("Encoded", { snCollection: { id: "", serialNumbers: [...cases, pallet] }, poolSelectionCriteria: { PoolID: "SSCC" } });
    assert.equal((await c.event("SIDCommissioningEvent", { labelCollection: { serialNumbers: [...cases, pallet] } })).returnStatus, "NoError");
    const packed = await c.aggregation("packing", {
      elements: [
        { parent: cases[0], children: { id: "", serialNumbers: units.slice(0, 6) } },
        { parent: cases[1], children: { id: "", serialNumbers: units.slice(6, 12) } },
      ],
    });
    assert.equal(packed.returnStatus, "NoError");
    assert.equal((await c.aggregation("packing", { elements: [{ parent: pallet, children: { id: "", serialNumbers: cases } }] })).returnStatus, "NoError");
    const seq0 = (store.verifyAudit() as { count: number }).count;

    const shipped = await c.event("SIDShippingEvent", { labelCollection: { serialNumbers: [pallet] }, context: { bizTransaction: "urn:epcglobal:cbv:bt:0614141000005:PO-77" } });
    assert.equal(shipped.returnStatus, "NoError");

    for (const sn of [pallet, ...cases, ...units]) assert.equal(store.getSerialNumber(sn)?.state, "Released", sn);
    const recs = [...store.auditRecords({ fromSeq: seq0 + 1 })];
    assert.ok(recs.every((r) => r.event === "shipping" && r.method === "SIDShippingEvent"));
    assert.deepEqual(recs.flatMap((r) => r.serialNumbers).sort(), [pallet, ...cases, ...units].sort(), "every child in an audit record");
    for (const cs of cases) assert.ok(recs.some((r) => r.context.parent === cs && r.context.aggregationRoot === pallet), `a record for the contents of ${cs}`);
    assert.equal(store.verifyAudit().ok, true);

    // a shipped unit can no longer be sampled
    const sampled = await c.event("SIDInspectingEvent", { labelCollection: { serialNumbers: [units[0]] } }).catch((e: Error) => ({ returnStatus: `refused: ${e.message}` }));
    assert.notEqual(sampled.returnStatus, "NoError");
    assert.equal(store.getSerialNumber(units[0])?.state, "Released");

    const counts = store.countByState("default");
    assert.equal(counts.Released, 12);
    assert.equal(store.countByState("SSCC").Released, 3);
    const r = spawnSync(process.execPath, [CLI, "pool", "status", "--db", rig.file], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const section = (pool: string) => r.stdout.split(/\n(?=pool )/).find((s) => s.startsWith(`pool ${pool}`)) ?? "";
    const printed = (pool: string, state: string) => Number(new RegExp(`\\n  ${state}\\s+(\\d+)`).exec(section(pool))?.[1] ?? 0);
    assert.equal(printed("default", "Released"), 12, r.stdout);
    assert.equal(printed("default", "Commissioned"), counts.Commissioned, r.stdout);
    assert.equal(printed("default", "Unassigned"), counts.Unassigned, r.stdout);
    assert.equal(printed("SSCC", "Released"), 3, r.stdout);
    assert.equal(printed("SSCC", "Commissioned"), 0, r.stdout);
  });
});
