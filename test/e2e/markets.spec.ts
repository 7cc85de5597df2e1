/* The per-market examples (examples/<market>.json) imported as a user imports them, deployed, and driven the way a
   person does: every inject clicked once, top to bottom, each step left to settle before the next. Then the outcome
   is checked: the numbers' states in the example's own pool file, the hierarchy, and the market's output (EPCIS
   document valid against the EPCIS 2.0 JSON schema, CSV report, parent-child data, usage report, ZPL with GS). */
import assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { helper, allNodeModules } from "../helpers/red";
import { tmpDir } from "../helpers/tmp";
import { until } from "../helpers/until";
import { epcisSchemaValidator, epcis12XsdValidator } from "../helpers/epcis-schema";
import { REPO_ROOT } from "../helpers/paths";
import { openPoolStore, type SqlitePoolStore } from "../../nodes/core/store";
import { parseEpcisDocument } from "../../nodes/core/epcis";

const EXAMPLES = path.join(REPO_ROOT, "examples");
const UNITS = 30; // what the examples' "Run" inject drives

type FlowNode = { id: string; type: string; z?: string; y?: number; wires?: string[][]; [k: string]: unknown };
type Msg = Record<string, any>;
type Doc = { type: string; epcisBody: { eventList: Array<Record<string, any>> } };

function coreModules(): Record<string, unknown> {
  const dir = path.dirname(require.resolve("@node-red/nodes/package.json", { paths: [path.dirname(require.resolve("node-red"))] }));
  const m = (f: string) => require(path.join(dir, "core", f));
  return { inject: m("common/20-inject.js"), debug: m("common/21-debug.js"), comment: m("common/90-comment.js"), catch: m("common/25-catch.js"), function: m("function/10-function.js"), "link in": m("common/60-link.js"), "link out": m("common/60-link.js") };
}



interface Run {
  flow: FlowNode[];
  userDir: string;
  /** messages each debug node received, by node id */
  seen: Record<string, Msg[]>;
  /** what the PLC counted */
  line: { good: number; rejected: number; misprints: number };
  store: SqlitePoolStore;
  counts(poolId: string): Record<string, number>;
  validate: ((doc: unknown) => string | null) | null;
}

