/* pss-epcis: a DSCSA-style line driven through the PSS nodes (request, encode, commission units and SSCCs, pack two
   cases and a pallet, ship the pallet), exported from the audit log and from the nodes' result messages, checked event
   by event and against the official EPCIS 2.0 JSON schema; EPCIS 1.2 XML read back with a real XML parser; pre-flight
   faults reach a Catch node and nothing is emitted. */
import assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { helper, allNodeModules, nextMessage, coreNodeModule } from "../helpers/red";
import { tmpDir } from "../helpers/tmp";
import { requireShared } from "../helpers/paths";
import { epcis12XsdValidator } from "../helpers/epcis-schema";
import { openPoolStore } from "../../nodes/core/store";
import * as gs1 from "../../nodes/core/gs1";
import { Aggregation, AggregationBuilder } from "../../nodes/core/aggregation";

const GTIN = "00614141123452"; // GS1 Company Prefix 0614141 (7 digits)
const GLN = "0614141000005";
const UNITS = ["A1", "A2", "A3", "B1", "B2", "B3"];
const [CASE1, CASE2, PALLET] = [1, 2, 3].map((i) => gs1.makeSscc("0614141", 0, i));
const PO = "urn:epcglobal:cbv:bt:0614141000005:PO-7";
const sgtin = (s: string) => `urn:epc:id:sgtin:0614141.012345.${s}`;
const sscc = (s: string) => gs1.toEpcUri([{ ai: "00", value: s }], 7);

type Doc = { type: string; schemaVersion: string; epcisBody: { eventList: Array<Record<string, any>> } };

/** The official EPCIS 2.0 JSON schema with format checks on (ajv + ajv-formats); skips the test when the schema is absent. */
function schemaValidator(ctx: Mocha.Context): (doc: unknown) => string | null {
  const file = requireShared(ctx, "reference/epcis/EPCIS-JSON-Schema.json");
  let Ajv: any;
  let addFormats: any;
  try {
    Ajv = require("ajv");
    addFormats = require("ajv-formats");
  } catch {
    console.log("      skipped: ajv / ajv-formats are not installed (devDependencies)");
    ctx.skip();
  }
  const ajv = new (Ajv.default ?? Ajv)({ strict: false, allErrors: true });
  (addFormats.default ?? addFormats)(ajv);
  const validate = ajv.compile(JSON.parse(fs.readFileSync(file, "utf8")));
  return (doc) => (validate(doc) ? null : ajv.errorsText(validate.errors, { separator: "\n" }));
}

const EPCIS_OPTS = { companyPrefixLength: 7, gtin: GTIN, readPoint: `${GLN}.1`, bizLocation: GLN, market: "US", identifiers: "epc", format: "jsonld" };

function flow(dbFile: string, extra: Array<Record<string, unknown>> = [], guardPolicy = "strict"): any[] {
  const f = (id: string, type: string, pool: string, more: Record<string, unknown> = {}, toEpcis = false) => ({
    id, z: "t", type, name: "", pool: `pool-${pool}`, snFormat: "SERIALONLY", snCollectionId: "", context: "", wires: [[`${id}-out`, ...(toEpcis ? ["epcisM"] : [])]], ...more,
  });
  const steps = [
    f("reqU", "pss-sn-request-allocated", "units", { count: 6 }),
    f("encU", "pss-labels-encoding", "units", {}, true),
    f("comU", "pss-sid-commissioning", "units", { context: JSON.stringify({ lot: "LOT42", expiry: "271200" }) }, true),
    f("reqS", "pss-sn-request-allocated", "ssccs", { count: 3 }),
    f("encS", "pss-labels-encoding", "ssccs", {}, true),
    f("comS", "pss-sid-commissioning", "ssccs", {}, true),
    f("pack", "pss-aggregation-packing", "units", {}, true),
    f("ship", "pss-sid-shipping", "ssccs", { context: JSON.stringify({ bizTransaction: PO, destination: "0614141000012" }) }, true),
  ];
  const pool = (poolId: string, sidClass: string) => ({ id: `pool-${poolId}`, type: "pss-pool", mode: "local", dbFile, poolId, sidClass, criteria: [], guardPolicy, lowThreshold: 0, maxRequest: 100 });
  const epcisNode = (id: string, more: Record<string, unknown>) => ({ id, z: "t", type: "pss-epcis", name: "", pool: "pool-units", ...EPCIS_OPTS, wires: [[`${id}-out`]], ...more });
  const outs = [...steps.map((s) => s.id), "epcisA", "epcisM", "epcisX"].map((id) => ({ id: `${id}-out`, z: "t", type: "helper" }));
  return [
    { id: "t", type: "tab", label: "epcis" },
    pool("units", "US-DSCSA"),
    pool("ssccs", "GS1-SSCC"),
    ...steps,
    epcisNode("epcisA", { source: "audit" }),
    epcisNode("epcisM", { source: "messages", pool: "" }),
    epcisNode("epcisX", { source: "audit", format: "xml12" }),
    ...outs,
    { id: "catcher", z: "t", type: "catch", scope: null, uncaught: false, wires: [["caught"]] },
    { id: "caught", z: "t", type: "helper" },
    ...extra,
  ];
}

