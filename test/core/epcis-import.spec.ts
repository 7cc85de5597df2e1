/* EPCIS in: documents written by the package itself, read back and applied to a fresh pool file. */
import assert from "node:assert/strict";
import * as path from "path";
import { Writable } from "stream";
import * as epcis from "../../nodes/core/epcis";
import * as gs1 from "../../nodes/core/gs1";
import { aggregationFor } from "../../nodes/core/aggregation";
import { openPoolStore, type SqlitePoolStore } from "../../nodes/core/store";
import { dbDigest } from "../helpers/digest";
import { epcisSchemaValidator } from "../helpers/epcis-schema";
import { tmpDir } from "../helpers/tmp";

const GTIN = "00614141123452";
const CP = 7;
const OPTIONS: epcis.BuildOptions = { companyPrefixLength: CP, gtinByPool: { units: GTIN }, readPoint: "0614141000005.1", bizLocation: "0614141000005" };

function pools(store: SqlitePoolStore): void {
  store.createPool({ poolId: "units", sidClass: "US-DSCSA", selectionCriteria: { level: "unit" }, isDefault: true });
  store.createPool({ poolId: "ssccs", sidClass: "GS1-SSCC", selectionCriteria: { level: "logistic" } });
}

/** A line's pool: 6 units commissioned, packed 3+3 into two cases, the cases onto a pallet, the pallet shipped;
 *  one more unit commissioned then destroyed, another decommissioned, a third packed and unpacked again. */
function sourcePool(file: string): { store: SqlitePoolStore; serials: string[]; parents: string[] } {
  const store = openPoolStore(file, { actor: "line-1" });
  pools(store);
  const units = ["A1", "A2", "A3", "B1", "B2", "B3", "X1", "X2", "X3"];
  const [c1, c2, c3, pallet] = [1, 2, 3, 4].map((i) => gs1.makeSscc("0614141", 0, i));
  store.provision("units", units);
  store.provision("ssccs", [c1, c2, c3, pallet]);
  store.pushTo("Encoded", { snCollection: { id: "order-1", serialNumbers: units } });
  store.pushTo("Encoded", { snCollection: { id: "order-1-sscc", serialNumbers: [c1, c2, c3, pallet] }, poolSelectionCriteria: { level: "logistic" } });
  store.applyEvent("commissioning", { serialNumbers: units, context: { lot: "LOT42", expiry: "271200" } });
  store.applyEvent("commissioning", { serialNumbers: [c1, c2, c3, pallet] });
  const agg = aggregationFor(store);
  agg.pack([{ parent: c1, children: units.slice(0, 3) }]);
  agg.pack([{ parent: c2, children: units.slice(3, 6) }]);
  agg.pack([{ parent: pallet, children: [c1, c2] }]);
  agg.pack([{ parent: c3, children: ["X3"] }]);
  agg.unpack(c3);
  store.applyEvent("destroying", { serialNumbers: ["X1"] });
  store.applyEvent("decommissioning", { serialNumbers: ["X2"] });
  store.applyEvent("shipping", { serialNumbers: [pallet], context: { bizTransaction: "urn:epcglobal:cbv:bt:0614141000005:PO-7", destination: "0614141000012" } });
  return { store, serials: [...units, c1, c2, c3, pallet], parents: [c1, c2, c3, pallet] };
}

async function documentText(store: SqlitePoolStore, format: "jsonld" | "xml12" = "jsonld"): Promise<string> {
  const parts: string[] = [];
  const out = new Writable({ write: (chunk, _e, cb) => (parts.push(String(chunk)), cb()) });
  await epcis.writeDocument(epcis.fromAuditRecords(store.auditRecords(), OPTIONS), out, { format });
  return parts.join("");
}

function freshPool(file: string): SqlitePoolStore {
  const store = openPoolStore(file, { actor: "receiver" });
  pools(store);
  aggregationFor(store); // as every pool backend does on opening: the hierarchy tables exist
  return store;
}

function picture(store: SqlitePoolStore, serials: string[], parents: string[]): { states: Record<string, string | undefined>; children: Record<string, string[]> } {
  const agg = aggregationFor(store);
  return {
    states: Object.fromEntries(serials.map((s) => [s, store.getSerialNumber(s)?.state])),
    children: Object.fromEntries(parents.map((p) => [p, agg.childrenOf(p).sort()])),
  };
}

