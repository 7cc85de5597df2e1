import assert from "node:assert/strict";
import * as epcis from "../../nodes/core/epcis";
import * as gs1 from "../../nodes/core/gs1";

const OPTIONS: epcis.BuildOptions = { companyPrefixLength: 7, gtin: "00614141123452" };
const CASE = gs1.makeSscc("0614141", 0, 11);
const CASE2 = gs1.makeSscc("0614141", 0, 12);
const PALLET = gs1.makeSscc("0614141", 0, 99);
const LOT = { lot: "L1", expiry: "271231" };

let clock = Date.parse("2026-02-01T08:00:00Z");
function ev(event: string, serialNumbers: string[], context: Record<string, string> = {}): epcis.PssEventInput {
  clock += 1000;
  return { event, serialNumbers, context, time: new Date(clock).toISOString() };
}

/** The faults of a message sequence, for the US market unless told otherwise. */
function faults(msgs: epcis.PssEventInput[], options: epcis.PreflightOptions = { market: "US" }): epcis.PreflightFault[] {
  return epcis.preflight(epcis.fromEvents(msgs, OPTIONS), options);
}

/** The happy path every test breaks in one place. */
function good(): epcis.PssEventInput[] {
  return [
    ev("commissioning", ["U1", "U2", "U3", "U4"], LOT),
    ev("commissioning", [CASE, CASE2, PALLET]),
    ev("packing", ["U1", "U2"], { parent: CASE, count: "2" }),
    ev("packing", ["U3", "U4"], { parent: CASE2, count: "2" }),
    ev("packing", [CASE, CASE2], { parent: PALLET, count: "2" }),
    ev("shipping", [PALLET]),
  ];
}

function only(found: epcis.PreflightFault[], check: epcis.PreflightFault["check"], serials: string[]): void {
  assert.deepEqual(found.map((f) => f.check), [check], JSON.stringify(found, null, 1));
  assert.deepEqual(found[0].serialNumbers, serials);
  for (const s of serials) assert.ok(found[0].message.includes(s), `message names ${s}: ${found[0].message}`);
}

describe("epcis pre-flight checks", function () {
  it("a complete commission -> pack -> ship sequence passes", function () {
    assert.deepEqual(faults(good()), []);
  });

  it("NotCommissioned: children packed before they were commissioned", function () {
    const msgs = good();
    msgs.splice(0, 1, ev("commissioning", ["U1", "U3", "U4"], LOT));
    msgs.splice(3, 0, ev("commissioning", ["U2"], LOT)); // late, but before the shipping
    const found = faults(msgs);
    only(found, "NotCommissioned", ["U2"]);
    assert.equal(found[0].eventIndex, 2); // the first packing event
  });

  it("IncompleteHierarchy: a shipped pallet holding a case with no packing event", function () {
    const msgs = good().filter((m) => !(m.event === "packing" && m.context?.parent === CASE2));
    only(faults(msgs), "IncompleteHierarchy", [CASE2]);
  });

  it("IncompleteHierarchy: a shipped pallet holding a destroyed unit", function () {
    const msgs = good();
    msgs.splice(5, 0, ev("destroying", ["U3"]));
    only(faults(msgs), "IncompleteHierarchy", ["U3"]);
  });

  it("CountMismatch: the packing record declares more children than it lists", function () {
    const msgs = good();
    msgs[2] = ev("packing", ["U1", "U2"], { parent: CASE, count: "3" });
    only(faults(msgs), "CountMismatch", [CASE]);
  });

  it("AlreadyPacked: a unit packed into a second case without unpacking", function () {
    const msgs = good();
    msgs[3] = ev("packing", ["U2", "U3", "U4"], { parent: CASE2, count: "3" });
    only(faults(msgs), "AlreadyPacked", ["U2"]);
    // unpacking first makes the move legal
    msgs.splice(3, 0, ev("unpacking", ["U2"], { parent: CASE }));
    assert.deepEqual(faults(msgs), []);
  });

  it("NotInParent: unpacking a child that is not in that parent", function () {
    const msgs = good();
    msgs.splice(4, 0, ev("unpacking", ["U3"], { parent: CASE }));
    only(faults(msgs), "NotInParent", ["U3"]);
  });

  it("MissingLotOrExpiry: a market that needs them (US) refuses, one that does not (Russia) accepts", function () {
    const msgs = good();
    msgs[0] = ev("commissioning", ["U1", "U2", "U3", "U4"], { lot: "L1" });
    only(faults(msgs, { market: "US" }), "MissingLotOrExpiry", ["U1", "U2", "U3", "U4"]);
    assert.deepEqual(faults(msgs, { market: "RU" }), []);
    assert.match(faults(msgs, { market: "EU-FMD" })[0].message, /without expiry/);
  });

  it("EventAfterDestroyed: nothing may follow destroying", function () {
    const msgs = [ev("commissioning", ["U1", "U2"], LOT), ev("destroying", ["U1"]), ev("shipping", ["U1", "U2"])];
    const found = faults(msgs);
    assert.deepEqual(found.map((f) => f.check), ["EventAfterDestroyed"]);
    assert.deepEqual(found[0].serialNumbers, ["U1"]);
  });

  it("DuplicateCommissioning: the same identifier commissioned twice", function () {
    only(faults([...good(), ev("commissioning", ["U4"], LOT)]), "DuplicateCommissioning", ["U4"]);
  });

  it("a failed check blocks the document: buildDocument and writeDocument throw PreflightFailed naming the numbers", async function () {
    const msgs = good();
    msgs[2] = ev("packing", ["U1", "U2"], { parent: CASE, count: "5" });
    const events = () => epcis.fromEvents(msgs, OPTIONS);
    assert.throws(() => epcis.buildDocument(events(), { preflight: { market: "US" } }), (err: epcis.EpcisError) => err.code === "PreflightFailed" && err.faults?.length === 1 && err.message.includes(CASE));
    const { Writable } = await import("stream");
    let text = "";
    const out = new Writable({ write: (c, _e, cb) => ((text += String(c)), cb()) });
    await assert.rejects(epcis.writeDocument(events(), out, { preflight: { market: "US" } }), (err: epcis.EpcisError) => err.code === "PreflightFailed");
    assert.ok(!text.trimEnd().endsWith("]}}"), "the document was not closed");
  });

  it("priorEvents give the state of an earlier period without being checked again", function () {
    const all = good();
    const prior = [...epcis.fromEvents(all.slice(0, 5), OPTIONS)];
    assert.deepEqual(epcis.preflight(epcis.fromEvents(all.slice(5), OPTIONS), { market: "US", priorEvents: prior }), []);
    assert.deepEqual(epcis.preflight(epcis.fromEvents(all.slice(5), OPTIONS), { market: "US" }).map((f) => f.check), ["NotCommissioned", "IncompleteHierarchy"]);
  });

  it("an unknown market is a clear error", function () {
    assert.throws(() => faults(good(), { market: "Atlantis" }), (err: epcis.EpcisError) => err.code === "BadOption" && /Atlantis/.test(err.message));
  });
});