function prepare(dir: string, guardPolicy: "strict" | "record" = "strict"): string {
  const dbFile = path.join(dir, "line.db");
  const store = openPoolStore(dbFile);
  store.createPool({ poolId: "units", sidClass: "US-DSCSA", selectionCriteria: { PoolID: "units" }, guardPolicy });
  store.createPool({ poolId: "ssccs", sidClass: "GS1-SSCC", selectionCriteria: { PoolID: "ssccs" }, guardPolicy });
  store.provision("units", UNITS);
  store.provision("ssccs", [CASE1, CASE2, PALLET]);
  store.close();
  return dbFile;
}

async function call(id: string, payload: unknown, extra: Record<string, unknown> = {}): Promise<Record<string, any>> {
  const got = nextMessage(`${id}-out`);
  helper.getNode(id).receive({ payload, ...extra });
  return got;
}

/** Count what a helper node receives from now on. */
function counter(id: string): { n: number } {
  const c = { n: 0 };
  helper.getNode(id).on("input", () => c.n++);
  return c;
}

/** Resolves when node `id` sets (or has set) a status whose text matches. */
function statusOf(id: string, re: RegExp, already = false): Promise<string> {
  return new Promise((resolve) => {
    const n = helper.getNode(id) as any;
    const past = already ? (n.status.args as Array<Array<{ text?: string }>>).map((a) => a[0]?.text ?? "").find((t) => re.test(t)) : undefined;
    if (past !== undefined) return resolve(past);
    const on = (call: { args: Array<{ text?: string }> }) => {
      const t = call.args[0]?.text ?? "";
      if (re.test(t)) {
        n.removeListener("call:status", on);
        resolve(t);
      }
    };
    n.on("call:status", on);
  });
}

/** The DSCSA-style line, through the nodes. */
async function runLine(): Promise<void> {
  const u = await call("reqU", { count: 6 });
  assert.deepEqual([...u.payload.snCollection.serialNumbers].sort(), [...UNITS].sort());
  await call("encU", u.payload);
  await call("comU", { serialNumbers: UNITS });
  const s = await call("reqS", { count: 3 });
  await call("encS", s.payload);
  await call("comS", { serialNumbers: [CASE1, CASE2, PALLET] });
  const p = await call("pack", {
    aggregationElement: [
      { parentElement: { id: CASE1 }, parentElementCollection: { serialNumbers: UNITS.slice(0, 3) } },
      { parentElement: { id: CASE2 }, parentElementCollection: { serialNumbers: UNITS.slice(3) } },
    ],
  });
  assert.equal(p.payload.returnStatus, "NoError");
  await call("pack", { parent: PALLET, children: [CASE1, CASE2] });
  const sh = await call("ship", { serialNumbers: [PALLET] });
  assert.equal(sh.payload.returnStatus, "NoError");
}

/** What the DSCSA line must give, event by event, whatever the source (the eventIDs differ: the times do). */
function checkDscsa(events: Array<Record<string, any>>): void {
  assert.deepEqual(events.map((e) => `${e.type}/${e.action}/${e.bizStep}/${e.disposition}`), [
    "ObjectEvent/ADD/commissioning/active",
    "ObjectEvent/ADD/commissioning/active",
    "AggregationEvent/ADD/packing/in_progress",
    "AggregationEvent/ADD/packing/in_progress",
    "AggregationEvent/ADD/packing/in_progress",
    "ObjectEvent/OBSERVE/shipping/in_transit",
  ]);
  const [units, ssccs, case1, case2, pallet, ship] = events;
  assert.deepEqual([...units.epcList].sort(), UNITS.map(sgtin).sort());
  assert.deepEqual(units.ilmd, { "cbvmda:lotNumber": "LOT42", "cbvmda:itemExpirationDate": "2027-12-31" });
  assert.deepEqual(ssccs.epcList, [CASE1, CASE2, PALLET].map(sscc));
  assert.equal(ssccs.ilmd, undefined);
  assert.equal(case1.parentID, sscc(CASE1));
  assert.deepEqual(case1.childEPCs, UNITS.slice(0, 3).map(sgtin));
  assert.equal(case2.parentID, sscc(CASE2));
  assert.deepEqual(case2.childEPCs, UNITS.slice(3).map(sgtin));
  assert.equal(pallet.parentID, sscc(PALLET));
  assert.deepEqual(pallet.childEPCs, [CASE1, CASE2].map(sscc));
  assert.deepEqual(ship.epcList, [sscc(PALLET)]);
  assert.deepEqual(ship.bizTransactionList, [{ type: "po", bizTransaction: PO }]);
  assert.deepEqual(ship.destinationList, [{ type: "owning_party", destination: "urn:epc:id:pgln:0614141.00001" }]);
  for (const e of events) {
    assert.deepEqual(e.readPoint, { id: "urn:epc:id:sgln:0614141.00000.1" });
    assert.deepEqual(e.bizLocation, { id: "urn:epc:id:sgln:0614141.00000.0" });
    assert.match(e.eventID, /^ni:\/\/\/sha-256;[0-9a-f]{64}\?ver=CBV2\.0$/);
  }
  assert.equal(new Set(events.map((e) => e.eventID)).size, events.length, "every event has its own ID");
}