describe("epcis in: a document of the package applied to a fresh pool", function () {
  let tmp: ReturnType<typeof tmpDir>;
  let source: ReturnType<typeof sourcePool>;
  let doc: string;
  const opened: SqlitePoolStore[] = [];
  const open = (name: string) => {
    const s = freshPool(path.join(tmp.dir, name));
    opened.push(s);
    return s;
  };

  before(async function () {
    tmp = tmpDir("serialflow-epcis-in-");
    source = sourcePool(path.join(tmp.dir, "source.db"));
    doc = await documentText(source.store);
  });
  after(function () {
    source?.store.close();
    for (const s of opened) s.close();
    tmp?.cleanup();
  });

  it("reads the document back: every event checked, and the official EPCIS 2.0 JSON schema accepts it", function () {
    const read = epcis.readEpcisDocument(doc);
    assert.equal(read.format, "json");
    assert.ok(read.events.length >= 9, `${read.events.length} events`);
    const validate = epcisSchemaValidator();
    if (validate) assert.equal(validate(JSON.parse(doc)), null);
  });

  it("ends in the same states and hierarchy as the source, every event applied once", function () {
    const target = open("target.db");
    const r = epcis.importEpcisDocument(target, doc, { poolId: "units", logisticPoolId: "ssccs", actor: "cmo-a" });
    assert.equal(r.returnStatus, "NoError");
    assert.equal(r.applied, r.events);
    assert.equal(r.duplicates, 0);
    assert.equal(r.added, source.serials.length, "every serial number was new to the receiving pool");
    assert.deepEqual(r.byEvent, { commissioning: 2, packing: 4, unpacking: 1, destroying: 1, decommissioning: 1, shipping: 1 });
    assert.deepEqual(picture(target, source.serials, source.parents), picture(source.store, source.serials, source.parents));
    assert.equal(target.getSerialNumber("A1")?.poolId, "units");
    assert.equal(target.getSerialNumber(source.parents[0])?.poolId, "ssccs");
    assert.equal(target.verifyAudit().ok, true, "the receiving pool's audit chain and replay hold");
  });

  it("a document received twice changes nothing the second time", function () {
    const target = open("twice.db");
    epcis.importEpcisDocument(target, doc, { poolId: "units", logisticPoolId: "ssccs" });
    const before = dbDigest(target.file);
    const again = epcis.importEpcisDocument(target, Buffer.from(doc), { poolId: "units", logisticPoolId: "ssccs" });
    assert.equal(again.applied, 0);
    assert.equal(again.duplicates, again.events);
    assert.equal(dbDigest(target.file), before, "the pool file changed on the second import");
    assert.equal(epcis.appliedEventHashes(target).size, again.events);
  });

  it("the EPCIS 1.2 XML form of the same document gives the same pool, and the same event hashes", async function () {
    const xml = await documentText(source.store, "xml12");
    const target = open("xml.db");
    const r = epcis.importEpcisDocument(target, xml, { poolId: "units", logisticPoolId: "ssccs" });
    assert.equal(r.applied, r.events);
    assert.deepEqual(picture(target, source.serials, source.parents), picture(source.store, source.serials, source.parents));
    const fromJson = epcis.readEpcisDocument(doc).events.map((e) => epcis.eventHashId(e));
    assert.deepEqual(r.hashes, fromJson, "XML and JSON-LD of one event hash alike");
    // and the JSON-LD twin is then recognised as already applied
    assert.equal(epcis.importEpcisDocument(target, doc, { poolId: "units", logisticPoolId: "ssccs" }).duplicates, r.events);
  });

  it("a document with one event the pool refuses: nothing applied, the event named with its reason", function () {
    const target = open("refused.db");
    const d = JSON.parse(doc);
    const events = d.epcisBody.eventList as Array<Record<string, unknown>>;
    // ship a unit that the document never commissions: the state guard refuses it
    const bad = events.findIndex((e) => e.bizStep === "shipping");
    (events[bad].epcList as string[]).push("urn:epc:id:sgtin:0614141.012345.NEVER");
    delete events[bad].eventID;
    const before = dbDigest(target.file);
    assert.throws(() => epcis.importEpcisDocument(target, d, { poolId: "units", logisticPoolId: "ssccs" }), (err: epcis.EpcisError) => {
      assert.equal(err.code, "ImportRefused");
      assert.equal(err.problems?.length, 1, JSON.stringify(err.problems));
      const p = err.problems![0];
      assert.equal(p.index, bad);
      assert.equal(p.field, "epcList");
      assert.equal(p.code, "UnknownSerialNumber");
      assert.deepEqual(p.serialNumbers, ["NEVER"]);
      assert.match(err.message, new RegExp(`event ${bad} epcList: .*NEVER`));
      return true;
    });
    assert.equal(dbDigest(target.file), before, "a refused document left the pool file changed");
    assert.equal(target.getSerialNumber("A1"), undefined);
  });

  it("a document with one malformed event: refused by the reader, the event and the field named, nothing applied", function () {
    const target = open("malformed.db");
    const d = JSON.parse(doc);
    const events = d.epcisBody.eventList as Array<Record<string, unknown>>;
    events[2].bizStep = "packingg";
    (events[3].childEPCs as string[])[1] = "urn:epc:id:sgtin:0614141.12345.A2"; // item reference one digit short
    const before = dbDigest(target.file);
    assert.throws(() => epcis.importEpcisDocument(target, d, { poolId: "units" }), (err: epcis.EpcisError) => {
      assert.equal(err.code, "InvalidDocument");
      assert.deepEqual(err.problems?.map((p) => [p.index, p.eventID, p.field]), [[2, events[2].eventID, "bizStep"], [3, events[3].eventID, "childEPCs[1]"]]);
      assert.match(err.message, /event 2 \(ni:\/\/\/sha-256;[0-9a-f]+\?ver=CBV2\.0\) bizStep: "packingg" is neither a CBV 2\.0 bizStep term nor a URI/);
      return true;
    });
    assert.equal(dbDigest(target.file), before);
  });

  it("an event the import does not map refuses the document, unless told to skip it", function () {
    const target = open("unsupported.db");
    const d = JSON.parse(doc);
    d.epcisBody.eventList.push({ type: "ObjectEvent", eventTime: "2026-01-05T08:00:00.000Z", eventTimeZoneOffset: "+00:00", epcList: ["urn:epc:id:sgtin:0614141.012345.A1"], action: "OBSERVE", bizStep: "receiving" });
    const last = d.epcisBody.eventList.length - 1;
    assert.throws(() => epcis.importEpcisDocument(target, d, { poolId: "units", logisticPoolId: "ssccs" }), (err: epcis.EpcisError) => err.code === "ImportRefused" && err.problems?.[0].index === last && /receiving/.test(err.message));
    const r = epcis.importEpcisDocument(target, d, { poolId: "units", logisticPoolId: "ssccs", unsupported: "skip" });
    assert.equal(r.skipped, 1);
    assert.equal(r.applied, r.events - 1);
  });
});

