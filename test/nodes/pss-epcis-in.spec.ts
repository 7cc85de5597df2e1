/* pss-epcis-in: an EPCIS document written by the package (a line that commissioned, packed and shipped) is sent
   to the node of a fresh pool: the pool ends as the source; the same document again changes nothing; a document
   with one bad event reaches a Catch node naming it, nothing applied. */
import assert from "node:assert/strict";
import * as path from "path";
import { helper, allNodeModules, nextMessage, coreNodeModule } from "../helpers/red";
import { tmpDir } from "../helpers/tmp";
import { dbDigest } from "../helpers/digest";
import { openPoolStore } from "../../nodes/core/store";
import { aggregationFor } from "../../nodes/core/aggregation";
import * as epcis from "../../nodes/core/epcis";
import * as gs1 from "../../nodes/core/gs1";

const UNITS = ["A1", "A2", "A3", "B1", "B2", "B3"];
const [CASE1, CASE2, PALLET] = [1, 2, 3].map((i) => gs1.makeSscc("0614141", 0, i));
const ALL = [...UNITS, CASE1, CASE2, PALLET];

function pools(file: string) {
  const store = openPoolStore(file);
  store.createPool({ poolId: "units", sidClass: "US-DSCSA", selectionCriteria: { PoolID: "units" } });
  store.createPool({ poolId: "ssccs", sidClass: "GS1-SSCC", selectionCriteria: { PoolID: "ssccs" } });
  return store;
}

/** The source line in a pool file of its own, and its EPCIS document as the package writes it. */
function sourceDocument(dir: string): { doc: Record<string, unknown>; states: Record<string, string>; children: Record<string, string[]> } {
  const store = pools(path.join(dir, "source.db"));
  store.provision("units", UNITS);
  store.provision("ssccs", [CASE1, CASE2, PALLET]);
  store.pushTo("Encoded", { snCollection: { id: "u", serialNumbers: UNITS }, poolSelectionCriteria: { PoolID: "units" } });
  store.pushTo("Encoded", { snCollection: { id: "s", serialNumbers: [CASE1, CASE2, PALLET] }, poolSelectionCriteria: { PoolID: "ssccs" } });
  store.applyEvent("commissioning", { serialNumbers: UNITS, context: { lot: "LOT42", expiry: "271200" } });
  store.applyEvent("commissioning", { serialNumbers: [CASE1, CASE2, PALLET] });
  const agg = aggregationFor(store);
  agg.pack([{ parent: CASE1, children: UNITS.slice(0, 3) }, { parent: CASE2, children: UNITS.slice(3) }]);
  agg.pack([{ parent: PALLET, children: [CASE1, CASE2] }]);
  store.applyEvent("shipping", { serialNumbers: [PALLET] });
  const events = [...epcis.fromAuditRecords(store.auditRecords(), { companyPrefixLength: 7, gtinByPool: { units: "00614141123452" }, readPoint: "0614141000005.1" })];
  const doc = epcis.buildDocument(events);
  const out = { doc, ...picture(store) };
  store.close();
  return out;
}

function picture(store: ReturnType<typeof openPoolStore>): { states: Record<string, string>; children: Record<string, string[]> } {
  const agg = aggregationFor(store);
  return {
    states: Object.fromEntries(ALL.map((s) => [s, store.getSerialNumber(s)?.state ?? "absent"])),
    children: Object.fromEntries([CASE1, CASE2, PALLET].map((p) => [p, agg.childrenOf(p).sort()])),
  };
}

function flow(dbFile: string): any[] {
  return [
    { id: "t", type: "tab", label: "epcis in" },
    { id: "pool-units", type: "pss-pool", mode: "local", dbFile, poolId: "units", sidClass: "US-DSCSA", criteria: [], guardPolicy: "strict", lowThreshold: 0, maxRequest: 100 },
    { id: "in", z: "t", type: "pss-epcis-in", name: "", pool: "pool-units", ssccPool: "ssccs", unsupported: "refuse", wires: [["out"]] },
    { id: "out", z: "t", type: "helper" },
    { id: "catcher", z: "t", type: "catch", scope: null, uncaught: false, wires: [["caught"]] },
    { id: "caught", z: "t", type: "helper" },
  ];
}

