/* The hierarchy store: packing rules, unpacking, rework, queries and events over a whole tree, on a real pool file. */
import assert from "node:assert/strict";
import * as path from "path";
import { PssError, type SqlitePoolStore } from "../../nodes/core/store";
import { Aggregation, type AggregationLevel } from "../../nodes/core/aggregation";
import { fromAuditRecords } from "../../nodes/core/epcis";
import { tmpDir } from "../helpers/tmp";
import { dbDigest } from "../helpers/digest";
import { GTIN_A, GTIN_B, commission, openFixture, ssccs, units } from "./aggregation-fixture";

const LEVELS: AggregationLevel[] = [
  { name: "case", capacity: 4, parentPools: ["SSCC"], parentKind: "sscc", mixing: "oneGtinOneLot" },
  { name: "pallet", capacity: 2, parentPools: ["SSCC"], parentKind: "sscc", mixing: "oneGtin" },
];

describe("aggregation: the hierarchy store", function () {
  let tmp: ReturnType<typeof tmpDir>;
  let file: string;
  let store: SqlitePoolStore;
  let agg: Aggregation;
  const U = units("U", 40);
  const S = ssccs(0, 10);
  const X = ssccs(9, 2);

  /** fn must throw a PssError `code` (message matching `msg`) and leave the file exactly as it was */
  function refuses(fn: () => unknown, code: string, msg?: RegExp): PssError {
    const before = dbDigest(file);
    let caught: unknown;
    try {
      fn();
    } catch (err) {
      caught = err;
    }
    assert.ok(caught instanceof PssError, `expected PssError ${code}, got ${caught === undefined ? "no error" : String(caught)}`);
    assert.equal(caught.code, code, caught.message);
    if (msg) assert.match(caught.message, msg);
    assert.equal(dbDigest(file), before, "nothing stored");
    return caught;
  }

  beforeEach(function () {
    tmp = tmpDir();
    file = path.join(tmp.dir, "agg.db");
    store = openFixture(file, { units: 40 });
    commission(store, "SSCC", S);
    commission(store, "SSCC_X", X);
    agg = new Aggregation(store, { levels: LEVELS });
  });
  afterEach(function () {
    store.close();
    tmp.cleanup();
  });

  it("packs units into cases and cases into a pallet, audited per level with context.parent and the direct children", function () {
    const seq0 = (store.verifyAudit() as { count: number }).count;
    agg.pack([{ parent: S[0], children: U.slice(0, 4) }, { parent: S[1], children: U.slice(4, 8) }], { level: "case", actor: "line1" });
    agg.pack([{ parent: S[2], children: [S[0], S[1]] }], { level: "pallet" });
    assert.deepEqual(agg.childrenOf(S[0]), U.slice(0, 4));
    assert.equal(agg.parentOf(U[5]), S[1]);
    assert.deepEqual(agg.pathToTop(U[5]), [S[1], S[2]]);
    assert.equal(agg.topOf(U[5]), S[2]);
    assert.deepEqual(agg.pathToTop(S[2]), []);
    assert.deepEqual(agg.tree(S[2]), {
      serialNumber: S[2], level: "pallet", children: [
        { serialNumber: S[0], level: "case", children: U.slice(0, 4).map((u) => ({ serialNumber: u })) },
        { serialNumber: S[1], level: "case", children: U.slice(4, 8).map((u) => ({ serialNumber: u })) },
      ],
    });
    assert.deepEqual(agg.parentInfo(S[2]), { ...agg.parentInfo(S[2]), level: "pallet", count: 2, gtin: GTIN_A, lot: "L1" });
    const recs = [...store.auditRecords({ fromSeq: seq0 + 1 })];
    assert.deepEqual(recs.map((r) => [r.event, r.context.parent, r.serialNumbers, r.context.level, r.method]), [
      ["packing", S[0], U.slice(0, 4), "case", "AggregationPackingEvent"],
      ["packing", S[1], U.slice(4, 8), "case", "AggregationPackingEvent"],
      ["packing", S[2], [S[0], S[1]], "pallet", "AggregationPackingEvent"],
    ]);
    assert.equal(recs[0].actor, "line1");
    // the EPCIS exporter makes one AggregationEvent per level from these records
    const events = [...fromAuditRecords(recs, { companyPrefixLength: 7, gtinByPool: { UNITS: GTIN_A } })];
    assert.deepEqual(events.map((e) => [e.type, e.action, e.parentID, e.childEPCs?.length]), [
      ["AggregationEvent", "ADD", `urn:epc:id:sscc:9506000.0${S[0].slice(8, 17)}`, 4],
      ["AggregationEvent", "ADD", `urn:epc:id:sscc:9506000.0${S[1].slice(8, 17)}`, 4],
      ["AggregationEvent", "ADD", `urn:epc:id:sscc:9506000.0${S[2].slice(8, 17)}`, 2],
    ]);
    assert.equal(store.verifyAudit().ok, true);
  });

  describe("refuses, with a specific code and nothing stored", function () {
    it("unknown, uncommissioned, destroyed, sampled, inactive and shipped children", function () {
      store.provision("UNITS", ["NEW1"]);
      store.pushTo("Encoded", { snCollection: { id: "", serialNumbers: ["ENC1"] }, poolSelectionCriteria: { PoolID: "UNITS" } });
      store.applyEvent("destroying", { serialNumbers: [U[30]] });
      store.applyEvent("inspecting", { serialNumbers: [U[31]] });
      store.applyEvent("decommissioning", { serialNumbers: [U[32]] });
      store.applyEvent("shipping", { serialNumbers: [U[33]] });
      const e = refuses(() => agg.pack([{ parent: S[0], children: ["NOPE"] }]), "UnknownSerialNumber", /child NOPE is not in the store/);
      assert.deepEqual(e.details, [{ serialNumber: "NOPE", reason: "child NOPE is not in the store" }]);
      refuses(() => agg.pack([{ parent: S[0], children: ["NEW1"] }]), "NotCommissioned", /NEW1 is not commissioned \(Unassigned\)/);
      refuses(() => agg.pack([{ parent: S[0], children: ["ENC1"] }]), "NotCommissioned", /ENC1 is not commissioned \(Encoded\)/);
      refuses(() => agg.pack([{ parent: S[0], children: [U[30]] }]), "Destroyed", /is Destroyed/);
      refuses(() => agg.pack([{ parent: S[0], children: [U[31]] }]), "Sampled");
      refuses(() => agg.pack([{ parent: S[0], children: [U[32]] }]), "Inactive");
      refuses(() => agg.pack([{ parent: S[0], children: [U[33]] }]), "AlreadyShipped");
      // one bad child refuses the whole batch, good elements included
      const all = refuses(() => agg.pack([{ parent: S[1], children: U.slice(0, 3) }, { parent: S[0], children: [U[3], U[30], "NOPE"] }]), "Destroyed");
      assert.deepEqual(all.details?.map((d) => d.serialNumber), [U[30], "NOPE"]);
      assert.equal(agg.parentOf(U[0]), undefined);
    });

    it("a child already inside a parent (another or the same), and a child listed twice", function () {
      agg.pack([{ parent: S[0], children: U.slice(0, 2) }]);
      refuses(() => agg.pack([{ parent: S[1], children: [U[1]] }]), "AlreadyPacked", new RegExp(`already inside ${S[0]} \\(unpack it first\\)`));
      refuses(() => agg.pack([{ parent: S[0], children: [U[0]] }]), "AlreadyPacked");
      refuses(() => agg.pack([{ parent: S[1], children: [U[5], U[5]] }]), "DuplicateInBatch");
      refuses(() => agg.pack([{ parent: S[1], children: [U[5]] }, { parent: S[2], children: [U[5]] }]), "DuplicateInBatch");
      refuses(() => agg.pack([{ parent: S[1], children: [U[5]] }, { parent: S[1], children: [U[6]] }]), "DuplicateInBatch", /parent .* appears twice/);
      // two levels in one batch: the cases first, then the pallet that holds them
      agg.pack([{ parent: S[3], children: [S[1], S[2]] }, { parent: S[1], children: [U[5]] }, { parent: S[2], children: [U[6]] }]);
      assert.deepEqual(agg.pathToTop(U[6]), [S[2], S[3]]);
    });

    it("an unknown or uncommissioned parent, a parent from the wrong pool or not an SSCC, a parent of another level", function () {
      store.provision("SSCC", ssccs(0, 1, 500));
      const [free] = ssccs(0, 1, 500);
      refuses(() => agg.pack([{ parent: "NOPARENT", children: [U[0]] }]), "UnknownSerialNumber", /parent NOPARENT is not in the store/);
      refuses(() => agg.pack([{ parent: free, children: [U[0]] }]), "NotCommissioned", /parent .* is not commissioned \(Unassigned\)/);
      refuses(() => agg.pack([{ parent: X[0], children: [U[0]] }], { level: "case" }), "WrongParentPool", /from pool SSCC_X; case parents come from pool SSCC/);
      refuses(() => agg.pack([{ parent: U[39], children: [U[0]] }], { level: "case", levels: [{ name: "case", capacity: 4, parentKind: "sscc" }] }), "InvalidParent", /not an SSCC/);
      agg.pack([{ parent: S[0], children: [U[0]] }], { level: "case" });
      agg.pack([{ parent: S[1], children: [S[0]] }], { level: "pallet" });
      refuses(() => agg.pack([{ parent: S[1], children: [U[1]] }], { level: "case" }), "WrongParentLevel", /is a pallet, not a case/);
      refuses(() => agg.pack([{ parent: S[0], children: [U[1]] }], { level: "nope" }), "UnknownLevel");
    });

    it("cycles: a parent into itself, into its own child or grandchild, within one batch", function () {
      refuses(() => agg.pack([{ parent: S[0], children: [S[0]] }]), "Cycle", /into itself/);
      agg.pack([{ parent: S[0], children: [U[0]] }]);
      agg.pack([{ parent: S[1], children: [S[0]] }]);
      agg.pack([{ parent: S[2], children: [S[1]] }]);
      refuses(() => agg.pack([{ parent: S[0], children: [S[2]] }]), "Cycle", new RegExp(`${S[0]} is inside ${S[2]}`));
      refuses(() => agg.pack([{ parent: S[1], children: [S[2]] }]), "Cycle");
      refuses(() => agg.pack([{ parent: S[3], children: [S[4]] }, { parent: S[4], children: [S[3]] }]), "Cycle", /into each other/);
      refuses(() => agg.pack([{ parent: S[3], children: [S[4]] }, { parent: S[4], children: [S[5]] }, { parent: S[5], children: [S[3]] }]), "Cycle", /into each other/);
      // a cycle through the stored hierarchy: S[2] goes into S[3], S[3] into S[0], which is inside S[2]
      refuses(() => agg.pack([{ parent: S[3], children: [S[2]] }, { parent: S[0], children: [S[3]] }]), "Cycle", /would make a cycle/);
      refuses(() => agg.pack([{ parent: S[3], children: [S[4]] }, { parent: S[4], children: [S[3]] }]), "Cycle", /into each other/);
      refuses(() => agg.pack([{ parent: S[3], children: [S[3]] }]), "Cycle");
    });

    it("capacity, mixing (one GTIN, one lot) and the child level", function () {
      commission(store, "UNITS", units("L2-", 2), "L2");
      commission(store, "UNITS_B", units("B", 2));
      refuses(() => agg.pack([{ parent: S[0], children: U.slice(0, 5) }], { level: "case" }), "CapacityExceeded", /holds at most 4; .* would hold 5/);
      agg.pack([{ parent: S[0], children: U.slice(0, 3) }], { level: "case" });
      refuses(() => agg.pack([{ parent: S[0], children: U.slice(3, 5) }], { level: "case" }), "CapacityExceeded", /would hold 5/);
      refuses(() => agg.pack([{ parent: S[0], children: ["L2-000000"] }], { level: "case" }), "MixingRefused", /lot L2\) would give .* more than one lot; a case is oneGtinOneLot/);
      refuses(() => agg.pack([{ parent: S[1], children: [U[5], "B000000"] }], { level: "case" }), "MixingRefused", /more than one GTIN/);
      // a pallet is oneGtin: cases of two lots may share it, cases of two GTINs may not
      agg.pack([{ parent: S[1], children: ["L2-000000", "L2-000001"] }, { parent: S[2], children: ["B000000"] }], { level: "case" });
      agg.pack([{ parent: S[3], children: [S[0], S[1]] }], { level: "pallet" });
      assert.equal(agg.parentInfo(S[3])?.lot, "*");
      refuses(() => agg.pack([{ parent: S[4], children: [S[3]] }], { level: "pallet" }), "WrongChildLevel", /is a pallet; a pallet holds cases/);
      refuses(() => agg.pack([{ parent: S[4], children: [U[10]] }], { level: "pallet" }), "WrongChildLevel", /not a packed parent; a pallet holds cases/);
      refuses(() => agg.pack([{ parent: S[4], children: [S[2]] }], { level: "case" }), "WrongChildLevel", /is a case; a case holds units/);
      // without a level, only the universal rules apply: mixing is allowed
      agg.pack([{ parent: S[5], children: [U[20], "B000001"] }]);
    });

    it("GTINs carried in the values, children of several pools, one bad child among many (the set-wise check and the per-child path agree)", function () {
      // a pool without a GTIN criterion and labels without one: the GTIN comes from the serial number itself
      store.createPool({ poolId: "VAL", sidClass: "custom", serialRule: { pattern: ".+", minLength: 1, maxLength: 128 } });
      const a = [`(01)${GTIN_A}(21)A1`, `(01)${GTIN_A}(21)A2`];
      const b = `01${GTIN_B}21B1`;
      commission(store, "VAL", [...a, b]);
      commission(store, "UNITS_B", units("B", 1));
      refuses(() => agg.pack([{ parent: S[0], children: [a[0], b] }], { level: "case" }), "MixingRefused", /more than one GTIN/);
      agg.pack([{ parent: S[0], children: a }], { level: "case" });
      assert.equal(agg.parentInfo(S[0])?.gtin, GTIN_A);
      refuses(() => agg.pack([{ parent: S[0], children: [b] }], { level: "case" }), "MixingRefused", /more than one GTIN/);
      // children of two pools in one parent (no level: mixing allowed): one audit record per pool, each naming the parent
      const seq0 = (store.verifyAudit() as { count: number }).count;
      agg.pack([{ parent: S[1], children: [U[0], "B000000", U[1]] }]);
      const recs = [...store.auditRecords({ fromSeq: seq0 + 1 })];
      assert.deepEqual(recs.map((r) => [r.poolId, r.context.parent, r.serialNumbers]), [["UNITS", S[1], [U[0], U[1]]], ["UNITS_B", S[1], ["B000000"]]]);
      assert.equal(agg.parentInfo(S[1])?.gtin, "*");
      // one destroyed child among otherwise good ones refuses the whole batch and is named
      store.applyEvent("destroying", { serialNumbers: [U[17]] });
      const e = refuses(() => agg.pack([{ parent: S[2], children: U.slice(10, 14) }, { parent: S[3], children: U.slice(14, 18) }], { level: "case" }), "Destroyed");
      assert.deepEqual(e.details?.map((d) => d.serialNumber), [U[17]]);
      // and a child already packed among good ones
      const p = refuses(() => agg.pack([{ parent: S[2], children: [U[10], U[11], U[0]] }], { level: "case" }), "AlreadyPacked");
      assert.deepEqual(p.details?.map((d) => d.serialNumber), [U[0]]);
      assert.equal(agg.parentOf(U[10]), undefined);
    });

    it("bad arguments: no elements, no children, a parent that is not a string", function () {
      refuses(() => agg.pack([]), "InvalidArgument");
      refuses(() => agg.pack([{ parent: S[0], children: [] }]), "EmptyParent");
      refuses(() => agg.pack([{ parent: 42 as never, children: [U[0]] }]), "InvalidSerialNumber");
      refuses(() => agg.pack([{ parent: S[0], children: "U000001" as never }]), "InvalidArgument");
    });
  });

  describe("unpacking and rework", function () {
    beforeEach(function () {
      agg.pack([{ parent: S[0], children: U.slice(0, 4) }, { parent: S[1], children: U.slice(4, 6) }], { level: "case" });
      agg.pack([{ parent: S[2], children: [S[0], S[1]] }], { level: "pallet" });
    });

    it("unpacks listed children, then the rest; the emptied parent holds nothing and may be packed again", function () {
      const seq0 = (store.verifyAudit() as { count: number }).count;
      assert.deepEqual(agg.unpack(S[0], { children: [U[1], U[2]] }).children, [U[1], U[2]]);
      assert.deepEqual(agg.childrenOf(S[0]), [U[0], U[3]]);
      assert.equal(agg.parentInfo(S[0])?.count, 2);
      assert.deepEqual(agg.unpack(S[0]).children, [U[0], U[3]]);
      assert.equal(agg.parentInfo(S[0]), undefined);
      assert.equal(agg.parentOf(U[0]), undefined);
      const recs = [...store.auditRecords({ fromSeq: seq0 + 1 })];
      assert.deepEqual(recs.map((r) => [r.event, r.context.parent, r.serialNumbers, r.method]), [
        ["unpacking", S[0], [U[1], U[2]], "AggregationUnpackingEvent"],
        ["unpacking", S[0], [U[0], U[3]], "AggregationUnpackingEvent"],
      ]);
      const events = [...fromAuditRecords(recs, { companyPrefixLength: 7, gtinByPool: { UNITS: GTIN_A } })];
      assert.deepEqual(events.map((e) => [e.type, e.action, e.childEPCs?.length]), [["AggregationEvent", "DELETE", 2], ["AggregationEvent", "DELETE", 2]]);
      agg.pack([{ parent: S[5], children: [U[0]] }], { level: "case" });
    });

    it("refuses a child that is not in that parent, a parent that holds nothing, a shipped parent", function () {
      const e = refuses(() => agg.unpack(S[0], { children: [U[0], U[4]] }), "NotInParent", new RegExp(`${U[4]} is not in ${S[0]} \\(it is in ${S[1]}\\)`));
      assert.deepEqual(e.details?.map((d) => d.serialNumber), [U[4]]);
      refuses(() => agg.unpack(S[0], { children: ["NOPE"] }), "NotInParent");
      refuses(() => agg.unpack(S[7]), "NotAParent");
      refuses(() => agg.unpack("NOPE"), "UnknownSerialNumber");
      agg.applyToTree("shipping", S[2]);
      refuses(() => agg.unpack(S[2]), "AlreadyShipped");
    });

    it("replaces a damaged child in one transaction, destroying it, under the level's rules", function () {
      commission(store, "UNITS", units("L2-", 1), "L2");
      const seq0 = (store.verifyAudit() as { count: number }).count;
      agg.replace(S[0], U[2], U[20], { oldChildEvent: "destroying" });
      assert.deepEqual(agg.childrenOf(S[0]), [U[0], U[1], U[3], U[20]]);
      assert.equal(store.getSerialNumber(U[2])?.state, "Destroyed");
      assert.deepEqual([...store.auditRecords({ fromSeq: seq0 + 1 })].map((r) => [r.event, r.serialNumbers.join(",")]), [["unpacking", U[2]], ["destroying", U[2]], ["packing", U[20]]]);
      refuses(() => agg.replace(S[0], U[3], "L2-000000"), "MixingRefused");
      refuses(() => agg.replace(S[0], U[10], U[21]), "NotInParent");
      refuses(() => agg.replace(S[0], U[3], U[4]), "AlreadyPacked");
    });
  });

  describe("shipping, decommissioning or destroying a parent applies to the whole tree", function () {
    beforeEach(function () {
      agg.pack([{ parent: S[0], children: U.slice(0, 4) }, { parent: S[1], children: U.slice(4, 8) }], { level: "case" });
      agg.pack([{ parent: S[2], children: [S[0], S[1]] }], { level: "pallet" });
    });

    it("ships the pallet, its cases and units in one transaction", function () {
      const r = agg.applyToTree("shipping", S[2], { context: { bizTransaction: "urn:po:1" } });
      assert.equal(r.applied, 11);
      for (const s of [S[2], S[0], S[1], ...U.slice(0, 8)]) assert.equal(store.getSerialNumber(s)?.state, "Released", s);
      assert.equal(store.getSerialNumber(U[8])?.state, "Commissioned");
    });

    it("refuses a parent inside another one, a serial number that is no parent, and a tree holding a destroyed unit", function () {
      refuses(() => agg.applyToTree("shipping", S[0]), "NotTopLevel", new RegExp(`inside ${S[2]}`));
      refuses(() => agg.applyToTree("destroying", S[0]), "NotTopLevel", /unpack it first/);
      refuses(() => agg.applyToTree("shipping", U[0]), "NotAParent");
      refuses(() => agg.applyToTree("shipping", "NOPE"), "UnknownSerialNumber");
      refuses(() => agg.applyToTree("packing" as never, S[2]), "InvalidEvent");
      // a pack pulled as a sample while still in its case blocks the shipment until it is unpacked
      store.applyEvent("inspecting", { serialNumbers: [U[5]] });
      const e = refuses(() => agg.applyToTree("shipping", S[2]), "TransitionForbidden");
      assert.deepEqual(e.details?.map((d) => d.serialNumber), [U[5]]);
      assert.equal(store.getSerialNumber(S[2])?.state, "Commissioned");
    });

    it("decommissions and then destroys the whole tree", function () {
      agg.applyToTree("decommissioning", S[2]);
      for (const s of [S[2], S[0], U[7]]) assert.equal(store.getSerialNumber(s)?.state, "Inactive");
      agg.applyToTree("destroying", S[2]);
      for (const s of [S[2], S[1], U[0]]) assert.equal(store.getSerialNumber(s)?.state, "Destroyed");
      assert.equal(store.verifyAudit().ok, true);
    });
  });
});