describe("epcis in: 500 mutated documents: refused with a specific code and the pool unchanged, or applied whole", function () {
  it("never a TypeError, never a partial import", async function () {
    const tmp = tmpDir("serialflow-epcis-fuzz-");
    const source = sourcePool(path.join(tmp.dir, "source.db"));
    let n = 0;
    let target = freshPool(path.join(tmp.dir, `target-${n}.db`));
    try {
      const base = JSON.parse(await documentText(source.store));
      let before = dbDigest(target.file);
      let seed = 7;
      const r = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
      const junk = [null, 0, -1, 2.5, "", "x", "urn:epc:id:sgtin:1.2.3", [], {}, [null], { id: 5 }, "2026-13-45T99:00:00Z", true];
      const fields = ["type", "eventTime", "eventTimeZoneOffset", "action", "bizStep", "disposition", "epcList", "parentID", "childEPCs", "readPoint", "bizLocation", "ilmd", "bizTransactionList", "sourceList", "destinationList", "quantityList", "sensorElementList", "eventID"];
      let refused = 0;
      for (let i = 0; i < 500; i++) {
        const d = JSON.parse(JSON.stringify(base));
        const events = d.epcisBody.eventList as Array<Record<string, unknown>>;
        const ev = events[Math.floor(r() * events.length)];
        const f = fields[Math.floor(r() * fields.length)];
        ev[f] = junk[Math.floor(r() * junk.length)];
        let summary: epcis.ImportSummary | undefined;
        try {
          summary = epcis.importEpcisDocument(target, d, { poolId: "units", logisticPoolId: "ssccs" });
        } catch (err) {
          const e = err as epcis.EpcisError;
          assert.ok(e instanceof epcis.EpcisError && ["InvalidDocument", "ImportRefused"].includes(e.code), `mutation ${i} (${f} = ${JSON.stringify(ev[f])}): ${e.name} ${e.code}: ${e.message}`);
          assert.ok(e.problems?.length, `mutation ${i}: the problems are listed`);
          assert.equal(dbDigest(target.file), before, `mutation ${i} (${f} = ${JSON.stringify(ev[f])}): a refused document changed the pool file`);
          refused++;
          continue;
        }
        // a mutation both the reader and the pool accept (an empty ilmd, another eventID ...) is applied whole
        assert.equal(summary.applied, summary.events, `mutation ${i} (${f} = ${JSON.stringify(ev[f])}) applied in part`);
        target.close();
        target = freshPool(path.join(tmp.dir, `target-${++n}.db`));
        before = dbDigest(target.file);
      }
      assert.ok(refused > 250, `${refused} of 500 refused`);
    } finally {
      source.store.close();
      target.close();
      tmp.cleanup();
    }
  });
});