const MARKETS: Record<string, (r: Run) => void> = {
  "EU FMD.json": (r) => {
    const files = r.seen["eu-out"].map((m) => m.fileContent as string);
    assert.equal(files.length, 2, "two EPCIS files for the OBP: the packs, then the state changes");
    const names = r.seen["eu-out"].map((m) => path.relative(r.userDir, m.payload.file));
    assert.deepEqual(names, [path.join("serialflow", "eu-fmd", "epcis-for-obp-0001.jsonld"), path.join("serialflow", "eu-fmd", "epcis-for-obp-0002.jsonld")], "each export in a file of its own");
    const [packs, changes] = files.map((t) => JSON.parse(t) as Doc);
    epcisValid(r, packs);
    epcisValid(r, changes);
    const com = packs.epcisBody.eventList.filter((e) => e.bizStep === "commissioning");
    assert.equal(com.reduce((a, e) => a + e.epcList.length, 0), r.line.good, "every commissioned pack is in the upload before release");
    for (const e of com) assert.ok(e.ilmd?.["cbvmda:lotNumber"] === "B2026-07" && e.ilmd?.["cbvmda:itemExpirationDate"] === "2028-11-30", "lot and expiry in the ILMD");
    assert.deepEqual(changes.epcisBody.eventList.map((e) => e.bizStep).sort(), ["decommissioning", "destroying", "sampling"], "the state changes upload holds the three decommissionings only");
    const c = r.counts("EU-FMD-PACKS");
    assert.deepEqual([c.Destroyed, c.Inactive, c.Sampled, c.Commissioned, c.Released], [1, 1, 1, 0, r.line.good - 3]);
    for (const v of serialsOf(r.store, "EU-FMD-PACKS")) assert.match(v, /^[2-9A-HJKMNP-X]{12}$/, "randomised EU serials, none of the characters scanners and keyboards confuse");
  },
  "US DSCSA.json": (r) => {
    serializedCases(r);
    // the same shipment in EPCIS 1.2 XML for a partner still on 1.2: the header a US partner expects, valid against GS1's XSD
    const m12 = r.seen["us-out12"]?.[0];
    assert.ok(m12, "the EPCIS 1.2 document is written");
    assert.match(m12.payload.file, /epcis12-0001\.xml$/);
    const xml = m12.fileContent as string;
    const json = JSON.parse(r.seen["us-out"][0].fileContent) as Doc;
    assert.equal((xml.match(/<ObjectEvent>|<AggregationEvent>/g) ?? []).length, json.epcisBody.eventList.length, "the 1.2 document holds the same events as the 2.0 one");
    assert.match(xml, /<sbdh:Sender>\s*<sbdh:Identifier Authority="GLN">0312345000011<\/sbdh:Identifier>/, "SBDH sender: the manufacturer's GLN");
    assert.match(xml, /<sbdh:Receiver>\s*<sbdh:Identifier Authority="GLN">\d{13}<\/sbdh:Identifier>/, "SBDH receiver");
    assert.match(xml, /<sbdh:InstanceIdentifier>urn:uuid:[0-9a-f-]{36}<\/sbdh:InstanceIdentifier>/, "a document id");
    assert.match(xml, /<VocabularyElement id="urn:epc:idpat:sgtin:0312345\.067890\.\*">[\s\S]*?mda#regulatedProductName">Examplumab 10 mg tablets</, "master data of the pack's EPC class (the class of the packs' EPCs)");
    assert.match(xml, /<VocabularyElement id="urn:epc:idpat:sgtin:0312345\.567890\.\*">[\s\S]*?mda#regulatedProductName">Examplumab 10 mg tablets</, "master data of the case's EPC class");
    // the 1.2 document says of the cases what the 2.0 one says: commissioned with lot and expiry, parents of the packs, children of the pallets
    const read12 = parseEpcisDocument(xml).events as Array<Record<string, any>>;
    const ilmdOf = (e: Record<string, any>, name: string) => Object.entries((e.ilmd ?? {}) as Record<string, string>).find(([k]) => k.endsWith(name))?.[1];
    const cases12 = read12.filter((e) => e.type === "ObjectEvent" && String(e.bizStep).endsWith("commissioning") && (e.epcList as string[]).some((x) => x.startsWith(CASE_EPC)));
    assert.equal(cases12.flatMap((e) => e.epcList as string[]).length, r.counts("US-CASES").Released, "1.2: every shipped case commissioned under its case GTIN");
    for (const e of cases12) assert.deepEqual([ilmdOf(e, "lotNumber"), ilmdOf(e, "itemExpirationDate")], ["B2026-07", "2028-11-30"], "1.2: the case's ILMD lot and expiry");
    assert.ok(read12.some((e) => e.type === "AggregationEvent" && String(e.parentID).startsWith(CASE_EPC)), "1.2: a case is the parent of packs");
    assert.ok(read12.some((e) => e.type === "AggregationEvent" && (e.childEPCs as string[]).some((x) => x.startsWith(CASE_EPC))), "1.2: cases on a pallet");
    assert.match(xml, /<gs1ushc:affirmTransactionStatement>true<\/gs1ushc:affirmTransactionStatement>/, "the DSCSA transaction statement");
    assert.match(xml, /<cbvmda:lotNumber>[^<]+<\/cbvmda:lotNumber>\s*<cbvmda:itemExpirationDate>\d{4}-\d{2}-\d{2}<\/cbvmda:itemExpirationDate>/, "lot and expiry in the ILMD");
    const xsd = epcis12XsdValidator();
    if (xsd) assert.equal(xsd(xml), null, "valid against GS1's EPCIS 1.2 XML schema");
  },
  "UAE Tatmeen.json": (r) => aggregatedEpcis(r, "ae", "AE-PACKS", "AE-SSCC", 10, false),
  "Saudi RSD.json": (r) => aggregatedEpcis(r, "sa", "SA-PACKS", "SA-SSCC", 10, false),
  "Russia Chestny Znak.json": (r) => {
    const labels = r.seen["ru-label-out"].flatMap((m) => m.payload.labels as Msg[]);
    assert.ok(labels.length >= UNITS, "a label per unit");
    for (const l of labels) {
      assert.match(l.zpl, /\^FD\\7E101046012345678\d{2}21[A-Za-z0-9]{13}\\1D91[A-Za-z0-9]{4}\\1D92[A-Za-z0-9+/=]{44}\^FS/, "(01)(21) GS (91) GS (92) from the imported code, FNC1 first");
      assert.ok(!l.hri.join(" ").includes("(92)"), "the crypto tail is not in the HRI");
      const stored = r.store.getSerialNumber(l.serialNumber)!;
      assert.ok(l.elementString.includes(`91${stored.properties!["91"]}\u001d92${stored.properties!["92"]}`), "the label carries the tail imported with that serial");
    }
    const usage = r.seen["ru-out"][0].payload;
    assert.match(r.seen["ru-out"][0].file, /serialflow[\\/]ru-chestny-znak[\\/]usage-report-0001\.json$/);
    assert.deepEqual(JSON.parse(r.seen["ru-out"][0].fileContent), JSON.parse(JSON.stringify(usage)), "the usage report is written to its file");
    assert.equal(usage.applied, r.line.good, "usage report: every applied code");
    assert.equal(usage.spent, r.line.rejected, "usage report: the codes spent on rejects");
    assert.equal(usage.unused, 200 - UNITS);
    for (const a of usage.aggregates) assert.ok(a.codes.length <= 10 && a.codes.length > 0, "mono cases of up to 10");
    assert.equal(usage.aggregates.reduce((n: number, a: Msg) => n + a.codes.length, 0), r.line.good, "every applied code is in a case");
    const s = r.counts("RU-SSCC");
    assert.equal(s.Released, usage.aggregates.length, "the cases shipped");
    assert.equal(r.counts("RU-CZ-CODES").Released, r.line.good, "every applied code is in a shipped case, so Released with it");
  },
  "China NMPA.json": (r) => {
    const doc = r.seen["cn-out"][0].payload;
    assert.deepEqual(JSON.parse(r.seen["cn-out"][0].fileContent), JSON.parse(JSON.stringify(doc)), "the relation file is written");
    const children = doc.relations.flatMap((x: Msg) => x.children as string[]);
    assert.equal(children.length, r.line.good, "every commissioned pack is in a case");
    for (const c of children) assert.match(c, /^8612345\d{13}$/, "imported 20-digit pack codes");
    for (const x of doc.relations) assert.match(x.parent, /^8612346\d{13}$/, "20-digit case codes from the case pool");
    assert.equal(r.counts("CN-CASES").Released, doc.relations.length);
    for (const l of r.seen["cn-label-out"].flatMap((m) => m.payload.labels as Msg[])) assert.equal(l.nationalCode, l.serialNumber, "the label carries the 20-digit code");
  },
  "Brazil ANVISA.json": (r) => {
    const a = serialsOf(r.store, "BR-PRODUCT-A");
    const b = serialsOf(r.store, "BR-PRODUCT-B");
    assert.equal(a.length, 200);
    assert.equal(b.length, 200);
    for (const v of [...a, ...b]) assert.match(v, /^\d{13}$/, "13-digit numeric serials");
    assert.equal(new Set([...a, ...b]).size, 400, "unique across the portfolio");
    assert.equal(r.counts("BR-PRODUCT-A").Released, r.line.good);
    for (const l of r.seen["br-label-out"].flatMap((m) => m.payload.labels as Msg[])) assert.match(l.elementString, /7131234567890123/, "ANVISA registration (713) in the code");
  },
  "Egypt EDA.json": (r) => {
    const csv = r.seen["eg-out"][0].fileContent as string;
    assert.match(r.seen["eg-out"][0].file, /eda-report-0001\.csv$/);
    const rows = csv.trimEnd().split("\r\n").map((l) => l.split(","));
    assert.deepEqual(rows[0], ["RecordType", "GTIN", "SerialNumber", "Batch", "Expiry", "SSCC"]);
    const packs = rows.filter((x) => x[0] === "PACK");
    const gone = rows.filter((x) => x[0] === "SSCC_DECOMMISSIONED");
    assert.equal(packs.length, r.line.good, "a row per commissioned pack");
    assert.equal(gone.length, 1, "the disaggregated case's SSCC");
    assert.ok(!packs.some((x) => x[5] === gone[0][5]), "no pack is reported in the decommissioned SSCC");
    assert.equal(r.store.getSerialNumber(gone[0][5])!.state, "Inactive", "the disaggregated SSCC is decommissioned");
    for (const sscc of new Set(packs.map((x) => x[5]))) assert.equal(r.store.getSerialNumber(sscc)!.state, "Released");
  },
  "India export.json": (r) => {
    const [json, csvMsg] = r.seen["in-out"];
    const d = JSON.parse(json.fileContent);
    assert.match(json.file, /parent-child-0001\.json$/);
    assert.match(csvMsg.file, /parent-child-0001\.csv$/);
    const rows = (csvMsg.fileContent as string).trimEnd().split("\r\n").slice(1).map((l) => l.split(","));
    const packRows = rows.filter((x) => x[0] === "case");
    const caseRows = rows.filter((x) => x[0] === "pallet");
    assert.equal(packRows.length, r.line.good, "every pack under a case");
    assert.equal(caseRows.length, new Set(packRows.map((x) => x[1])).size, "every case under a pallet");
    const pallets = new Set(caseRows.map((x) => x[1]));
    assert.equal(d.pallets.length, pallets.size, "every pallet in the document");
    assert.equal(r.counts("IN-SSCC").Released, pallets.size + caseRows.length, "the shipped pallets and the cases on them are Released");
  },
};

// the example's pack GTIN 00312345678906 and case GTIN 50312345678901 (indicator digit 5, the same NDC item), company prefix 0312345
const PACK_EPC = "urn:epc:id:sgtin:0312345.067890.";
const CASE_EPC = "urn:epc:id:sgtin:0312345.567890.";

/**
 * US DSCSA (FD&C Act §582): every homogeneous case carries a product identifier, a serialized case GTIN with lot and
 * expiry, not only an SSCC. The case is commissioned under its GTIN with ILMD lot and expiry, is the parent of its
 * packs and a child of its SSCC pallet in the shipment's document, and its label carries (01) (21) (10) (17).
 */
function serializedCases(r: Run): void {
  assert.match(r.seen["us-out"][0].payload.file, /epcis-0001\.jsonld$/);
  const doc = JSON.parse(r.seen["us-out"][0].fileContent) as Doc;
  epcisValid(r, doc);
  const ev = doc.epcisBody.eventList;
  const packs = r.counts("US-NDC-PACKS");
  const cases = r.counts("US-CASES");
  const pallets = r.counts("US-SSCC");
  assert.ok(cases.Released > 0, "cases went out");
  assert.equal(cases.Commissioned + cases.Released, Math.ceil(r.line.good / 10), "a case per 10 good packs (the last one partial)");
  const com = ev.filter((e) => e.bizStep === "commissioning");
  const comOf = (prefix: string) => com.flatMap((e) => (e.epcList as string[]).filter((x) => x.startsWith(prefix)));
  assert.equal(comOf(PACK_EPC).length, packs.Released, "the shipped packs' commissioning under the pack GTIN, no other pack");
  const caseEpcs = comOf(CASE_EPC);
  assert.equal(caseEpcs.length, cases.Released, "every shipped case commissioned under the case GTIN, not as an SSCC");
  for (const epc of caseEpcs) assert.equal(r.store.getSerialNumber(epc.slice(CASE_EPC.length))?.poolId, "US-CASES", "the case's serial comes from the case pool");
  for (const e of com.filter((x) => !String(x.epcList[0]).startsWith("urn:epc:id:sscc:"))) {
    assert.deepEqual([e.ilmd?.["cbvmda:lotNumber"], e.ilmd?.["cbvmda:itemExpirationDate"]], ["B2026-07", "2028-11-30"], `ILMD lot and expiry of ${e.epcList[0]}`);
  }
  assert.equal(comOf("urn:epc:id:sscc:").length, pallets.Released, "the pallets' commissioning");
  const agg = ev.filter((e) => e.type === "AggregationEvent");
  const caseEvents = agg.filter((e) => String(e.parentID).startsWith(CASE_EPC));
  const palletEvents = agg.filter((e) => String(e.parentID).startsWith("urn:epc:id:sscc:"));
  assert.equal(caseEvents.length + palletEvents.length, agg.length, "every parent is a serialized case or an SSCC pallet");
  assert.deepEqual(caseEvents.map((e) => e.parentID).sort(), [...caseEpcs].sort(), "one AggregationEvent per shipped case, the case as parent");
  for (const e of caseEvents) assert.ok(e.childEPCs.length <= 10 && e.childEPCs.every((x: string) => x.startsWith(PACK_EPC)), "a case holds packs");
  assert.equal(caseEvents.reduce((n, e) => n + e.childEPCs.length, 0), packs.Released, "every shipped pack is in a case");
  assert.equal(palletEvents.length, pallets.Released, "one AggregationEvent per shipped pallet");
  assert.deepEqual(palletEvents.flatMap((e) => e.childEPCs as string[]).sort(), [...caseEpcs].sort(), "the pallets hold the cases, by their case GTIN");
  const shipped = ev.filter((e) => e.bizStep === "shipping").flatMap((e) => e.epcList as string[]);
  assert.ok(shipped.length > 0 && shipped.every((x) => x.startsWith("urn:epc:id:sscc:")), "pallets ship as SSCCs");
  assert.deepEqual(shipped.sort(), palletEvents.map((e) => e.parentID).sort());
  // shipping a pallet releases its hierarchy: the cases and the packs in them
  assert.equal(packs.Commissioned, r.line.good - packs.Released, "the packs not shipped stay Commissioned");
  assert.equal(cases.Commissioned, 0, "every case closed onto a pallet and shipped with it");
  // labels: a case's carries (01) case GTIN, (21) its serial, (10) lot, (17) expiry; a pallet's its SSCC
  const caseLabels = (r.seen["us-case-label-out"] ?? []).flatMap((m) => m.payload.labels as Msg[]);
  assert.equal(caseLabels.length, cases.Commissioned + cases.Released, "a case label per case");
  for (const l of caseLabels) {
    for (const part of ["(01)50312345678901", `(21)${l.serialNumber}`, "(10)B2026-07", "(17)281130"]) assert.ok(String(l.bracketed).includes(part), `case label ${l.bracketed} carries ${part}`);
    assert.match(l.zpl, /\\7E1/, "GS1 DataMatrix, FNC1 first");
  }
  const ssccZpl = (r.seen["us-parent-label-out"] ?? []).map((m) => m.payload.zpl as string);
  assert.equal(ssccZpl.length, pallets.Commissioned + pallets.Released, "an SSCC label per pallet, none per case");
  for (const z of ssccZpl) assert.match(z, /\\7E100\d{18}/, "GS1 DataMatrix with the SSCC (00)");
}

function serialsOf(store: SqlitePoolStore, poolId: string): string[] {
  return ((store as any).db.prepare("SELECT s.value FROM serial_number s JOIN pool p ON p.pk = s.pool WHERE p.pool_id = ?").pluck().all(poolId)) as string[];
}

function epcisValid(r: Run, doc: Doc): void {
  assert.equal(doc.type, "EPCISDocument");
  if (r.validate) assert.equal(r.validate(doc), null, "valid against the EPCIS 2.0 JSON schema");
}

/** Cases and pallets of SSCCs, shipped, in an EPCIS document: commissioning with ILMD, one AggregationEvent per parent. */
function aggregatedEpcis(r: Run, p: string, units: string, ssccs: string, caseCap: number, parentLabels: boolean, shipmentScope = false): void {
  assert.match(r.seen[`${p}-out`][0].payload.file, /epcis-0001\.jsonld$/);
  const doc = JSON.parse(r.seen[`${p}-out`][0].fileContent) as Doc;
  epcisValid(r, doc);
  const ev = doc.epcisBody.eventList;
  const sgtinCom = ev.filter((e) => e.bizStep === "commissioning").flatMap((e) => (e.epcList as string[]).filter((x) => x.startsWith("urn:epc:id:sgtin:")));
  const u0 = r.counts(units);
  // a shipment's document holds what was shipped (the packs on the shipped pallets); a period's, every good pack
  assert.equal(sgtinCom.length, shipmentScope ? u0.Released : r.line.good, shipmentScope ? "the shipped packs' commissioning, no other pack" : "every good pack commissioned");
  for (const e of ev.filter((x) => x.bizStep === "commissioning" && x.epcList[0].startsWith("urn:epc:id:sgtin:"))) assert.ok(e.ilmd?.["cbvmda:lotNumber"] && e.ilmd?.["cbvmda:itemExpirationDate"], "ILMD lot and expiry");
  const agg = ev.filter((e) => e.type === "AggregationEvent");
  const s = r.counts(ssccs);
  assert.equal(agg.length, shipmentScope ? s.Released : s.Commissioned + s.Released, shipmentScope ? "one AggregationEvent per shipped case and pallet" : "one AggregationEvent per case and pallet");
  const caseEvents = agg.filter((e) => e.childEPCs[0].startsWith("urn:epc:id:sgtin:"));
  assert.equal(caseEvents.reduce((n, e) => n + e.childEPCs.length, 0), shipmentScope ? u0.Released : r.line.good, "every pack of the document is in a case");
  for (const e of caseEvents) assert.ok(e.childEPCs.length <= caseCap);
  const shipped = ev.filter((e) => e.bizStep === "shipping").flatMap((e) => e.epcList as string[]);
  assert.ok(shipped.length > 0 && shipped.every((x) => x.startsWith("urn:epc:id:sscc:")), "pallets ship as SSCCs");
  // shipping a pallet releases its whole hierarchy (PSS: the event applies to the parent's contents): the
  // pallets, the cases on them and the packs in those cases are Released, the rest stays Commissioned
  const shippedCases = agg.filter((e) => shipped.includes(e.parentID)).flatMap((e) => e.childEPCs as string[]);
  const shippedPacks = caseEvents.filter((e) => shippedCases.includes(e.parentID)).flatMap((e) => e.childEPCs as string[]);
  assert.equal(s.Released, shipped.length + shippedCases.length, "the shipped pallets and the cases on them are Released");
  const u = r.counts(units);
  assert.ok(shippedPacks.length > 0, "packs went out on a pallet");
  assert.equal(u.Released, shippedPacks.length, "every pack on a shipped pallet is Released with it");
  assert.equal(u.Commissioned, r.line.good - shippedPacks.length, "the packs not shipped stay Commissioned");
  if (parentLabels) {
    const zpl = (r.seen[`${p}-parent-label-out`] ?? []).map((m) => m.payload.zpl as string);
    assert.equal(zpl.length, s.Commissioned + s.Released, "an SSCC label per parent");
    for (const z of zpl) assert.match(z, /\\7E100\d{18}/, "GS1 DataMatrix with the SSCC (00)");
  }
}

const files = Object.keys(MARKETS);

describe("examples/ per market: imported, deployed, clicked through, outcome checked", function () {
  let tmp: ReturnType<typeof tmpDir>;
  const validate = epcisSchemaValidator();

  beforeEach(async function () {
    tmp = tmpDir("serialflow-markets-");
    helper.settings({ userDir: tmp.dir });
    await helper.startServer();
  });
  afterEach(async function () {
    await helper.unload();
    await helper.stopServer();
    tmp.cleanup();
  });

  it("every market example exists in examples/", function () {
    for (const f of files) assert.ok(fs.existsSync(path.join(EXAMPLES, f)), f);
  });

  for (const file of files) {
    it(`${file}: ${UNITS} units through the simulated line, the market's output checked`, async function () {
      const text = fs.readFileSync(path.join(EXAMPLES, file), "utf8");
      const flow = JSON.parse(text) as FlowNode[];
      // what a person needs: a tab of its own, a comment that explains, loopback only, injects they click
      const tabs = flow.filter((n) => n.type === "tab");
      assert.equal(tabs.length, 1, "one tab");
      assert.ok(flow.every((n) => n.type === "tab" || n.type === "pss-pool" || n.z === tabs[0].id), "every node on the example's tab");
      const comment = flow.find((n) => n.type === "comment");
      assert.ok(comment && /What this shows/.test(String(comment.info)) && /For a real line/.test(String(comment.info)), "a comment saying what it shows and what to change");
      for (const ip of text.match(/\b\d{1,3}(?:\.\d{1,3}){3}\b/g) ?? []) assert.equal(ip, "127.0.0.1", "loopback addresses only");
      assert.doesNotMatch(text, /(?:https?|opc\.tcp|tcp|mqtt):\/\/(?!127\.0\.0\.1)/, "no remote host");
      assert.doesNotMatch(text, /localhost|0\.0\.0\.0/);
      const pools = flow.filter((n) => n.type === "pss-pool");
      assert.equal(new Set(pools.map((p) => p.dbFile)).size, 1, "one pool file per example");
      assert.ok(pools.every((p) => String(p.dbFile).startsWith("serialflow/")));
      const injects = flow.filter((n) => n.type === "inject").sort((a, b) => (a.y ?? 0) - (b.y ?? 0));
      assert.ok(injects.length >= 3 && injects.every((i) => i.once === false), "injects a person clicks");
      for (const p of flow.filter((n) => n.type === "pss-sim-printer")) assert.equal(Number(p.port), 0, "the printer picks a free port");

      const core = coreModules();
      const used = [...new Set(Object.entries(core).filter(([t]) => flow.some((n) => n.type === t)).map(([, m]) => m))];
      await helper.load([...allNodeModules(), ...used] as any, flow as any);

      const seen: Record<string, Msg[]> = {};
      const refusals: Msg[] = [];
      let lastActivity = Date.now();
      for (const n of flow.filter((x) => x.type !== "tab" && x.type !== "pss-pool")) {
        const node = helper.getNode(n.id);
        assert.ok(node, `node ${n.id} (${n.type}) deployed`);
        node.on("input", (m: Msg) => {
          lastActivity = Date.now();
          if (n.type === "debug") {
            // an output file is read as it is when it is announced (a later export replaces it)
            const f = typeof m.file === "string" ? m.file : m.payload?.file;
            if (typeof f === "string") m.fileContent = fs.readFileSync(path.resolve(tmp.dir, f), "utf8");
            (seen[n.id] ??= []).push(m);
          }
        });
      }
      // what a person sees on every node: its last status (never red), and no error in the log
      const lastStatus: Record<string, { fill?: string; text?: string }> = {};
      const errors: string[] = [];
      for (const n of flow.filter((x) => x.type !== "tab" && x.type !== "pss-pool")) {
        const node = helper.getNode(n.id) as any;
        node.on("call:status", (c: any) => (lastStatus[n.id] = c.args[0] ?? {}));
        node.on("call:error", (c: any) => errors.push(`${n.id} (${n.type}): ${String(c.args[0]?.message ?? c.args[0])}`));
      }
      for (const c of flow.filter((n) => n.type === "catch")) for (const t of (c.wires ?? []).flat()) helper.getNode(t).on("input", (m: Msg) => refusals.push(m));
      for (const p of flow.filter((n) => n.type === "pss-sim-printer")) assert.ok(((await (helper.getNode(p.id) as any).ready) as number) > 0, "the printer listens");
      const plc = helper.getNode(flow.find((n) => n.type === "pss-sim-plc")!.id) as any;

      // click every inject, top to bottom, and let each step settle (the line: every unit decided at the gate)
      for (const i of injects) {
        helper.getNode(i.id).receive({});
        await until(`step "${String(i.name)}" to settle`, () => {
          const k = plc.plc.counters();
          return k.pending === 0 && Date.now() - lastActivity > 400 ? true : undefined;
        });
        assert.deepEqual(refusals.map((m) => `${m.error?.code}: ${m.error?.message}`), [], `nothing refused after "${String(i.name)}"`);
      }

      const red = Object.entries(lastStatus).filter(([, st]) => st.fill === "red").map(([id, st]) => `${id}: ${st.text}`);
      assert.deepEqual(red, [], "no node ends red");
      assert.deepEqual(errors, [], "no error in the Node-RED log");
      const k = plc.plc.counters();
      const misprints = (helper.getNode(flow.find((n) => n.type === "pss-sim-printer")!.id) as any).printer.stats.failed as number;
      assert.equal(k.total, UNITS, "the line ran");
      assert.equal(k.good + k.rejected, UNITS);
      assert.ok(k.good >= UNITS * 0.7, `most units are good (${k.good})`);
      const store = openPoolStore(path.resolve(tmp.dir, String(pools[0].dbFile)));
      try {
        const unitPool = String(pools[0].poolId);
        const c = store.countByState(unitPool) as Record<string, number>;
        console.log(`      ${file}: ${k.good} good, ${k.rejected} rejected (${misprints} misprints); ${unitPool}: ${Object.entries(c).filter(([, v]) => v).map(([s, v]) => `${v} ${s}`).join(", ")}`);
        assert.equal(c.Allocated, 0, "no number left allocated");
        assert.equal(c.Encoded, 0, "no printed label left undecided");
        // a misprinted label exists physically: scrapped, not invalidated
        assert.equal(c.SNInvalid ?? 0, 0, "no printed number invalidated");
        assert.equal(c.LabelScrapped, k.rejected, "each rejected unit's label scrapped, misprints included");
        assert.equal(store.verifyAudit().ok, true, "the audit chain verifies");
        MARKETS[file]({
          flow, userDir: tmp.dir, seen, store, validate,
          line: { good: k.good, rejected: k.rejected, misprints },
          counts: (poolId) => store.countByState(poolId) as Record<string, number>,
        });
      } finally {
        store.close();
      }
    });
  }
});