describe("pss-epcis node", function () {
  let tmp: ReturnType<typeof tmpDir>;
  beforeEach(async function () {
    tmp = tmpDir("serialflow-epcis-node-");
    await helper.startServer();
  });
  afterEach(async function () {
    await helper.unload();
    await helper.stopServer();
    tmp.cleanup();
  });

  describe("a DSCSA-style line through the nodes", function () {
    beforeEach(async function () {
      await helper.load([...allNodeModules(), coreNodeModule("25-catch")] as any, flow(prepare(tmp.dir)));
      await runLine();
    });

    it("exports it from the audit log, event by event, as a document that validates against the EPCIS 2.0 JSON schema", async function () {
      const validate = schemaValidator(this);
      const m = await call("epcisA", "go");
      const doc = m.payload as Doc;
      assert.equal(doc.type, "EPCISDocument");
      assert.equal(doc.schemaVersion, "2.0");
      checkDscsa(doc.epcisBody.eventList);
      assert.equal(validate(doc), null, validate(doc) ?? "");
      assert.equal(m.epcis.source, "audit");
      assert.equal(m.epcis.events, 6);
      assert.ok(m.epcis.lastSeq > 0);
    });

    it("exports it from the nodes' result messages, gathered and flushed, with the same content; that document validates too", async function () {
      const validate = schemaValidator(this);
      // the result messages reach pss-epcis after the helper nodes wired before it: wait until all six are in
      await statusOf("epcisM", /^6 gathered/, true);
      const m = await call("epcisM", undefined, { flush: true });
      const doc = m.payload as Doc;
      checkDscsa(doc.epcisBody.eventList);
      assert.equal(validate(doc), null, validate(doc) ?? "");
      // the audit-log document says the same, event by event, apart from the times and so the eventIDs
      const a = (await call("epcisA", "go")).payload as Doc;
      const strip = (e: Record<string, any>) => {
        const { eventID: _i, eventTime: _t, ...rest } = e;
        return rest;
      };
      assert.deepEqual(doc.epcisBody.eventList.map(strip), a.epcisBody.eventList.map(strip));
    });

    it("since the last export: a second trigger finds nothing new and sends nothing; a period or seq range exports again", async function () {
      const first = await call("epcisA", "go");
      assert.equal(first.payload.epcisBody.eventList.length, 6);
      const outs = counter("epcisA-out");
      const quiet = statusOf("epcisA", /no new events/);
      helper.getNode("epcisA").receive({ payload: "again" });
      await quiet;
      assert.equal(outs.n, 0, "nothing new: nothing sent");
      // an explicit period does not depend on the cursor
      const again = await call("epcisA", { fromSeq: 1 });
      assert.equal(again.payload.epcisBody.eventList.length, 6);
      const ranged = await call("epcisA", { fromTime: "2000-01-01T00:00:00Z", toTime: new Date(Date.now() + 60_000).toISOString() });
      assert.equal(ranged.payload.epcisBody.eventList.length, 6);
    });

    it("a later period is pre-flight checked against the events before it: shipping exported alone passes (its hierarchy was packed earlier)", async function () {
      const store = openPoolStore(path.join(tmp.dir, "line.db"));
      const shipSeq = [...store.auditRecords()].filter((r) => r.event === "shipping")[0].seq;
      store.close();
      const m = await call("epcisA", { fromSeq: shipSeq });
      const events = m.payload.epcisBody.eventList;
      assert.deepEqual(events.map((e: any) => e.bizStep), ["shipping"]);
    });

    it("writes EPCIS 1.2 XML that a real XML parser reads, with the 1.2 element order and CBV URNs", async function () {
      const m = await call("epcisX", "go");
      const xml = m.payload as string;
      assert.equal(typeof xml, "string");
      // sax in strict mode: a well-formedness error throws. sax comes with Node-RED (xml2js, under its XML node);
      // the element order is checked here, the schema in the US partners test below
      let sax: any;
      try {
        sax = require("sax");
      } catch {
        console.log("      skipped: no XML parser (sax) installed");
        this.skip();
      }
      const parser = sax.parser(true, { xmlns: true });
      const stack: string[] = [];
      const events: Array<{ type: string; children: string[]; text: Record<string, string[]> }> = [];
      let text = "";
      let root = "";
      parser.onopentag = (t: { name: string; uri?: string }) => {
        if (stack.length === 0) root = `${t.uri}|${t.name}`;
        if (stack.length === 3 && ["ObjectEvent", "AggregationEvent"].includes(t.name)) events.push({ type: t.name, children: [], text: {} });
        else if (stack.length === 4) events[events.length - 1].children.push(t.name);
        stack.push(t.name);
        text = "";
      };
      parser.onclosetag = (name: string) => {
        stack.pop();
        if (events.length && stack.length >= 4 && text.trim()) (events[events.length - 1].text[name] ??= []).push(text.trim());
        text = "";
      };
      parser.ontext = (t: string) => (text += t);
      parser.write(xml).close();
      assert.equal(root, "urn:epcglobal:epcis:xsd:1|epcis:EPCISDocument");
      assert.deepEqual(events.map((e) => e.type), ["ObjectEvent", "ObjectEvent", "AggregationEvent", "AggregationEvent", "AggregationEvent", "ObjectEvent"]);
      // EPCIS 1.2 XSD sequence (EPCISEventType, then the event's own elements; extension last)
      assert.deepEqual(events[0].children, ["eventTime", "eventTimeZoneOffset", "baseExtension", "epcList", "action", "bizStep", "disposition", "readPoint", "bizLocation", "extension"]);
      assert.deepEqual(events[2].children, ["eventTime", "eventTimeZoneOffset", "baseExtension", "parentID", "childEPCs", "action", "bizStep", "disposition", "readPoint", "bizLocation"]);
      assert.deepEqual(events[5].children, ["eventTime", "eventTimeZoneOffset", "baseExtension", "epcList", "action", "bizStep", "disposition", "readPoint", "bizLocation", "bizTransactionList", "extension"]);
      assert.deepEqual(events[0].text.bizStep, ["urn:epcglobal:cbv:bizstep:commissioning"]);
      assert.deepEqual(events[0].text["cbvmda:lotNumber"], ["LOT42"]);
      assert.deepEqual(events[2].text.parentID, [sscc(CASE1)]);
      assert.deepEqual(events[2].text.epc, UNITS.slice(0, 3).map(sgtin));
      assert.deepEqual(events[5].text.disposition, ["urn:epcglobal:cbv:disp:in_transit"]);
      assert.deepEqual(events[5].text.bizTransaction, [PO]);
    });
  });

  describe("EPCIS 1.2 XML for US partners: SBDH, master data, DSCSA transaction statement", function () {
    const PRODUCT = { type: "urn:epcglobal:epcis:vtype:EPCClass", id: "urn:epc:idpat:sgtin:0614141.012345.*", attributes: { "urn:epcglobal:cbv:mda#regulatedProductName": "Examplumab 10 mg" } };
    const load = (more: Record<string, unknown>) =>
      helper.load([...allNodeModules(), coreNodeModule("25-catch")] as any, flow(prepare(tmp.dir)).map((n: any) => (n.id === "epcisX" || n.id === "epcisM" ? { ...n, format: "xml12", ...more } : n)));

    it("the audit export carries the header with Sender, Receiver, msg.masterData and the transaction statement, valid against GS1's EPCIS 1.2 XSD", async function () {
      await load({ sender: GLN, receiver: "0614141000012", transactionStatement: true });
      await runLine();
      const m = await call("epcisX", "go", { masterData: [PRODUCT] });
      const xml = m.payload as string;
      assert.match(xml, /<sbdh:Sender>\s*<sbdh:Identifier Authority="GLN">0614141000005<\/sbdh:Identifier>/);
      assert.match(xml, /<sbdh:Receiver>\s*<sbdh:Identifier Authority="GLN">0614141000012<\/sbdh:Identifier>/);
      assert.match(xml, /<sbdh:InstanceIdentifier>urn:uuid:[0-9a-f-]{36}<\/sbdh:InstanceIdentifier>/);
      assert.match(xml, /<VocabularyElement id="urn:epc:idpat:sgtin:0614141\.012345\.\*">\s*<attribute id="urn:epcglobal:cbv:mda#regulatedProductName">Examplumab 10 mg<\/attribute>/);
      assert.match(xml, /<gs1ushc:affirmTransactionStatement>true<\/gs1ushc:affirmTransactionStatement>/);
      assert.equal((xml.match(/<ObjectEvent>|<AggregationEvent>/g) ?? []).length, 6);
      const validate = epcis12XsdValidator();
      if (!validate) return this.skip();
      assert.equal(validate(xml), null);
    });

    it("EPCIS 1.2 with a Sender and no Receiver: red status and node.error at deploy, BadOption on every message", async function () {
      await load({ sender: GLN, receiver: "" });
      const n = helper.getNode("epcisM") as any;
      assert.ok(n.error.calledWithMatch(/BadOption.*needs both a Sender and a Receiver/));
      assert.ok(n.status.calledWithMatch({ fill: "red", text: "BadOption" }));
      const caught = nextMessage("caught");
      n.receive({ payload: { event: "commissioning", serialNumbers: ["A1"] } });
      assert.equal((await caught).error.code, "BadOption");
    });

    it("messages mode: a flush with malformed msg.masterData is InvalidArgument at the Catch node; the gathered events go out with the next flush", async function () {
      await load({ sender: GLN, receiver: "0614141000012" });
      await call("encU", (await call("reqU", { count: 6 })).payload);
      const com = await call("comU", { serialNumbers: UNITS });
      assert.equal(com.payload.returnStatus, "NoError");
      await statusOf("epcisM", /^1 gathered/, true);
      const caught = nextMessage("caught");
      helper.getNode("epcisM").receive({ payload: "", flush: true, masterData: [{ type: "EPCClass", id: PRODUCT.id }] });
      const err = (await caught).error;
      assert.equal(err.code, "InvalidArgument");
      assert.match(err.message, /msg\.masterData: .*vocabulary type "EPCClass" is not a URI/);
      const m = await call("epcisM", "", { flush: true, masterData: [PRODUCT] });
      assert.equal((m.payload.match(/<ObjectEvent>/g) ?? []).length, 1, "the commissioning event was kept");
      for (const u of UNITS) assert.ok(m.payload.includes(`<epc>${sgtin(u)}</epc>`), `${u} in the document`);
      assert.match(m.payload, /<EPCISMasterData>/);
    });
  });

  it("with an output file: the document is streamed to the file and the message says where", async function () {
    const out = path.join(tmp.dir, "export", "line.jsonld");
    await helper.load([...allNodeModules(), coreNodeModule("25-catch")] as any, flow(prepare(tmp.dir), [], "strict").map((n: any) => (n.id === "epcisA" ? { ...n, outFile: out } : n)));
    await runLine();
    const validate = schemaValidator(this);
    const m = await call("epcisA", "go");
    assert.deepEqual(m.payload, { file: out, format: "jsonld", events: 6, bytes: fs.statSync(out).size });
    const doc = JSON.parse(fs.readFileSync(out, "utf8"));
    checkDscsa(doc.epcisBody.eventList);
    assert.equal(validate(doc), null);
  });

  describe("pre-flight faults reach the Catch node and nothing is emitted", function () {
    it("a child packed before it was commissioned (a history recorded by another system): PreflightFailed names it; no document, no file", async function () {
      const out = path.join(tmp.dir, "blocked.jsonld");
      const dbFile = prepare(tmp.dir, "record");
      await helper.load([...allNodeModules(), coreNodeModule("25-catch")] as any, flow(dbFile, [], "record").map((n: any) => (n.id === "epcisX" ? { ...n, format: "jsonld", outFile: out } : n)));
      const u = await call("reqU", { count: 6 });
      await call("encU", u.payload);
      await call("comU", { serialNumbers: UNITS.filter((s) => s !== "B3") });
      const s = await call("reqS", { count: 3 });
      await call("encS", s.payload);
      await call("comS", { serialNumbers: [CASE1] });
      // our aggregation core refuses to pack an uncommissioned child under any policy, so such a history can only
      // come from elsewhere (a record-policy import of another system's events): written straight into the audit log
      const other = openPoolStore(dbFile);
      try {
        other.transaction((tx) => {
          tx.audit({ event: "packing", poolId: "units", serialNumbers: ["A1", "B3"], context: { parent: CASE1 }, anomaly: true, method: "AggregationPackingEvent" });
        }, { actor: "imported history" });
      } finally {
        other.close();
      }
      for (const id of ["epcisA", "epcisX"]) {
        const outs = counter(`${id}-out`);
        const caught = nextMessage("caught");
        helper.getNode(id).receive({ payload: "go" });
        const err = await caught;
        assert.equal(err.error.code, "PreflightFailed", id);
        assert.match(err.error.message, /NotCommissioned/);
        assert.match(err.error.message, /B3/);
        const faults = err.error.cause?.faults as Array<{ check: string; serialNumbers: string[] }>;
        assert.ok(faults.some((f) => f.check === "NotCommissioned" && f.serialNumbers.includes("B3")), JSON.stringify(faults));
        assert.equal(err.payload, "go", "the Catch node gets the original message");
        assert.equal(outs.n, 0, `${id}: nothing emitted`);
      }
      assert.equal(fs.existsSync(out), false, "no file, not even a partial one");
      assert.deepEqual(fs.readdirSync(tmp.dir).filter((f) => f.includes("blocked")), []);
      // the refused export did not move the cursor: the same fault again
      const again = nextMessage("caught");
      helper.getNode("epcisA").receive({ payload: "go" });
      assert.equal((await again).error.code, "PreflightFailed");
    });

    it("US market: commissioning without lot and expiry is MissingLotOrExpiry, naming the serial numbers", async function () {
      await helper.load([...allNodeModules(), coreNodeModule("25-catch")] as any, flow(prepare(tmp.dir)).map((n: any) => (n.id === "comU" ? { ...n, context: JSON.stringify({ lot: "LOT42" }) } : n)));
      const u = await call("reqU", { count: 2 });
      await call("encU", u.payload);
      await call("comU", { serialNumbers: u.payload.snCollection.serialNumbers });
      const outs = counter("epcisA-out");
      const caught = nextMessage("caught");
      helper.getNode("epcisA").receive({ payload: "go" });
      const err = await caught;
      assert.equal(err.error.code, "PreflightFailed");
      const faults = err.error.cause.faults as Array<{ check: string; serialNumbers: string[] }>;
      assert.deepEqual(faults.map((f) => f.check), ["MissingLotOrExpiry"]);
      assert.deepEqual([...faults[0].serialNumbers].sort(), [...u.payload.snCollection.serialNumbers].sort());
      assert.equal(outs.n, 0);
    });

    it("messages mode: shipping a number never commissioned is refused at the flush; the next clean batch goes out", async function () {
      await helper.load([...allNodeModules(), coreNodeModule("25-catch")] as any, flow(prepare(tmp.dir)));
      const outs = counter("epcisM-out");
      helper.getNode("epcisM").receive({ payload: { event: "commissioning", serialNumbers: ["A1"], context: { lot: "L", expiry: "280101" } } });
      helper.getNode("epcisM").receive({ payload: { event: "shipping", serialNumbers: ["A1", "ZZ9"] } });
      const caught = nextMessage("caught");
      helper.getNode("epcisM").receive({ payload: null, flush: true });
      const err = await caught;
      assert.equal(err.error.code, "PreflightFailed");
      assert.match(err.error.message, /ZZ9/);
      assert.ok(!/A1\b/.test(err.error.cause.faults.map((f: any) => f.serialNumbers.join(",")).join(";")));
      assert.equal(outs.n, 0);
      // the refused batch is dropped and left no state behind: A1 is not commissioned for the next batch either
      const caught2 = nextMessage("caught");
      helper.getNode("epcisM").receive({ payload: { event: "shipping", serialNumbers: ["A1"] }, flush: true });
      assert.match((await caught2).error.message, /A1/);
      const ok = nextMessage("epcisM-out");
      helper.getNode("epcisM").receive({ payload: [{ event: "commissioning", serialNumbers: ["A2"], context: { lot: "L", expiry: "280101" } }, { event: "shipping", serialNumbers: ["A2"] }], flush: true });
      const doc = (await ok).payload as Doc;
      assert.deepEqual(doc.epcisBody.eventList.map((e) => e.bizStep), ["commissioning", "shipping"]);
      // and that clean batch is remembered: shipping A2 again later is fine, commissioning it again is not
      const dup = nextMessage("caught");
      helper.getNode("epcisM").receive({ payload: { event: "commissioning", serialNumbers: ["A2"], context: { lot: "L", expiry: "280101" } }, flush: true });
      assert.equal((await dup).error.cause.faults[0].check, "DuplicateCommissioning");
    });
  });

  describe("lot and expiry set on the commissioning node (the label collection's properties, not the event context)", function () {
    beforeEach(async function () {
      const f = flow(prepare(tmp.dir)).map((n: any) => (n.id === "comU" ? { ...n, context: "", lot: "LOT42", lotType: "str", expiry: "271200", expiryType: "str" } : n));
      await helper.load([...allNodeModules(), coreNodeModule("25-catch")] as any, f);
      await runLine();
    });
    const ILMD = { "cbvmda:lotNumber": "LOT42", "cbvmda:itemExpirationDate": "2027-12-31" };
    it("reach the ILMD of an audit-log export, and the US pre-flight passes", async function () {
      const doc = (await call("epcisA", "go")).payload as Doc;
      checkDscsa(doc.epcisBody.eventList);
      assert.deepEqual(doc.epcisBody.eventList[0].ilmd, ILMD);
    });
    it("reach the ILMD of a messages-mode export", async function () {
      await statusOf("epcisM", /^6 gathered/, true);
      const doc = (await call("epcisM", undefined, { flush: true })).payload as Doc;
      checkDscsa(doc.epcisBody.eventList);
      assert.deepEqual(doc.epcisBody.eventList[0].ilmd, ILMD);
    });
  });

  describe("scope shipment: the history of what the shipping node shipped", function () {
    const extra = [
      { id: "epcisS", z: "t", type: "pss-epcis", name: "", pool: "pool-units", ...EPCIS_OPTS, source: "audit", scope: "shipment", wires: [["epcisS-out"]] },
      { id: "epcisS-out", z: "t", type: "helper" },
    ];
    it("the shipping result in, the shipment's document out: every event of its hierarchy whenever it happened, again on every message", async function () {
      await helper.load([...allNodeModules(), coreNodeModule("25-catch")] as any, flow(prepare(tmp.dir), extra));
      await runLine();
      // an export by period first: a shipment export does not depend on (or move) that cursor
      assert.equal(((await call("epcisA", "go")).payload.epcisBody.eventList as unknown[]).length, 6);
      const shipped = { returnStatus: "NoError", serialNumbers: [PALLET] };
      const validate = schemaValidator(this);
      for (let i = 0; i < 2; i++) {
        const m = await call("epcisS", shipped);
        checkDscsa(m.payload.epcisBody.eventList);
        assert.equal(validate(m.payload), null);
        assert.deepEqual(m.epcis.shipped, [PALLET]);
      }
      // the history of one case holds only its own units (its shipping is the pallet's, which carried it)
      const m = await call("epcisS", { serialNumbers: [CASE2] });
      const events = m.payload.epcisBody.eventList as Array<Record<string, any>>;
      assert.deepEqual(events.map((e) => e.bizStep), ["commissioning", "commissioning", "packing"]);
      assert.deepEqual([...events[0].epcList].sort(), UNITS.slice(3).map(sgtin).sort());
    });
    it("a message that names no shipped item is InvalidArgument at the Catch node", async function () {
      await helper.load([...allNodeModules(), coreNodeModule("25-catch")] as any, flow(prepare(tmp.dir), extra));
      const caught = nextMessage("caught");
      helper.getNode("epcisS").receive({ payload: "go" });
      const err = (await caught).error;
      assert.equal(err.code, "InvalidArgument");
      assert.match(err.message, /shipping node's output/);
    });
  });

  describe("serialized cases of a case-GTIN pool (US DSCSA: a homogeneous case carries its own product identifier)", function () {
    const CASE_GTIN = "50614141123457"; // indicator digit 5 of the same item
    it("every pool of the file gives its serials its own GTIN: the case is commissioned, and is the parent of its packs, under the case GTIN with lot and expiry", async function () {
      const dbFile = path.join(tmp.dir, "cases.db");
      const store = openPoolStore(dbFile);
      store.createPool({ poolId: "units", sidClass: "US-DSCSA", selectionCriteria: { GTIN } });
      store.createPool({ poolId: "cases", sidClass: "US-DSCSA", selectionCriteria: { GTIN: CASE_GTIN } });
      store.createPool({ poolId: "ssccs", sidClass: "GS1-SSCC" });
      store.provision("units", UNITS.slice(0, 3));
      store.provision("cases", ["C1", "C2"]);
      store.provision("ssccs", [PALLET]);
      store.pushTo("Encoded", { snCollection: { id: "", serialNumbers: UNITS.slice(0, 3) }, poolSelectionCriteria: { PoolID: "units" } });
      store.applyEvent("commissioning", { serialNumbers: UNITS.slice(0, 3), labelCollection: { properties: { lot: "LOT42", expiry: "271200" } } });
      const b = new AggregationBuilder(new Aggregation(store), "line", [
        { name: "case", capacity: 3, parentPools: ["cases"], parentKind: "serial", mixing: "oneGtinOneLot" },
        { name: "pallet", capacity: 2, parentPools: ["ssccs"], parentKind: "sscc", mixing: "oneGtin" },
      ]);
      const kase = UNITS.slice(0, 3).map((u) => b.scan(u))[2].closed[0].parent;
      b.close("all");
      store.close();
      const pool = { id: "pool-units", type: "pss-pool", mode: "local", dbFile, poolId: "units", sidClass: "US-DSCSA", criteria: [{ key: "GTIN", value: GTIN }], guardPolicy: "strict", lowThreshold: 0, maxRequest: 100 };
      // the node's GTIN is the units': before, every bare serial of the file took it, the case's too
      const node = { id: "exp", z: "t", type: "pss-epcis", name: "", pool: "pool-units", ...EPCIS_OPTS, source: "audit", wires: [["exp-out"]] };
      await helper.load([...allNodeModules(), coreNodeModule("25-catch")] as any, [{ id: "t", type: "tab", label: "cases" }, pool, node, { id: "exp-out", z: "t", type: "helper" }] as any);
      const events = (await call("exp", {})).payload.epcisBody.eventList as Array<Record<string, any>>;
      const caseEpc = `urn:epc:id:sgtin:0614141.512345.${kase}`;
      const com = events.find((e) => e.bizStep === "commissioning" && e.epcList.includes(caseEpc));
      assert.ok(com, `the case is commissioned as ${caseEpc}: ${JSON.stringify(events.map((e) => e.epcList ?? e.parentID))}`);
      assert.deepEqual(com.ilmd, { "cbvmda:lotNumber": "LOT42", "cbvmda:itemExpirationDate": "2027-12-31" });
      const packs = events.find((e) => e.type === "AggregationEvent" && e.parentID === caseEpc);
      assert.ok(packs, "the case is the parent of its packs under the case GTIN");
      assert.deepEqual([...packs.childEPCs].sort(), UNITS.slice(0, 3).map(sgtin).sort());
      const pallet = events.find((e) => e.type === "AggregationEvent" && e.parentID === sscc(PALLET));
      assert.deepEqual(pallet?.childEPCs, [caseEpc], "the pallet holds the case by its case GTIN");
    });
  });

  describe("company prefixes per identifier (a contract manufacturer: the brand's GTIN, the CMO's own SSCCs)", function () {
    const CMO = ["1", "2"].map((i) => gs1.makeSscc("401234567", 0, i)); // a 9-digit company prefix
    const GCP_XML = `<?xml version="1.0" encoding="UTF-8"?>\n<GCPPrefixFormatList date="2026-01-01T00:00:00">\n  <entry prefix="0614141" gcpLength="7"/>\n  <entry prefix="4012345" gcpLength="9"/>\n</GCPPrefixFormatList>\n`;
    const load = (more: Record<string, unknown>) =>
      helper.load([...allNodeModules(), coreNodeModule("25-catch")] as any, flow(prepare(tmp.dir)).map((n: any) => (n.id === "epcisM" ? { ...n, companyPrefixLength: "", market: "", ...more } : n)));
    async function exported(): Promise<Array<Record<string, any>>> {
      helper.getNode("epcisM").receive({ payload: { event: "commissioning", serialNumbers: ["A1"], context: { lot: "L1", expiry: "280101" } } });
      helper.getNode("epcisM").receive({ payload: { event: "commissioning", serialNumbers: CMO } });
      const m = await call("epcisM", { event: "packing", serialNumbers: ["A1"], context: { parent: CMO[0] } }, { flush: true });
      return m.payload.epcisBody.eventList;
    }
    afterEach(function () {
      helper.settings({});
    });

    it("the Company prefixes setting gives the GTIN and the CMO's SSCC each its own length", async function () {
      await load({ companyPrefixes: "0614141:7, 401234567:9" });
      const [units, ssccs, pack] = await exported();
      assert.deepEqual(units.epcList, [sgtin("A1")]);
      assert.deepEqual(ssccs.epcList, ["urn:epc:id:sscc:401234567.00000001", "urn:epc:id:sscc:401234567.00000002"]);
      assert.equal(pack.parentID, "urn:epc:id:sscc:401234567.00000001");
      assert.deepEqual(pack.childEPCs, [sgtin("A1")]);
    });

    it("the Prefix file setting reads GS1's gcpprefixformatlist.xml relative to the user directory", async function () {
      fs.mkdirSync(path.join(tmp.dir, "gs1"));
      fs.writeFileSync(path.join(tmp.dir, "gs1", "gcpprefixformatlist.xml"), GCP_XML);
      helper.settings({ userDir: tmp.dir });
      await load({ prefixFile: "gs1/gcpprefixformatlist.xml" });
      const [units, ssccs] = await exported();
      assert.deepEqual(units.epcList, [sgtin("A1")]);
      assert.deepEqual(ssccs.epcList, ["urn:epc:id:sscc:401234567.00000001", "urn:epc:id:sscc:401234567.00000002"]);
    });

    for (const [what, more, re] of [
      ["a table entry that is not prefix:length", { companyPrefixes: "0614141:7, 401234567" }, /"401234567" is not prefix:length/],
      ["a length no EPC can carry", { companyPrefixes: "0614141:5" }, /6 to 12/],
      ["a prefix file that does not exist", { prefixFile: "nowhere/gcp.xml" }, /nowhere.*not found/],
      ["a prefix file that is not GS1's list", { prefixFile: "bad.xml" }, /GCPPrefixFormatList/],
    ] as const) {
      it(`${what}: red status and node.error at deploy, BadOption on every message (no crash)`, async function () {
        fs.writeFileSync(path.join(tmp.dir, "bad.xml"), "<list><entry prefix='1' gcpLength='7'/></list>");
        helper.settings({ userDir: tmp.dir });
        await load(more);
        const n = helper.getNode("epcisM") as any;
        assert.ok(n.error.calledWithMatch(re), `node.error at deploy: ${n.error.args.map((a: unknown[]) => String(a[0])).join(" | ")}`);
        assert.ok(n.status.calledWithMatch({ fill: "red", text: "BadOption" }));
        const caught = nextMessage("caught");
        n.receive({ payload: { event: "commissioning", serialNumbers: ["A1"] } });
        const err = (await caught).error;
        assert.equal(err.code, "BadOption");
        assert.match(err.message, re);
      });
    }
  });

  describe("time zone", function () {
    const load = (timeZone: string) =>
      helper.load([...allNodeModules(), coreNodeModule("25-catch")] as any, flow(prepare(tmp.dir)).map((n: any) => (n.id === "epcisM" ? { ...n, market: "", timeZone } : n)));
    const offsetAt = async (time: string, sn: string) => {
      const m = await call("epcisM", { event: "commissioning", serialNumbers: [sn], time }, { flush: true });
      return m.payload.epcisBody.eventList[0].eventTimeZoneOffset as string;
    };
    it("an IANA zone gives each event the offset of its own time (winter, summer)", async function () {
      await load("Europe/Berlin");
      assert.equal(await offsetAt("2026-01-05T08:00:00Z", "A1"), "+01:00");
      assert.equal(await offsetAt("2026-07-05T08:00:00Z", "A2"), "+02:00");
    });
    it("a zone that is neither an IANA zone nor ±hh:mm: red status and node.error at deploy, BadOption on every message", async function () {
      await load("Europe/Atlantis");
      const n = helper.getNode("epcisM") as any;
      assert.ok(n.error.calledWithMatch(/BadOption.*Europe\/Atlantis/));
      assert.ok(n.status.calledWithMatch({ fill: "red", text: "BadOption" }));
      const caught = nextMessage("caught");
      n.receive({ payload: { event: "commissioning", serialNumbers: ["A1"] } });
      assert.equal((await caught).error.code, "BadOption");
    });
  });

  describe("bad settings and bad input: a specific error", function () {
    it("EPC URIs without the company prefix length: refused at deploy and on every message", async function () {
      await helper.load([...allNodeModules(), coreNodeModule("25-catch")] as any, flow(prepare(tmp.dir)).map((n: any) => (n.id === "epcisA" ? { ...n, companyPrefixLength: "" } : n)));
      const caught = nextMessage("caught");
      helper.getNode("epcisA").receive({ payload: "go" });
      assert.equal((await caught).error.code, "MissingCompanyPrefixLength");
    });

    it("a read point that is not a GLN", async function () {
      await helper.load([...allNodeModules(), coreNodeModule("25-catch")] as any, flow(prepare(tmp.dir)).map((n: any) => (n.id === "epcisM" ? { ...n, readPoint: "0614141000006" } : n)));
      const caught = nextMessage("caught");
      helper.getNode("epcisM").receive({ payload: { event: "commissioning", serialNumbers: ["A1"] } });
      assert.equal((await caught).error.code, "BadLocation");
    });

    it("a message with no PSS event, and an unknown event", async function () {
      await helper.load([...allNodeModules(), coreNodeModule("25-catch")] as any, flow(prepare(tmp.dir)));
      let caught = nextMessage("caught");
      helper.getNode("epcisM").receive({ payload: { serialNumbers: ["A1"] } });
      assert.equal((await caught).error.code, "MissingEvent");
      caught = nextMessage("caught");
      helper.getNode("epcisM").receive({ payload: { event: "exploding", serialNumbers: ["A1"] } });
      assert.equal((await caught).error.code, "UnknownEvent");
      caught = nextMessage("caught");
      helper.getNode("epcisA").receive({ payload: { fromTime: "yesterday" } });
      assert.equal((await caught).error.code, "InvalidArgument");
    });
  });
});