describe("epcis reader: run-time checks name the event and the field", function () {
  const base = { type: "ObjectEvent", eventTime: "2026-01-05T08:00:00.000Z", eventTimeZoneOffset: "+01:00", epcList: ["urn:epc:id:sgtin:0614141.012345.A1"], action: "ADD", bizStep: "commissioning", disposition: "active" };
  const docOf = (...events: Array<Record<string, unknown>>) => ({ "@context": [epcis.EPCIS_CONTEXT], type: "EPCISDocument", schemaVersion: "2.0", creationDate: "2026-01-05T08:00:00.000Z", epcisBody: { eventList: events } });
  const problems = (ev: Record<string, unknown>) => {
    try {
      epcis.readEpcisDocument(docOf(base, ev));
    } catch (err) {
      return ((err as epcis.EpcisError).problems ?? []).map((p) => `${p.index} ${p.field}: ${p.message}`);
    }
    return [];
  };

  it("accepts a sound event, with CBV terms bare or as web URIs; the EPCIS 2.0 JSON schema accepts it too", function () {
    const ev = { ...base, bizStep: "shipping", disposition: "https://ref.gs1.org/cbv/Disp-in_transit", action: "OBSERVE" };
    assert.deepEqual(problems(ev), []);
    const validate = epcisSchemaValidator();
    if (validate) assert.equal(validate(docOf(base, ev)), null);
  });
  it("required fields per event type (EPCIS 2.0 §7.4)", function () {
    const { eventTime: _t, ...noTime } = base;
    assert.match(problems(noTime).join("\n"), /^1 eventTime: is required$/m);
    assert.match(problems({ ...base, action: undefined }).join("\n"), /^1 action: is required$/m);
    assert.match(problems({ type: "AggregationEvent", eventTime: base.eventTime, eventTimeZoneOffset: "+00:00", action: "ADD", childEPCs: base.epcList }).join("\n"), /^1 parentID: is required in an AggregationEvent with action ADD$/m);
    assert.match(problems({ type: "TransactionEvent", eventTime: base.eventTime, eventTimeZoneOffset: "+00:00", action: "ADD", epcList: base.epcList }).join("\n"), /^1 bizTransactionList:/m);
    assert.match(problems({ ...base, type: "FooEvent" }).join("\n"), /^1 type: "FooEvent" is not an EPCIS event type/m);
  });
  it("CBV vocabularies (CBV 2.0 §7): an unknown term, a misspelt CBV URN; a URI of one's own vocabulary passes", function () {
    assert.match(problems({ ...base, disposition: "activ" }).join("\n"), /^1 disposition: "activ" is neither a CBV 2\.0 disposition term nor a URI/m);
    assert.match(problems({ ...base, bizStep: "https://ref.gs1.org/cbv/BizStep-comissioning" }).join("\n"), /^1 bizStep: .* is not in the CBV 2\.0 bizStep vocabulary$/m);
    // EPCIS 2.0 JSON-LD writes CBV values bare (its JSON schema refuses the URN form); XML documents carry URNs (below)
    assert.match(problems({ ...base, bizStep: "urn:epcglobal:cbv:bizstep:commissioning" }).join("\n"), /^1 bizStep: .*JSON-LD writes a CBV value as its bare term \("commissioning"\), not as a URN$/m);
    assert.deepEqual(problems({ ...base, bizStep: "https://example.com/steps/labelling" }), []);
    assert.match(problems({ ...base, sourceList: [{ type: "owner", source: "urn:epc:id:pgln:0614141.00000" }] }).join("\n"), /^1 sourceList\[0\]\.type:/m);
  });
  it("URIs and EPC URIs (TDS 2.x): not a URI, a wrong-length SGTIN, a bad SSCC; Digital Links and other URIs pass", function () {
    const p = problems({ ...base, epcList: ["A1", "urn:epc:id:sgtin:0614141.01234.A1", "urn:epc:id:sscc:0614141.123", "https://id.gs1.org/01/00614141123452/21/A1", "urn:uuid:0b1f6f0e-2f7a-4f43-9a55-2b4a9a2d3c11"] });
    assert.deepEqual(p.map((l) => l.split(":")[0]), ["1 epcList[0]", "1 epcList[1]", "1 epcList[2]"]);
    assert.match(problems({ ...base, readPoint: { id: "not a uri" } }).join("\n"), /^1 readPoint\.id:/m);
  });
  it("quantities (EPCIS 2.0 §7.3.3.3): non-negative, an integer without uom, a UN/ECE unit code with it", function () {
    const q = (e: Record<string, unknown>) => problems({ ...base, epcList: [], quantityList: [e] }).join("\n");
    assert.equal(q({ epcClass: "urn:epc:class:lgtin:0614141.012345.L1", quantity: 10 }), "");
    assert.equal(q({ epcClass: "urn:epc:idpat:sgtin:0614141.012345.*", quantity: 2.5, uom: "KGM" }), "");
    assert.match(q({ epcClass: "urn:epc:class:lgtin:0614141.012345.L1", quantity: -1 }), /quantityList\[0\]\.quantity: -1 is not a non-negative number/);
    assert.match(q({ epcClass: "urn:epc:class:lgtin:0614141.012345.L1", quantity: 2.5 }), /without a uom counts instances/);
    assert.match(q({ epcClass: "urn:epc:class:lgtin:0614141.012345.L1", quantity: 2, uom: "kilo" }), /quantityList\[0\]\.uom:/);
    assert.match(q({ epcClass: "urn:epc:id:sgtin:0614141.012345.A1", quantity: 2 }), /quantityList\[0\]\.epcClass: .* not a well-formed GS1 EPC class/);
  });
  it("date-times and offsets; a malformed document names the document", function () {
    assert.match(problems({ ...base, eventTime: "2026-01-05 08:00" }).join("\n"), /^1 eventTime: .* is not an ISO 8601 date-time with a time zone$/m);
    assert.match(problems({ ...base, eventTimeZoneOffset: "+1:00" }).join("\n"), /^1 eventTimeZoneOffset:/m);
    assert.throws(() => epcis.readEpcisDocument("{not json"), (e: epcis.EpcisError) => e.code === "InvalidDocument");
    assert.throws(() => epcis.readEpcisDocument({ type: "EPCISDocument", epcisBody: {} }), /document epcisBody\.eventList: is missing/);
    assert.throws(() => epcis.readEpcisDocument('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x/>'), /document type declarations are not accepted/);
  });
  it("reads EPCIS 2.0 XML with extension fields into the JSON-LD shape: the reference's example 3 written in XML hashes as its JSON-LD form", function () {
    const xml = `<?xml version="1.0" encoding="UTF-8"?>
<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" xmlns:example="https://ns.example.com/epcis/" schemaVersion="2.0" creationDate="2020-03-04T11:00:30Z">
  <EPCISBody><EventList>
    <ObjectEvent>
      <eventTime>2020-03-04T11:00:30+01:00</eventTime><eventTimeZoneOffset>+01:00</eventTimeZoneOffset>
      <epcList><epc>urn:epc:id:sgtin:0614141.011111.987</epc></epcList>
      <action>OBSERVE</action><bizStep>urn:epcglobal:cbv:bizstep:departing</bizStep><disposition>urn:epcglobal:cbv:disp:in_transit</disposition>
      <readPoint><id>urn:epc:id:sgln:4012345.00011.0</id><example:myField1>AB-12</example:myField1></readPoint>
      <bizTransactionList><bizTransaction type="urn:epcglobal:cbv:btt:po">urn:epc:id:gdti:4012345.11111.123</bizTransaction></bizTransactionList>
      <sourceList><source type="urn:epcglobal:cbv:sdt:owning_party">urn:epc:id:pgln:4012345.00000</source></sourceList>
      <destinationList><destination type="urn:epcglobal:cbv:sdt:owning_party">urn:epc:id:pgln:0614141.00000</destination></destinationList>
      <example:userExt>CD-34</example:userExt>
    </ObjectEvent>
  </EventList></EPCISBody>
</epcis:EPCISDocument>`;
    const read = epcis.readEpcisDocument(xml);
    assert.equal(read.format, "xml");
    assert.equal(read.events.length, 1);
    // the reference generator's example 3, written in XML: the same hash as its JSON-LD form
    assert.equal(epcis.eventHashId(read.events[0]), "ni:///sha-256;3ae14c02c4bdc220cc31942cf804f6845eb8dec96ba6483391c92a9b165f9329?ver=CBV2.0");
  });
});
