/* The live builder over a real pool file: one scan at a time, double reads, refusals, full and partial parents,
   parents drawn from their pool, restart on the same file. */
import assert from "node:assert/strict";
import * as path from "path";
import { PssError, openPoolStore, type SqlitePoolStore } from "../../nodes/core/store";
import { Aggregation, AggregationBuilder, type AggregationLevel } from "../../nodes/core/aggregation";
import { tmpDir } from "../helpers/tmp";
import { dbDigest } from "../helpers/digest";
import { commission, openFixture, units, GTIN_A } from "./aggregation-fixture";
import { fromAuditRecords } from "../../nodes/core/epcis";
import { toEpcUri } from "../../nodes/core/gs1";

const LEVELS: AggregationLevel[] = [
  { name: "bundle", capacity: 3, parentPools: ["BUNDLES"], mixing: "oneGtinOneLot" },
  { name: "case", capacity: 2, parentPools: ["SSCC"], parentKind: "sscc", mixing: "oneGtinOneLot" },
];

describe("aggregation: the live builder", function () {
  let tmp: ReturnType<typeof tmpDir>;
  let file: string;
  let store: SqlitePoolStore;
  let agg: Aggregation;
  let b: AggregationBuilder;
  const U = units("U", 20);

  beforeEach(function () {
    tmp = tmpDir();
    file = path.join(tmp.dir, "builder.db");
    store = openFixture(file, { units: 20, ssccFree: 5, bundleFree: 10 });
    agg = new Aggregation(store);
    b = new AggregationBuilder(agg, "line1", LEVELS, { actor: "camera" });
  });
  afterEach(function () {
    store.close();
    tmp.cleanup();
  });

  it("packs scans into bundles and bundles into a case, drawing, encoding and commissioning each parent", function () {
    const results = U.slice(0, 6).map((u) => b.scan(u));
    assert.deepEqual(results.map((r) => r.status), ["added", "added", "added", "added", "added", "added"]);
    assert.deepEqual(results.map((r) => r.closed.map((c) => c.level)), [[], [], ["bundle"], [], [], ["bundle", "case"]]);
    const [bundle1] = results[2].closed;
    const [bundle2, kase] = results[5].closed;
    assert.deepEqual(bundle1.children, U.slice(0, 3));
    assert.equal(bundle1.full, true);
    assert.equal(bundle1.parentPool, "BUNDLES");
    assert.deepEqual(kase.children, [bundle1.parent, bundle2.parent]);
    assert.match(kase.parent, /^\d{18}$/);
    assert.equal(store.getSerialNumber(kase.parent)?.state, "Commissioned");
    assert.equal(store.getSerialNumber(kase.parent)?.poolId, "SSCC");
    assert.deepEqual(agg.pathToTop(U[4]), [bundle2.parent, kase.parent]);
    assert.deepEqual(b.open().map((o) => o.count), [0, 0]);
    const packing = [...store.auditRecords()].filter((r) => r.event === "packing");
    assert.deepEqual(packing.map((r) => [r.context.parent, r.context.level, r.context.builder, r.actor, r.serialNumbers.length]), [
      [bundle1.parent, "bundle", "line1", "camera", 3], [bundle2.parent, "bundle", "line1", "camera", 3], [kase.parent, "case", "line1", "camera", 2],
    ]);
    // the parent was commissioned before it was packed into (OPEN-SCS annex A.4)
    const seqOf = (ev: string, s: string) => [...store.auditRecords()].find((r) => r.event === ev && r.serialNumbers.includes(s))?.seq as number;
    assert.ok(seqOf("commissioning", kase.parent) < packing[2].seq);
  });

  it("ignores double reads (also of the unit that just closed a parent) and refuses bad scans with their reason, changing nothing", function () {
    store.provision("UNITS", ["NEW1"]);
    store.applyEvent("destroying", { serialNumbers: [U[19]] });
    commission(store, "UNITS", ["LOT2-1"], "L2");
    commission(store, "UNITS_B", ["GTB-1"]);
    b.scan(U[0]);
    assert.equal(b.scan(U[0]).status, "duplicate");
    b.scan(U[1]);
    const closing = b.scan(U[2]);
    assert.equal(closing.closed.length, 1);
    agg.pack([{ parent: U[15], children: [U[10]] }]);
    const before = dbDigest(file);
    assert.equal(b.scan(U[2]).status, "duplicate");
    assert.equal(b.scan(U[1]).status, "duplicate");
    assert.equal(b.scan(` ${U[2]}\r\n`).status, "duplicate");
    const refusal = (s: unknown) => {
      const r = b.scan(s);
      assert.equal(r.status, "refused", String(s));
      return [r.code, r.reason];
    };
    assert.deepEqual(refusal("NOREAD"), ["UnknownSerialNumber", "scanned NOREAD is not in the store"]);
    assert.equal(refusal("NEW1")[0], "NotCommissioned");
    assert.equal(refusal(U[19])[0], "Destroyed");
    assert.deepEqual(refusal(U[10]), ["AlreadyPacked", `${U[10]} is already inside ${U[15]}`]);
    assert.equal(refusal(closing.closed[0].parent)[0], "WrongChildLevel");
    assert.equal(refusal("")[0], "InvalidSerialNumber");
    assert.equal(refusal(42)[0], "InvalidSerialNumber");
    assert.equal(dbDigest(file), before, "double reads and refusals store nothing");
    // mixing: the open bundle and case hold lot L1 of GTIN A
    b.scan(U[3]);
    assert.match(refusal("LOT2-1")[1] as string, /would give the open bundle more than one lot/);
    assert.equal(refusal("GTB-1")[0], "MixingRefused");
    // another builder may not take a unit that waits here
    const other = new AggregationBuilder(agg, "line2", LEVELS);
    assert.equal(other.scan(U[3]).code, "AlreadyInProgress");
  });

  it("closes a partial parent by request, refuses to close an empty one, and takes a waiting unit out", function () {
    b.scan(U[0]);
    b.scan(U[1]);
    assert.deepEqual(b.remove(U[1]), { removed: U[1], level: "bundle" });
    assert.throws(() => b.remove(U[1]), (e: PssError) => e.code === "NotInParent");
    const closed = b.close();
    assert.deepEqual(closed.map((c) => [c.level, c.children.length, c.full]), [["bundle", 1, false]]);
    assert.deepEqual(b.open().map((o) => o.count), [0, 1]);
    const before = dbDigest(file);
    assert.throws(() => b.close("bundle"), (e: PssError) => e.code === "EmptyParent" && /open bundle is empty/.test(e.message));
    assert.throws(() => b.close("nope"), (e: PssError) => e.code === "UnknownLevel");
    assert.equal(dbDigest(file), before);
    b.scan(U[2]);
    const all = b.close("all");
    assert.deepEqual(all.map((c) => [c.level, c.children.length]), [["bundle", 1], ["case", 2]]);
    assert.throws(() => b.close(), (e: PssError) => e.code === "EmptyParent" && /nothing to close/.test(e.message));
    assert.throws(() => b.close("all"), (e: PssError) => e.code === "EmptyParent");
  });

  it("a pool without free parents refuses the closing scan as a whole; a unit destroyed while waiting blocks the close until removed", function () {
    const small = openPoolStore(path.join(tmp.dir, "small.db"));
    try {
      small.createPool({ poolId: "UNITS", sidClass: "custom", serialRule: { pattern: ".+", minLength: 1, maxLength: 128 }, isDefault: true });
      small.createPool({ poolId: "BUNDLES", sidClass: "custom", serialRule: { pattern: ".+", minLength: 1, maxLength: 128 } });
      small.createPool({ poolId: "SSCC", sidClass: "GS1-SSCC" });
      commission(small, "UNITS", units("S", 3));
      const sb = new AggregationBuilder(new Aggregation(small), "x", LEVELS);
      sb.scan("S000000");
      sb.scan("S000001");
      assert.throws(() => sb.scan("S000002"), (e: PssError) => e.code === "InsufficientSerialNumbers" && /pool BUNDLES has no free serial number for the next bundle/.test(e.message));
      assert.deepEqual(sb.pending(), ["S000000", "S000001"], "the closing scan was not kept");
    } finally {
      small.close();
    }
    b.scan(U[0]);
    b.scan(U[1]);
    store.applyEvent("destroying", { serialNumbers: [U[0]] });
    assert.throws(() => b.scan(U[2]), (e: PssError) => e.code === "Destroyed");
    b.remove(U[0]);
    assert.equal(b.scan(U[2]).status, "added");
    assert.equal(b.scan(U[3]).closed.length, 1);
  });

  it("keeps parents in progress in the file: a new process on the same file finishes the same case", function () {
    b.scan(U[0]);
    b.scan(U[1]);
    b.scan(U[2]);
    b.scan(U[3]);
    store.close();
    store = openPoolStore(file, { actor: "spec" });
    agg = new Aggregation(store);
    b = new AggregationBuilder(agg, "line1", LEVELS);
    assert.deepEqual(b.open().map((o) => o.count), [1, 1]);
    assert.equal(b.scan(U[3]).status, "duplicate");
    assert.equal(b.scan(U[2]).status, "duplicate", "the unit that closed the last bundle before the restart");
    b.scan(U[4]);
    const r = b.scan(U[5]);
    assert.deepEqual(r.closed.map((c) => c.level), ["bundle", "case"]);
    assert.deepEqual(agg.descendants(r.closed[1].parent).filter((s) => s.startsWith("U")).sort(), U.slice(0, 6));
  });

  it("refuses a changed configuration that no longer fits the waiting children, and bad levels", function () {
    b.scan(U[0]);
    b.scan(U[1]);
    assert.throws(() => new AggregationBuilder(agg, "line1", [{ ...LEVELS[0], capacity: 1 }, LEVELS[1]]), (e: PssError) => e.code === "BuilderChanged");
    assert.throws(() => new AggregationBuilder(agg, "line3", [{ name: "case", capacity: 0, parentPools: ["SSCC"] }]), (e: PssError) => e.code === "InvalidLevel");
    assert.throws(() => new AggregationBuilder(agg, "line3", [{ name: "case", capacity: 2 }]), (e: PssError) => e.code === "InvalidLevel" && /names no parent pool/.test(e.message));
    assert.throws(() => new AggregationBuilder(agg, "line3", [{ name: "case", capacity: 2, parentPools: ["NOPE"] }]), (e: PssError) => e.code === "UnknownPool");
    assert.throws(() => new AggregationBuilder(agg, "line3", [{ name: "case", capacity: 2, parentPools: ["SSCC"], mixing: "mono" as never }]), (e: PssError) => e.code === "InvalidLevel");
    assert.equal(b.discard(), 2);
    new AggregationBuilder(agg, "line1", [{ ...LEVELS[0], capacity: 1 }, LEVELS[1]]);
  });

  it("a serialised homogeneous parent (a US DSCSA case) is commissioned with the lot and expiry of its contents: context, label data, ILMD; an SSCC parent carries none", function () {
    const BUNDLE_GTIN = "09506000134376";
    const results = U.slice(0, 6).map((u) => b.scan(u));
    const bundle1 = results[2].closed[0];
    const [bundle, kase] = results[5].closed;
    assert.deepEqual([bundle1.parent, bundle.parent].map((p) => store.getSerialNumber(p)?.poolId), ["BUNDLES", "BUNDLES"]);
    assert.deepEqual([bundle1.lot, bundle1.expiry], ["L1", "271231"]);
    // the builder's answer (and so the aggregator's label request) names the lot and expiry of a serialised bundle
    assert.equal(bundle.lot, "L1");
    assert.equal(bundle.expiry, "271231");
    assert.equal(kase.lot, undefined, "an SSCC is no product identifier: no lot or expiry");
    const commissioning = (s: string) => [...store.auditRecords()].find((r) => r.event === "commissioning" && r.serialNumbers.includes(s));
    const rec = commissioning(bundle.parent);
    assert.equal(rec?.context.lot, "L1");
    assert.equal(rec?.context.expiry, "271231");
    assert.deepEqual(rec?.labelCollectionId && store.labelCollectionProperties(rec.labelCollectionId), { lot: "L1", expiry: "271231" });
    assert.equal(commissioning(kase.parent)?.context.lot, undefined);
    assert.equal(commissioning(kase.parent)?.labelCollectionId ?? undefined, undefined);
    // the packing record names the bundle's pool, so EPCIS gives it the bundle GTIN, not the units'
    const packing = [...store.auditRecords()].filter((r) => r.event === "packing");
    assert.deepEqual(packing.map((r) => r.context.parentPool), ["BUNDLES", "BUNDLES", undefined]);
    const events = [...fromAuditRecords(store.auditRecords(), { companyPrefixLength: 7, gtinByPool: { UNITS: GTIN_A, BUNDLES: BUNDLE_GTIN } })];
    const bundleEpc = toEpcUri([{ ai: "01", value: BUNDLE_GTIN }, { ai: "21", value: bundle.parent }], 7);
    const commissioned = events.find((e) => e.type === "ObjectEvent" && e.bizStep === "commissioning" && e.epcList?.includes(bundleEpc));
    assert.ok(commissioned, `a commissioning event of ${bundleEpc}`);
    assert.deepEqual(commissioned.ilmd, { "cbvmda:lotNumber": "L1", "cbvmda:itemExpirationDate": "2027-12-31" });
    const agg2 = events.find((e) => e.type === "AggregationEvent" && e.parentID === bundleEpc);
    assert.ok(agg2, "the bundle is the parent of an AggregationEvent under its own GTIN");
    assert.ok(agg2.childEPCs?.every((c) => c.startsWith(`urn:epc:id:sgtin:9506000.0${GTIN_A.slice(8, 13)}.`)));
    const caseEvent = events.find((e) => e.type === "AggregationEvent" && e.childEPCs?.includes(bundleEpc));
    assert.ok(caseEvent?.parentID?.startsWith("urn:epc:id:sscc:"));
    // rework: unpacking the bundle is an AggregationEvent DELETE under the bundle's own GTIN too
    agg.unpack(kase.parent);
    agg.unpack(bundle.parent, { children: [U[3]] });
    const unpacked = [...fromAuditRecords(store.auditRecords({ fromSeq: (packing.at(-1)?.seq as number) + 1 }), { companyPrefixLength: 7, gtinByPool: { UNITS: GTIN_A, BUNDLES: BUNDLE_GTIN } })];
    const del = unpacked.find((e) => e.type === "AggregationEvent" && e.action === "DELETE" && e.childEPCs?.some((c) => c.endsWith(`.${U[3]}`)));
    assert.equal(del?.parentID, bundleEpc);
  });

  it("a serialised homogeneous parent refuses contents of one lot with two expiry dates (its identifier carries one)", function () {
    const more = units("X", 3);
    commission(store, "UNITS", more.slice(0, 2));
    store.pushTo("Encoded", { snCollection: { id: "", serialNumbers: [more[2]] }, poolSelectionCriteria: { PoolID: "UNITS" } });
    store.applyEvent("commissioning", { serialNumbers: [more[2]], labelCollection: { properties: { lot: "L1", expiry: "280131" } } });
    b.scan(more[0]);
    b.scan(more[1]);
    const before = dbDigest(file);
    assert.throws(() => b.scan(more[2]), (e: PssError) => e.code === "MixingRefused" && /expiry dates 271231, 280131/.test(e.message));
    assert.equal(dbDigest(file), before, "nothing drawn, nothing packed");
  });

  it("a parent waiting in an open builder cannot be unpacked, shipped or filled further", function () {
    const r = [U[0], U[1], U[2]].map((u) => b.scan(u))[2];
    const bundle = r.closed[0].parent;
    assert.throws(() => agg.unpack(bundle), (e: PssError) => e.code === "ParentInProgress");
    assert.throws(() => agg.applyToTree("shipping", bundle), (e: PssError) => e.code === "ParentInProgress");
    assert.throws(() => agg.pack([{ parent: bundle, children: [U[9]] }]), (e: PssError) => e.code === "ParentInProgress");
  });
});
