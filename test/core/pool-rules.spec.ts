/* Pool rules (issue 14): a parent's shipping, decommissioning and destroying reach everything packed under it;
   an unknown SID class is refused; pool settings change by an audited update; inspecting agrees with EPCIS. */
import assert from "node:assert/strict";
import * as path from "path";
import { PssError, type SqlitePoolStore } from "../../nodes/core/store";
import { Aggregation, AggregationBuilder } from "../../nodes/core/aggregation";
import { fromAuditRecords } from "../../nodes/core/epcis";
import { tmpDir } from "../helpers/tmp";
import { dbDigest } from "../helpers/digest";
import { openFixture, commission, units, ssccs, GTIN_A } from "./aggregation-fixture";
import { openPoolStore } from "../../nodes/core/store";

function refuses(fn: () => unknown, code: string, message?: RegExp): PssError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof PssError, `expected a PssError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (message) assert.match(caught.message, message);
  return caught;
}

describe("pool rules", function () {
  let tmp: ReturnType<typeof tmpDir>;
  let file: string;
  afterEach(function () {
    tmp?.cleanup();
  });

  describe("a parent's shipping, decommissioning and destroying reach everything packed under it", function () {
    let store: SqlitePoolStore;
    let agg: Aggregation;
    const U = units("U", 12);
    let S: string[];
    beforeEach(function () {
      tmp = tmpDir();
      file = path.join(tmp.dir, "pool.db");
      store = openFixture(file, { units: 12 });
      S = ssccs(0, 4);
      commission(store, "SSCC", S);
      agg = new Aggregation(store);
      agg.pack([{ parent: S[0], children: U.slice(0, 4) }, { parent: S[1], children: U.slice(4, 8) }]);
      agg.pack([{ parent: S[2], children: [S[0], S[1]] }]);
    });
    afterEach(function () {
      store?.close();
    });

    it("store.applyEvent(shipping) on a pallet releases its cases and units in one transaction, one audit record per parent", function () {
      const seq0 = (store.verifyAudit() as { count: number }).count;
      const r = store.applyEvent("shipping", { serialNumbers: [S[2]], context: { bizTransaction: "urn:po:7" } });
      assert.equal(r.applied, 11);
      for (const s of [S[2], S[0], S[1], ...U.slice(0, 8)]) assert.equal(store.getSerialNumber(s)?.state, "Released", s);
      assert.equal(store.getSerialNumber(U[8])?.state, "Commissioned");
      assert.equal(store.countByState("UNITS").Released, 8);
      assert.equal(store.countByState("SSCC").Released, 3);
      const recs = [...store.auditRecords({ fromSeq: seq0 + 1 })];
      assert.ok(recs.every((x) => x.event === "shipping" && x.method === "SIDShippingEvent" && x.context.bizTransaction === "urn:po:7"));
      const shipped = recs.flatMap((x) => x.serialNumbers).sort();
      assert.deepEqual(shipped, [S[2], S[0], S[1], ...U.slice(0, 8)].sort(), "every child is in exactly one audit record");
      const ofCase = recs.find((x) => x.context.parent === S[0]);
      assert.deepEqual(ofCase?.serialNumbers, U.slice(0, 4));
      assert.equal(ofCase?.context.aggregationRoot, S[2]);
      assert.equal(store.verifyAudit().ok, true);
      // shipped packs can no longer be sampled or packed
      refuses(() => store.applyEvent("inspecting", { serialNumbers: [U[0]] }), "TransitionForbidden");
      refuses(() => agg.pack([{ parent: S[3], children: [U[1]] }]), "AlreadyShipped");
    });

    it("a store opened without an aggregation still reaches the hierarchy in the file", function () {
      store.close();
      const plain = openPoolStore(file);
      try {
        plain.applyEvent("destroying", { serialNumbers: [S[2]] });
        for (const s of [S[2], S[1], U[7]]) assert.equal(plain.getSerialNumber(s)?.state, "Destroyed", s);
      } finally {
        plain.close();
      }
    });

    it("refuses a packed child alone (NotTopLevel), nothing changed; the pallet and a case of it together are fine", function () {
      const before = dbDigest(file);
      refuses(() => store.applyEvent("shipping", { serialNumbers: [S[0]] }), "NotTopLevel", new RegExp(`packed in ${S[2]}: ship the top of its hierarchy \\(${S[2]}\\)`));
      refuses(() => store.applyEvent("decommissioning", { serialNumbers: [U[0]] }), "NotTopLevel", /unpack it first, or give the event context unpack=true/);
      assert.equal(dbDigest(file), before);
      store.applyEvent("shipping", { serialNumbers: [S[2], S[0]] });
      assert.equal(store.getSerialNumber(U[3])?.state, "Released");
    });

    it("decommissioning a child with the context unpack=true takes it out of its parent, audited, in the same transaction", function () {
      const seq0 = (store.verifyAudit() as { count: number }).count;
      store.applyEvent("decommissioning", { serialNumbers: [U[0]], context: { unpack: "true", reason: "damaged" } });
      assert.equal(store.getSerialNumber(U[0])?.state, "Inactive");
      assert.equal(agg.parentOf(U[0]), undefined);
      assert.deepEqual(agg.childrenOf(S[0]), U.slice(1, 4));
      assert.deepEqual([...store.auditRecords({ fromSeq: seq0 + 1 })].map((x) => [x.event, x.serialNumbers.join(","), x.context.parent ?? ""]), [["unpacking", U[0], S[0]], ["decommissioning", U[0], ""]]);
      // a case taken off the pallet and destroyed with its units
      store.applyEvent("destroying", { serialNumbers: [S[1]], context: { unpack: "true" } });
      for (const s of [S[1], ...U.slice(4, 8)]) assert.equal(store.getSerialNumber(s)?.state, "Destroyed", s);
      assert.deepEqual(agg.childrenOf(S[2]), [S[0]]);
      assert.equal(store.verifyAudit().ok, true);
    });

    it("a refused descendant refuses the whole tree and names it; nothing changes", function () {
      store.applyEvent("inspecting", { serialNumbers: [U[5]] });
      const before = dbDigest(file);
      const e = refuses(() => store.applyEvent("shipping", { serialNumbers: [S[2]] }), "TransitionForbidden", new RegExp(`${U[5]} \\(Sampled\\).*packed under ${S[2]}: unpack it first`));
      assert.deepEqual(e.details?.map((d) => d.serialNumber), [U[5]]);
      assert.equal(dbDigest(file), before);
    });

    it("an event restricted to the pallet's pool still reaches units of another pool (the OPC UA server's path)", function () {
      store.applyEvent("shipping", { serialNumbers: [S[2]], poolId: "SSCC" });
      assert.equal(store.getSerialNumber(U[0])?.state, "Released");
    });
  });

  describe("the aggregator's parents", function () {
    let store: SqlitePoolStore;
    beforeEach(function () {
      tmp = tmpDir();
      file = path.join(tmp.dir, "pool.db");
      store = openFixture(file, { units: 6, ssccFree: 4 });
    });
    afterEach(function () {
      store?.close();
    });

    it("a case the builder closed ships with its units through the single-item event; one waiting for its pallet is refused", function () {
      const agg = new Aggregation(store);
      const b = new AggregationBuilder(agg, "line1", [{ name: "case", capacity: 3, parentPools: ["SSCC"], parentKind: "sscc" }, { name: "pallet", capacity: 2, parentPools: ["SSCC"], parentKind: "sscc" }]);
      const U = units("U", 6);
      const closed = U.slice(0, 3).map((u) => b.scan(u))[2].closed;
      const firstCase = closed[0].parent;
      refuses(() => store.applyEvent("shipping", { serialNumbers: [firstCase] }), "ParentInProgress", /waits in open builder line1/);
      const all = U.slice(3).map((u) => b.scan(u))[2].closed;
      const pallet = all.find((c) => c.level === "pallet")!.parent;
      store.applyEvent("shipping", { serialNumbers: [pallet] });
      for (const sn of [pallet, firstCase, ...U]) assert.equal(store.getSerialNumber(sn)?.state, "Released", sn);
    });
  });

  describe("SID classes", function () {
    let store: SqlitePoolStore;
    beforeEach(function () {
      tmp = tmpDir();
      file = path.join(tmp.dir, "pool.db");
      store = openPoolStore(file);
    });
    afterEach(function () {
      store?.close();
    });

    it("refuses a SID class the package does not know, naming the known ones; nothing is created", function () {
      refuses(() => store.createPool({ poolId: "P", sidClass: "GS1-SGTN" }), "UnknownSidClass", /SID class "GS1-SGTN" is unknown \(known: GS1-SGTIN, .*EU-FMD.*\).*"custom"/);
      refuses(() => store.createPool({ poolId: "P", sidClass: "EU_FMD" }), "UnknownSidClass");
      refuses(() => store.createPool({ poolId: "P", sidClass: "custom" }), "UnknownSidClass", /needs its own serial rule/);
      refuses(() => store.createPool({ poolId: "P", sidClass: "custom", serialRule: { pattern: "[A-Z", minLength: 1, maxLength: 5 } }), "InvalidPool", /not a valid regular expression/);
      refuses(() => store.createPool({ poolId: "P", sidClass: "EU-FMD", serialRule: { pattern: ".+", minLength: 1, maxLength: 5 } }), "InvalidPool", /for SID class "custom" only/);
      assert.deepEqual(store.listPools(), []);
      assert.equal(store.createPool({ poolId: "G", sidClass: "gs1-sgtin" }).sidClass, "gs1-sgtin", "known under another case");
    });

    it("a custom pool checks every serial number against its own pattern and length", function () {
      const p = store.createPool({ poolId: "C", sidClass: "custom", serialRule: { pattern: "[0-9A-F]+", minLength: 8, maxLength: 8 } });
      assert.deepEqual(p.serialRule, { pattern: "[0-9A-F]+", minLength: 8, maxLength: 8 });
      assert.equal(store.provision("C", ["0123ABCD"]).added, 1);
      refuses(() => store.provision("C", ["0123abcd"]), "InvalidSerialNumber", /does not match the pool's serial pattern/);
      refuses(() => store.provision("C", ["0123ABC"]), "InvalidSerialNumber", /exactly 8 required/);
      refuses(() => store.importFile("C", "0123ABCE\nnot-hex!\n"), "InvalidImportFile", /line 2/);
      refuses(() => store.pushTo("Encoded", { snCollection: { id: "", serialNumbers: ["xyz"] }, poolSelectionCriteria: { PoolID: "C" } }), "InvalidSerialNumber");
      assert.equal(store.countByState("C").Unassigned, 1);
    });
  });

  describe("updatePool: an audited change of a pool's settings", function () {
    let store: SqlitePoolStore;
    beforeEach(function () {
      tmp = tmpDir();
      file = path.join(tmp.dir, "pool.db");
      store = openPoolStore(file);
      store.createPool({ poolId: "P", sidClass: "GS1-SGTIN", selectionCriteria: { GTIN: GTIN_A, PoolID: "P" }, lowThreshold: 5 });
    });
    afterEach(function () {
      store?.close();
    });

    it("changes guard policy, threshold, page size and criteria with one pool_updating record naming old and new", function () {
      const r = store.updatePool("P", { guardPolicy: "record", lowThreshold: 50, maxRequest: 200, selectionCriteria: { GTIN: "09506000134369", PoolID: "P" } }, { actor: "node-red:pool" });
      assert.deepEqual(r.changed.sort(), ["guardPolicy", "lowThreshold", "maxRequest", "selectionCriteria"]);
      const p = store.getPool("P")!;
      assert.deepEqual([p.guardPolicy, p.lowThreshold, p.maxRequest, p.selectionCriteria.GTIN], ["record", 50, 200, "09506000134369"]);
      const last = [...store.auditRecords({})].at(-1)!;
      assert.equal(last.event, "pool_updating");
      assert.equal(last.actor, "node-red:pool");
      assert.equal(last.context.guardPolicy, "record");
      assert.equal(last.context["was.guardPolicy"], "strict");
      assert.equal(last.context["was.lowThreshold"], "5");
      assert.equal(store.verifyAudit().ok, true);
      store.provision("P", { generate: 3 });
      assert.equal(store.request("Allocated", { poolSelectionCriteria: { GTIN: "09506000134369" }, count: 1 }).returnStatus, "NoError", "the new criterion selects the pool");
      const n = (store.verifyAudit() as { count: number }).count;
      assert.deepEqual(store.updatePool("P", { guardPolicy: "record" }).changed, [], "no change");
      assert.equal((store.verifyAudit() as { count: number }).count, n, "no change, no record");
    });

    it("changes the SID class of an empty pool, and refuses it once the pool holds numbers, saying why", function () {
      store.updatePool("P", { sidClass: "EU-FMD" });
      assert.equal(store.getPool("P")!.sidClass, "EU-FMD");
      store.provision("P", { generate: 2 });
      const before = dbDigest(file);
      refuses(() => store.updatePool("P", { sidClass: "RU-CHESTNY-ZNAK" }), "PoolInUse", /cannot change from SID class EU-FMD to RU-CHESTNY-ZNAK: it holds serial numbers/);
      refuses(() => store.updatePool("P", { sidClass: "GS1-SGTN" }), "UnknownSidClass");
      assert.equal(dbDigest(file), before);
    });
  });

  describe("SIDInspectingEvent: the pool and the EPCIS output agree", function () {
    let store: SqlitePoolStore;
    beforeEach(function () {
      tmp = tmpDir();
      file = path.join(tmp.dir, "pool.db");
      store = openFixture(file, { units: 3 });
    });
    afterEach(function () {
      store?.close();
    });

    it("an inspection pulls the pack as a sample: Sampled in the pool, sampling / non_sellable_other in EPCIS", function () {
      store.applyEvent("inspecting", { serialNumbers: ["U000000"] });
      assert.equal(store.getSerialNumber("U000000")?.state, "Sampled");
      const ev = [...fromAuditRecords(store.auditRecords({}), { companyPrefixLength: 7, gtinByPool: { UNITS: GTIN_A } })].find((e) => e.bizStep === "sampling" || e.bizStep === "inspecting");
      assert.equal(ev?.bizStep, "sampling");
      assert.equal(ev?.disposition, "non_sellable_other");
    });

    it("a non-destructive inspection is refused on SIDInspectingEvent (the pack stays Commissioned: LabelsInspectingEvent reports it)", function () {
      const before = dbDigest(file);
      refuses(() => store.applyEvent("inspecting", { serialNumbers: ["U000001"], context: { destructive: "false" } }), "InvalidContext", /LabelsInspectingEvent/);
      assert.equal(dbDigest(file), before);
      store.applyEvent("label_inspecting", { serialNumbers: ["U000001"], context: { destructive: "false" } });
      assert.equal(store.getSerialNumber("U000001")?.state, "Commissioned");
    });

    it("an old record of a non-destructive SIDInspectingEvent (the pool moved it to Sampled) exports as sampling too", function () {
      const ev = [...fromAuditRecords([{ seq: 1, time: "2026-01-01T00:00:00.000Z", event: "inspecting", poolId: "UNITS", serialNumbers: ["U000002"], context: { destructive: "false" }, fromState: "Commissioned", toState: "Sampled" }] as never, { companyPrefixLength: 7, gtinByPool: { UNITS: GTIN_A } })][0];
      assert.equal(ev.bizStep, "sampling");
      assert.equal(ev.disposition, "non_sellable_other");
    });
  });
});
