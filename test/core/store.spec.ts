import assert from "node:assert/strict";
import * as path from "path";
import Database from "better-sqlite3";
import { openPoolStore, PssError, SqlitePoolStore, auditHash, AuditRow, resolveSidClass, defaultGenerator } from "../../nodes/core/store";
import { tmpDir } from "../helpers/tmp";
import { dbDigest } from "../helpers/digest";

const nums = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(6, "0")}`);

/** Asserts that fn throws a PssError with `code` (and message matching `msg`) and leaves the file byte-for-byte as it was. */
function refuses(file: string, fn: () => unknown, code: string, msg?: RegExp): PssError {
  const before = dbDigest(file);
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof PssError, `expected a PssError ${code}, got ${caught === undefined ? "no error" : String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (msg) assert.match(caught.message, msg);
  assert.equal(dbDigest(file), before, "the store is exactly as before");
  return caught;
}

describe("pool store", function () {
  let tmp: ReturnType<typeof tmpDir>;
  let file: string;
  let store: SqlitePoolStore;
  let now: number;
  beforeEach(function () {
    tmp = tmpDir();
    file = path.join(tmp.dir, "pool.db");
    now = Date.parse("2025-01-01T00:00:00Z");
    store = openPoolStore(file, { actor: "spec", clock: () => now });
    store.createPool({ poolId: "A", sidClass: "custom", serialRule: { pattern: ".+", minLength: 1, maxLength: 128 }, selectionCriteria: { GTIN: "09506000134352" }, maxRequest: 100, maxCount: 1000, isDefault: true });
    store.createPool({ poolId: "B", sidClass: "custom", serialRule: { pattern: ".+", minLength: 1, maxLength: 128 }, selectionCriteria: { GTIN: "09506000134369" }, guardPolicy: "record" });
  });
  afterEach(function () {
    store.close();
    tmp.cleanup();
  });

  describe("pools and selection", function () {
    it("selects the default pool for empty criteria, a pool by its criteria or PoolID, and refuses unknown or ambiguous criteria", function () {
      assert.equal(store.selectPool(undefined).poolId, "A");
      assert.equal(store.selectPool({}).poolId, "A");
      assert.equal(store.selectPool({ GTIN: "09506000134369" }).poolId, "B");
      assert.equal(store.selectPool({ PoolID: "B" }).poolId, "B");
      assert.throws(() => store.selectPool({ GTIN: "1" }), (e: PssError) => e.code === "InvalidSelectionCriteria" && /GTIN/.test(e.message));
      store.createPool({ poolId: "C", sidClass: "custom", serialRule: { pattern: ".+", minLength: 1, maxLength: 128 }, selectionCriteria: { GTIN: "09506000134369", line: "2" } });
      assert.throws(() => store.selectPool({ GTIN: "09506000134369" }), (e: PssError) => e.code === "InvalidSelectionCriteria" && /several pools \(B, C\)/.test(e.message));
      assert.deepEqual(store.listPools().map((p) => [p.poolId, p.guardPolicy, p.isDefault]), [["A", "strict", true], ["B", "record", false], ["C", "strict", false]]);
    });

    it("refuses a second pool with the same id, a second default and bad pool options, leaving the store as before", function () {
      refuses(file, () => store.createPool({ poolId: "A", sidClass: "custom", serialRule: { pattern: ".+", minLength: 1, maxLength: 128 } }), "PoolExists", /pool A exists already/);
      refuses(file, () => store.createPool({ poolId: "D", sidClass: "custom", serialRule: { pattern: ".+", minLength: 1, maxLength: 128 }, isDefault: true }), "PoolExists", /pool A is the default already/);
      refuses(file, () => store.createPool({ poolId: "D", sidClass: "custom", serialRule: { pattern: ".+", minLength: 1, maxLength: 128 }, guardPolicy: "lenient" as never }), "InvalidPool", /guardPolicy/);
      refuses(file, () => store.createPool({ poolId: "D", sidClass: "custom", serialRule: { pattern: ".+", minLength: 1, maxLength: 128 }, maxRequest: 0 }), "InvalidPool", /maxRequest/);
      refuses(file, () => store.createPool({ poolId: "", sidClass: "custom", serialRule: { pattern: ".+", minLength: 1, maxLength: 128 } }), "InvalidPool", /poolId/);
    });
  });

  describe("provisioning", function () {
    it("adds numbers as Unassigned with one audit record, and keeps per-number properties", function () {
      assert.deepEqual(store.provision("A", nums("P", 50), { properties: { P000001: { cryptoKey: "k1", cryptoCode: "c1" } }, context: { order: "O1" } }), { added: 50 });
      assert.equal(store.countByState("A").Unassigned, 50);
      assert.deepEqual(store.getSerialNumber("P000001")?.properties, { cryptoKey: "k1", cryptoCode: "c1" });
      const rec = [...store.auditRecords()].filter((r) => r.event === "sn_adding");
      assert.equal(rec.length, 1);
      assert.deepEqual([rec[0].poolId, rec[0].toState, rec[0].serialNumbers.length, rec[0].context], ["A", "Unassigned", 50, { order: "O1" }]);
    });

    it("generates numbers through the generator seam and never repeats one", function () {
      let calls = 0;
      const s2 = openPoolStore(file, { generator: (_cls, n) => { calls++; return calls === 1 ? ["G1", "G1", ...nums("G", n - 2)] : nums("H", n); } });
      try {
        assert.deepEqual(s2.provision("A", { generate: 10 }), { added: 10 });
        assert.equal(calls, 2, "the repeated number was drawn again");
        assert.equal(s2.countByState("A").Unassigned, 10);
        assert.equal(s2.getSerialNumber("G1")?.state, "Unassigned");
      } finally {
        s2.close();
      }
    });

    it("refuses duplicates inside the batch or in the file, bad numbers and bad counts, naming them", function () {
      store.provision("B", ["X1"]);
      const e1 = refuses(file, () => store.provision("A", ["Q1", "Q2", "Q1"]), "DuplicateInBatch", /"Q1"/);
      assert.deepEqual(e1.details?.map((d) => d.serialNumber), ["Q1"]);
      refuses(file, () => store.provision("A", ["Q1", "X1"]), "DuplicateSerialNumber", /"X1"/);
      refuses(file, () => store.provision("A", ["ok", "bad\nline", ""]), "InvalidSerialNumber", /control character.*is empty/s);
      refuses(file, () => store.provision("A", []), "InvalidCount");
      refuses(file, () => store.provision("A", { generate: 0 }), "InvalidCount", /got 0/);
      refuses(file, () => store.provision("A", { generate: 1.5 }), "InvalidCount");
      refuses(file, () => store.provision("A", { generate: 1001 }), "InvalidCount", /maxCount 1000/);
      refuses(file, () => store.provision("nope", ["Q1"]), "UnknownPool", /pool nope does not exist/);
    });

    it("imports an authority file all or nothing, naming malformed lines", function () {
      assert.deepEqual(store.importFile("A", "# authority file\nI1\r\nI2\n\n  I3  \n"), { added: 3 });
      const e = refuses(file, () => store.importFile("A", "J1\nJ 2\nJ3\n\u0007J4\n"), "InvalidImportFile", /line 2/);
      assert.deepEqual(e.details?.map((d) => d.reason.split(":")[0]), ["line 2", "line 4"]);
      refuses(file, () => store.importFile("A", "# nothing\n\n"), "InvalidImportFile", /no serial number/);
      assert.equal(store.getSerialNumber("J1"), undefined);
    });
  });

  describe("SID classes (nodes/core/sid)", function () {
    it("knows the SID classes the tests below use", function () {
      assert.ok(resolveSidClass("GS1-SGTIN"), "GS1-SGTIN");
      assert.ok(resolveSidClass("RU-CHESTNY-ZNAK"), "RU-CHESTNY-ZNAK");
    });

    it("checks provisioned and pushed numbers against the pool's SID class, and generates with its generator", function () {
      store.createPool({ poolId: "G", sidClass: "gs1-sgtin" });
      const e = refuses(file, () => store.provision("G", ["OK1", "X".repeat(21), "BAD~1"]), "InvalidSerialNumber", /gs1-sgtin/);
      assert.deepEqual(e.details?.map((d) => d.serialNumber), ["X".repeat(21), "BAD~1"]);
      refuses(file, () => store.pushTo("Unallocated", { snCollection: { id: "", serialNumbers: ["BAD~2"] }, poolSelectionCriteria: { PoolID: "G" } }), "InvalidSerialNumber", /BAD~2/);
      assert.deepEqual(store.provision("G", { generate: 20 }), { added: 20 });
      assert.equal(store.countByState("G").Unassigned, 20);
    });

    it("refuses to generate numbers of an authority-issued class: they are imported", function () {
      store.createPool({ poolId: "RU", sidClass: "RU-CHESTNY-ZNAK" });
      refuses(file, () => store.provision("RU", { generate: 5 }), "AuthorityIssued", /imported/);
    });
  });

  describe("requests", function () {
    beforeEach(function () {
      store.provision("A", nums("U", 150));
    });

    it("SNRequestUnallocated provisions free Unassigned numbers into a new SNCollection", function () {
      const r = store.request("Unallocated", { count: 30, context: { line: "L1" } });
      assert.equal(r.returnStatus, "NoError");
      assert.equal(r.returnedRequestToken, "");
      assert.equal(r.snCollection.serialNumbers.length, 30);
      assert.deepEqual([r.snCollection.state, r.snCollection.associatedPoolId], ["Unallocated", "A"]);
      for (const n of r.snCollection.serialNumbers) assert.deepEqual([store.getSerialNumber(n)?.state, store.getSerialNumber(n)?.snCollectionId], ["Unallocated", r.snCollection.id]);
      const last = [...store.auditRecords()].pop()!;
      assert.deepEqual([last.event, last.fromState, last.toState, last.snCollectionId, last.serialNumbers.length], ["provisioning", "Unassigned", "Unallocated", r.snCollection.id, 30]);
    });

    it("SNRequestAllocated takes free Unallocated numbers first, then Unassigned ones, auditing each transition", function () {
      // free Unallocated numbers: provisioned by an event, bound to no collection
      store.applyEvent("provisioning", { serialNumbers: ["U000149", "U000148"] });
      const seq0 = [...store.auditRecords()].length;
      const r = store.request("Allocated", { count: 5, snCollectionId: "ORDER-1" });
      assert.equal(r.snCollection.id, "ORDER-1");
      assert.deepEqual(r.snCollection.serialNumbers.slice(0, 2).sort(), ["U000148", "U000149"]);
      const recs = [...store.auditRecords({ fromSeq: seq0 + 1 })];
      assert.deepEqual(recs.map((x) => [x.event, x.fromState, x.toState, x.serialNumbers.length]), [["provisioning", "Unassigned", "Unallocated", 3], ["sn_allocating", "Unallocated", "Allocated", 5]]);
      assert.equal(store.countByState("A").Allocated, 5);
    });

    it("SNRequestUnassigned binds numbers without changing their state; a bound number is never handed out again", function () {
      const a = store.request("Unassigned", { count: 100 });
      assert.equal(a.snCollection.state, "Unassigned");
      assert.equal(store.getSerialNumber(a.snCollection.serialNumbers[0])?.state, "Unassigned");
      const b = store.request("Allocated", { count: 100 });
      assert.equal(b.returnStatus, "InsufficientSerialNumbers");
      assert.equal(b.snCollection.serialNumbers.length, 50);
      assert.equal(b.returnedRequestToken, "");
      const all = [...a.snCollection.serialNumbers, ...b.snCollection.serialNumbers];
      assert.equal(new Set(all).size, 150);
      const c = store.request("Allocated", { count: 1 });
      assert.deepEqual([c.returnStatus, c.snCollection.serialNumbers], ["InsufficientSerialNumbers", []]);
    });

    it("pages by request token up to the pool's maxRequest; a token is good once and for its pool and target", function () {
      store.provision("A", nums("V", 200));
      const p1 = store.request("Allocated", { count: 250 });
      assert.equal(p1.snCollection.serialNumbers.length, 100);
      assert.notEqual(p1.returnedRequestToken, "");
      const p2 = store.request("Allocated", { count: 250, requestToken: p1.returnedRequestToken });
      assert.equal(p2.snCollection.id, p1.snCollection.id, "the pages fill one SNCollection");
      refuses(file, () => store.request("Allocated", { count: 250, requestToken: p1.returnedRequestToken }), "InvalidRequestToken", /unknown/);
      refuses(file, () => store.request("Unallocated", { count: 250, requestToken: p2.returnedRequestToken }), "InvalidRequestToken", /issued for SNRequestAllocated/);
      store.provision("B", nums("W", 5));
      refuses(file, () => store.request("Allocated", { count: 250, requestToken: p2.returnedRequestToken, poolSelectionCriteria: { PoolID: "B" } }), "InvalidRequestToken", /issued for pool A, not pool B/);
      const p3 = store.request("Allocated", { count: 0, requestToken: p2.returnedRequestToken });
      assert.deepEqual([p3.returnStatus, p3.snCollection.serialNumbers.length, p3.returnedRequestToken], ["NoError", 50, ""]);
      assert.equal(new Set([...p1.snCollection.serialNumbers, ...p2.snCollection.serialNumbers, ...p3.snCollection.serialNumbers]).size, 250);
    });

    it("refuses an expired token (TokenExpired), bad counts, unknown formats and foreign collections, leaving the store as before", function () {
      const p1 = store.request("Unallocated", { count: 120 });
      now += 3_600_001;
      const e = refuses(file, () => store.request("Unallocated", { count: 120, requestToken: p1.returnedRequestToken }), "InvalidRequestToken", /expired at 2025-01-01T01:00:00/);
      assert.equal(e.rule, "TokenExpired");
      refuses(file, () => store.request("Allocated", { count: 0 }), "InvalidCount", /got 0/);
      refuses(file, () => store.request("Allocated", { count: -3 }), "InvalidCount", /got -3/);
      refuses(file, () => store.request("Allocated", { count: 2.5 }), "InvalidCount", /got 2.5/);
      refuses(file, () => store.request("Allocated", { count: 1001 }), "InvalidCount", /maximum 1000/);
      refuses(file, () => store.request("Allocated", { count: 1, snFormat: "BOGUS" }), "InvalidSerialNumbersFormat", /BOGUS/);
      refuses(file, () => store.request("Allocated", { count: 1, poolSelectionCriteria: { GTIN: "0" } }), "InvalidSelectionCriteria");
      store.provision("B", ["B1"]);
      store.request("Allocated", { count: 1, snCollectionId: "BCOL", poolSelectionCriteria: { PoolID: "B" } });
      refuses(file, () => store.request("Allocated", { count: 1, snCollectionId: "BCOL" }), "InvalidSerialNumberCollection", /belongs to pool B/);
      refuses(file, () => store.request("Allocated", { count: 1, snCollectionId: p1.snCollection.id }), "InvalidSerialNumberCollection", /holds Unallocated numbers/);
    });
  });

  describe("returns and pushes", function () {
    it("SNReturnAllocated and SNReturnUnallocated free the numbers of their collection, audited", function () {
      store.provision("A", nums("R", 10));
      const r = store.request("Allocated", { count: 4, snCollectionId: "ORD" });
      const back = r.snCollection.serialNumbers.slice(0, 2);
      assert.deepEqual(store.returnSerialNumbers("Allocated", { snCollection: { id: "ORD", serialNumbers: back } }), { returnStatus: "NoError" });
      for (const n of back) assert.deepEqual([store.getSerialNumber(n)?.state, store.getSerialNumber(n)?.snCollectionId], ["Unallocated", null]);
      const u = store.request("Unallocated", { count: 2, snCollectionId: "SITE" });
      store.returnSerialNumbers("Unallocated", { snCollection: { id: "SITE", serialNumbers: u.snCollection.serialNumbers } });
      assert.equal(store.getSerialNumber(u.snCollection.serialNumbers[0])?.state, "Unassigned");
      const recs = [...store.auditRecords()].slice(-2);
      assert.deepEqual(recs.map((x) => [x.event, x.method, x.snCollectionId]), [["provisioning", "SNRequestUnallocated", "SITE"], ["sn_returning", "SNReturnUnallocated", "SITE"]]);
      // the freed numbers go out again, in a new collection
      const again = store.request("Allocated", { count: 10 });
      assert.ok(back.every((b) => again.snCollection.serialNumbers.includes(b)));
    });

    it("refuses returns from an unknown or wrong collection, of unknown numbers or in the wrong state", function () {
      store.provision("A", nums("R", 10));
      const r = store.request("Allocated", { count: 3, snCollectionId: "ORD" });
      const [a, b] = r.snCollection.serialNumbers;
      refuses(file, () => store.returnSerialNumbers("Allocated", { snCollection: { id: "nope", serialNumbers: [a] } }), "InvalidSerialNumberCollection", /nope is unknown/);
      refuses(file, () => store.returnSerialNumbers("Allocated", { snCollection: { id: "", serialNumbers: [a] } }), "InvalidSerialNumberCollection", /empty/);
      refuses(file, () => store.returnSerialNumbers("Allocated", { snCollection: { id: "ORD", serialNumbers: [a, "R000009"] } }), "InvalidSerialNumberCollection", /R000009/);
      refuses(file, () => store.returnSerialNumbers("Allocated", { snCollection: { id: "ORD", serialNumbers: [a, "ghost"] } }), "UnknownSerialNumber", /ghost/);
      refuses(file, () => store.returnSerialNumbers("Allocated", { snCollection: { id: "ORD", serialNumbers: [a, a] } }), "DuplicateInBatch");
      store.applyEvent("sn_encoding", { serialNumbers: [b] });
      const e = refuses(file, () => store.returnSerialNumbers("Allocated", { snCollection: { id: "ORD", serialNumbers: [a, b] } }), "TransitionForbidden", /Encoded/);
      assert.deepEqual(e.details?.map((d) => [d.serialNumber, d.state]), [[b, "Encoded"]]);
    });

    it("SNto* adds unknown numbers and walks every number along the forward path, one audited event per step", function () {
      store.provision("A", ["K1"]);
      store.pushTo("Encoded", { snCollection: { id: "PUSH", serialNumbers: ["K1", "N1"] }, context: { supplier: "S" } });
      for (const n of ["K1", "N1"]) assert.deepEqual([store.getSerialNumber(n)?.state, store.getSerialNumber(n)?.snCollectionId], ["Encoded", "PUSH"]);
      const recs = [...store.auditRecords()].slice(-4);
      assert.deepEqual(recs.map((x) => [x.event, x.fromState ?? null, x.toState, x.serialNumbers.length]), [
        ["sn_adding", null, "Unassigned", 1], ["provisioning", "Unassigned", "Unallocated", 2], ["sn_allocating", "Unallocated", "Allocated", 2], ["sn_encoding", "Allocated", "Encoded", 2],
      ]);
      store.pushTo("Unallocated", { snCollection: { id: "supply", serialNumbers: ["S1", "S2"] } });
      const r = store.request("Allocated", { count: 2 });
      assert.deepEqual(r.snCollection.serialNumbers.sort(), ["S1", "S2"], "pushed Unallocated numbers are free for requests");
      refuses(file, () => store.pushTo("Unallocated", { snCollection: { id: "", serialNumbers: ["K1", "N9"] } }), "TransitionForbidden", /no path from Encoded to Unallocated/);
      store.provision("B", ["BB"]);
      refuses(file, () => store.pushTo("Allocated", { snCollection: { id: "", serialNumbers: ["BB"] } }), "DuplicateSerialNumber", /another pool/);
      refuses(file, () => store.pushTo("Allocated", { snCollection: { id: "", serialNumbers: ["ok", " padded"] } }), "InvalidSerialNumber", /white space/);
      refuses(file, () => store.pushTo("Allocated", { snCollection: { id: "", serialNumbers: ["ok"] }, snFormat: "XML" }), "InvalidSerialNumbersFormat");
    });
  });

  describe("pushes under the record policy", function () {
    it("stores a push against the forward path as an anomaly, but never out of a terminal state", function () {
      store.provision("B", ["Q1", "Q2"]);
      store.pushTo("Encoded", { snCollection: { id: "", serialNumbers: ["Q1", "Q2"] }, poolSelectionCriteria: { PoolID: "B" } });
      store.applyEvent("commissioning", { serialNumbers: ["Q1"] });
      store.applyEvent("label_scrapping", { serialNumbers: ["Q2"] });
      store.pushTo("Allocated", { snCollection: { id: "", serialNumbers: ["Q1"] }, poolSelectionCriteria: { PoolID: "B" } });
      assert.equal(store.getSerialNumber("Q1")?.state, "Allocated");
      const last = [...store.auditRecords()].pop()!;
      assert.deepEqual([last.event, last.fromState, last.toState, last.anomaly, last.method], ["sn_allocating", "Commissioned", "Allocated", true, "SNtoAllocated"]);
      const e = refuses(file, () => store.pushTo("Allocated", { snCollection: { id: "", serialNumbers: ["Q2"] }, poolSelectionCriteria: { PoolID: "B" } }), "TransitionForbidden", /LabelScrapped is terminal/);
      assert.equal(e.details?.[0].state, "LabelScrapped");
    });
  });

  describe("events", function () {
    beforeEach(function () {
      store.provision("A", nums("E", 20));
      store.request("Allocated", { count: 20 });
    });

    it("refuses a whole batch when one number is forbidden, listing every offender with its state and reason", function () {
      store.applyEvent("sn_encoding", { serialNumbers: ["E000000", "E000001"] });
      const e = refuses(file, () => store.applyEvent("commissioning", { serialNumbers: ["E000000", "E000002", "E000001", "E000003"] }), "TransitionForbidden", /2 serial number\(s\).*E000002 \(Allocated\)/);
      assert.deepEqual(e.details?.map((d) => [d.serialNumber, d.state]), [["E000002", "Allocated"], ["E000003", "Allocated"]]);
      assert.equal(store.getSerialNumber("E000000")?.state, "Encoded");
      refuses(file, () => store.applyEvent("commissioning", { serialNumbers: ["E000000", "nope", "nope2"] }), "UnknownSerialNumber", /"nope", "nope2"/);
      refuses(file, () => store.applyEvent("commissioning", { serialNumbers: ["E000000", "E000000"] }), "DuplicateInBatch");
      refuses(file, () => store.applyEvent("commissioning", { serialNumbers: [] }), "InvalidCount");
      refuses(file, () => store.applyEvent("exploding" as never, { serialNumbers: ["E000000"] }), "InvalidEvent", /not a PSS event/);
      refuses(file, () => store.applyEvent("commissioning", { serialNumbers: ["E000000"], snFormat: "EPCURI" }), "InvalidSerialNumbersFormat");
      refuses(file, () => store.applyEvent("commissioning", { serialNumbers: ["E000000"], poolId: "B" }), "UnknownSerialNumber", /not in pool B/);
      refuses(file, () => store.applyEvent("commissioning", { serialNumbers: ["E000000"], context: { lot: 5 as never } }), "InvalidContext");
    });

    it("stores the label collection (lot, expiry) and per-label properties with the event", function () {
      store.applyEvent("sn_encoding", {
        serialNumbers: ["E000004", "E000005"],
        labelCollection: { id: "LOT-7", description: "lot 7", properties: { lot: "7", expiry: "2027-01-31" }, labels: [{ id: "E000004", properties: { crypto: "abc" } }, { id: "E000005" }] },
      });
      const info = store.getSerialNumber("E000004");
      assert.deepEqual([info?.state, info?.labelCollectionId, info?.properties], ["Encoded", "LOT-7", { crypto: "abc" }]);
      const last = [...store.auditRecords()].pop()!;
      assert.deepEqual([last.labelCollectionId, last.method], ["LOT-7", "LabelsEncodingEvent"]);
      refuses(file, () => store.applyEvent("commissioning", { serialNumbers: ["E000004"], labelCollection: { labels: [{ id: "E000009" }] } }), "InvalidSerialNumberCollection", /E000009/);
    });

    it("under the record policy stores forbidden transitions flagged as anomalies", function () {
      store.provision("B", ["R1", "R2"]);
      const r = store.applyEvent("commissioning", { serialNumbers: ["R1", "R2"], actor: "mes" });
      assert.deepEqual(r, { returnStatus: "NoError", applied: 2, anomalies: 2 });
      assert.equal(store.getSerialNumber("R1")?.state, "Commissioned");
      const last = [...store.auditRecords()].pop()!;
      assert.deepEqual([last.anomaly, last.actor, last.fromState, last.toState], [true, "mes", "Unassigned", "Commissioned"]);
    });
  });

  describe("low pool, transactions and the audit hook", function () {
    it("fires low after a commit that leaves fewer free numbers than the threshold", function () {
      store.createPool({ poolId: "L", sidClass: "custom", serialRule: { pattern: ".+", minLength: 1, maxLength: 128 }, lowThreshold: 10 });
      const lows: unknown[] = [];
      store.on("low", (i) => lows.push(i));
      store.provision("L", nums("L", 12));
      assert.equal(lows.length, 0);
      store.request("Allocated", { count: 5, poolSelectionCriteria: { PoolID: "L" } });
      assert.deepEqual(lows, [{ poolId: "L", available: 7, threshold: 10 }]);
    });

    it("checks low after events that take free numbers, not after events on numbers in use", function () {
      store.createPool({ poolId: "L", sidClass: "custom", serialRule: { pattern: ".+", minLength: 1, maxLength: 128 }, lowThreshold: 10 });
      const lows: Array<{ available: number }> = [];
      store.on("low", (i) => lows.push(i));
      store.provision("L", nums("L", 12));
      const got = store.request("Allocated", { count: 3, poolSelectionCriteria: { PoolID: "L" } }).snCollection.serialNumbers;
      assert.deepEqual(lows.map((l) => l.available), [9]);
      store.applyEvent("sn_encoding", { serialNumbers: got });
      store.applyEvent("commissioning", { serialNumbers: got });
      assert.equal(lows.length, 1, "encoding and commissioning do not change the free count: no check");
      const free = nums("L", 12).filter((n) => !got.includes(n))[0];
      store.applyEvent("sn_invalidating", { serialNumbers: [free] });
      assert.deepEqual(lows.map((l) => l.available), [9, 8], "invalidating a free number is checked");
    });

    it("store.transaction runs several calls and custom audit records in one transaction: all or nothing", function () {
      store.provision("A", nums("T", 3));
      const seen: string[][] = [];
      store.on("audit", (recs: Array<{ event: string }>) => seen.push(recs.map((r) => r.event)));
      const digest = dbDigest(file);
      assert.throws(() => store.transaction((tx) => {
        store.applyEvent("provisioning", { serialNumbers: ["T000000"] });
        tx.audit({ event: "packing", poolId: "A", serialNumbers: ["T000000"], context: { parent: "SSCC1" } });
        throw new Error("aggregation rule broken");
      }), /aggregation rule broken/);
      assert.equal(dbDigest(file), digest);
      assert.deepEqual(seen, []);
      store.transaction((tx) => {
        store.applyEvent("provisioning", { serialNumbers: ["T000000"] });
        tx.db.prepare("SELECT 1").get();
        tx.audit({ event: "packing", poolId: "A", serialNumbers: ["T000000"], context: { parent: "SSCC1" } });
      }, { actor: "aggregator" });
      assert.deepEqual(seen, [["provisioning", "packing"]]);
      assert.equal(store.verifyAudit().ok, true);
    });
  });

  describe("audit log", function () {
    beforeEach(function () {
      store.provision("A", nums("H", 10));
      for (let i = 0; i < 5; i++) store.request("Allocated", { count: 1 });
    });

    it("refuses UPDATE and DELETE of audit records through its triggers", function () {
      const db = new Database(file);
      try {
        assert.throws(() => db.prepare("UPDATE audit SET actor = 'x' WHERE seq = 3").run(), /append-only: UPDATE refused/);
        assert.throws(() => db.prepare("DELETE FROM audit WHERE seq = 3").run(), /append-only: DELETE refused/);
      } finally {
        db.close();
      }
    });

    const tamper = (sqls: (db: Database.Database) => void) => {
      const db = new Database(file);
      try {
        for (const t of db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'").pluck().all() as string[]) db.exec(`DROP TRIGGER ${t}`);
        sqls(db);
      } finally {
        db.close();
      }
    };

    it("locates a changed record", function () {
      assert.equal(store.verifyAudit().ok, true);
      tamper((db) => db.prepare("UPDATE audit SET actor = 'mallory' WHERE seq = 4").run());
      assert.deepEqual(pick(store.verifyAudit()), { ok: false, seq: 4, kind: "changed" });
    });

    it("locates a changed record whose hash was recomputed", function () {
      tamper((db) => {
        const r = db.prepare("SELECT * FROM audit WHERE seq = 4").get() as AuditRow;
        const forged = { ...r, actor: "mallory" };
        db.prepare("UPDATE audit SET actor = ?, hash = ? WHERE seq = 4").run("mallory", auditHash(forged));
      });
      assert.deepEqual(pick(store.verifyAudit()), { ok: false, seq: 4, kind: "changed" });
    });

    it("locates a removed record, in the middle or at the end", function () {
      tamper((db) => db.prepare("DELETE FROM audit WHERE seq = 5").run());
      assert.deepEqual(pick(store.verifyAudit()), { ok: false, seq: 5, kind: "removed" });
      tamper((db) => db.prepare("DELETE FROM audit WHERE seq = (SELECT max(seq) FROM audit)").run());
      const last = (new Database(file, { readonly: true }).prepare("SELECT max(seq) FROM audit").pluck().get() as number);
      assert.equal(pick(store.verifyAudit()).seq, 5, "the first damage is reported first");
      assert.ok(last > 5);
    });

    it("locates an inserted record (later records renumbered, the forged one hashed and linked)", function () {
      tamper((db) => {
        db.exec("UPDATE audit SET seq = -seq WHERE seq >= 4; UPDATE audit SET seq = -seq + 1 WHERE seq < 0");
        const prev = db.prepare("SELECT * FROM audit WHERE seq = 3").get() as AuditRow;
        const row: Omit<AuditRow, "hash"> = { ...prev, seq: 4, actor: "mallory", event: "destroying", prev_hash: prev.hash };
        db.prepare(`INSERT INTO audit VALUES (@seq, @time, @actor, @event, @pool_id, @serial_numbers, @from_state, @to_state, @context, @anomaly, @method, @sn_collection_id, @label_collection_id, @prev_hash, @hash)`).run({ ...row, hash: auditHash(row) });
      });
      assert.deepEqual(pick(store.verifyAudit()), { ok: false, seq: 4, kind: "inserted" });
    });
  });
});

function pick(r: { ok: boolean; seq?: number; kind?: string }): { ok: boolean; seq?: number; kind?: string } {
  return { ok: r.ok, seq: r.seq, kind: r.kind };
}

describe("the store's own random serials (a SID class without a generator of its own)", function () {
  it("are uniform over their 34 characters: no character more likely than another (byte % 34 favoured 18 of them by 8/7)", function () {
    const values = defaultGenerator("no-such-class-of-any-market", 40_000);
    assert.equal(new Set(values).size, values.length);
    const counts = new Map<string, number>();
    for (const v of values) {
      assert.match(v, /^[0-9A-HJ-NP-Z]{12}$/);
      for (const c of v) counts.set(c, (counts.get(c) ?? 0) + 1);
    }
    assert.equal(counts.size, 34);
    const expected = (values.length * 12) / 34;
    // chi-square with 33 degrees of freedom: 99.99th percentile about 72; the biased mapping gives about 2,000
    const chi = [...counts.values()].reduce((k, n) => k + (n - expected) ** 2 / expected, 0);
    assert.ok(chi < 72, `chi-square ${chi.toFixed(0)} over the 34 characters`);
  });
});