function lastStatus(id: string): string {
  const calls = (helper.getNode(id) as any).status.args as Array<Array<{ text?: string }>>;
  return calls.at(-1)?.[0]?.text ?? "";
}

describe("pss-epcis-in: a received EPCIS document applied to the pool", function () {
  let tmp: ReturnType<typeof tmpDir>;
  let dbFile: string;
  let source: ReturnType<typeof sourceDocument>;

  beforeEach(async function () {
    tmp = tmpDir("serialflow-epcis-in-node-");
    source = sourceDocument(tmp.dir);
    dbFile = path.join(tmp.dir, "receiver.db");
    const s = pools(dbFile);
    aggregationFor(s); // the pool backend creates the hierarchy tables on opening, as here
    s.close();
    await helper.startServer();
    await helper.load([...allNodeModules(), coreNodeModule("25-catch")] as any, flow(dbFile));
  });
  afterEach(async function () {
    await helper.unload();
    await helper.stopServer();
    tmp.cleanup();
  });

  const read = () => {
    const s = openPoolStore(dbFile);
    try {
      return picture(s);
    } finally {
      s.close();
    }
  };

  it("applies the document: the pool ends in the source's states and hierarchy; sent again (as text), nothing changes", async function () {
    const got = nextMessage("out");
    helper.getNode("in").receive({ payload: source.doc, topic: "cmo" });
    const m = await got;
    assert.equal(m.topic, "cmo");
    assert.equal(m.payload.returnStatus, "NoError");
    assert.equal(m.payload.applied, 6);
    assert.equal(m.payload.added, ALL.length);
    assert.deepEqual(m.payload.byEvent, { commissioning: 2, packing: 3, shipping: 1 });
    assert.deepEqual(read(), { states: source.states, children: source.children });
    assert.equal(lastStatus("in"), "6 applied");
    const digest = dbDigest(dbFile);
    const again = nextMessage("out");
    helper.getNode("in").receive({ payload: JSON.stringify(source.doc) });
    const m2 = await again;
    assert.equal(m2.payload.applied, 0);
    assert.equal(m2.payload.duplicates, 6);
    assert.equal(dbDigest(dbFile), digest, "the second reception changed the pool file");
    assert.equal(lastStatus("in"), "0 applied, 6 known");
  });

  it("a document with one bad event: done(err) to the Catch node naming the event, nothing applied, red status", async function () {
    const doc = JSON.parse(JSON.stringify(source.doc));
    const events = doc.epcisBody.eventList as Array<Record<string, any>>;
    // the pallet is shipped before it is packed: the guard lets it go, then packing a shipped pallet is refused
    const ship = events.findIndex((e) => e.bizStep === "shipping");
    const [shipEvent] = events.splice(ship, 1);
    events.splice(2, 0, shipEvent);
    const digest = dbDigest(dbFile);
    const caught = nextMessage("caught");
    helper.getNode("in").receive({ payload: doc });
    const err = (await caught).error;
    assert.equal(err.code, "ImportRefused");
    assert.match(err.message, /nothing applied/);
    const problems = err.cause.problems as epcis.EventProblem[];
    assert.equal(problems.length, 1, JSON.stringify(problems));
    assert.equal(problems[0].index, 5, "the pallet's packing event, after the misplaced shipping");
    assert.equal(problems[0].eventID, events[5].eventID);
    assert.equal(problems[0].field, "childEPCs");
    assert.equal(dbDigest(dbFile), digest, "a refused document changed the pool file");
    assert.match(lastStatus("in"), /ImportRefused/);
  });

  it("a payload that is no EPCIS document: InvalidDocument / InvalidPayload, nothing applied", async function () {
    const digest = dbDigest(dbFile);
    const c1 = nextMessage("caught");
    helper.getNode("in").receive({ payload: "<hello/>" });
    assert.equal((await c1).error.code, "InvalidDocument");
    const c2 = nextMessage("caught");
    helper.getNode("in").receive({ payload: 42 });
    assert.equal((await c2).error.code, "InvalidPayload");
    assert.equal(dbDigest(dbFile), digest);
  });
});
