import assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { spawnSync } from "child_process";
import { openPoolStore } from "../../nodes/core/store";
import * as gs1 from "../../nodes/core/gs1";
import { tmpDir } from "../helpers/tmp";
import { epcisSchemaValidator } from "../helpers/epcis-schema";
import { COMMANDS } from "../../bin/commands";
import { OPTIONS } from "../../bin/commands/epcis";

const CLI = path.resolve(__dirname, "..", "..", "bin", "serialflow.js");
const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8" });

describe("serialflow epcis export", function () {
  let tmp: ReturnType<typeof tmpDir>;
  let db: string;
  let middle: string;
  before(function () {
    tmp = tmpDir("serialflow-epcis-cli-");
    db = path.join(tmp.dir, "pool.db");
    // a clock one second per reading: the period boundary below never falls inside one millisecond of two records
    let now = Date.parse("2026-03-01T08:00:00Z");
    const store = openPoolStore(db, { actor: "line", clock: () => (now += 1000) });
    store.createPool({ poolId: "units", sidClass: "US-DSCSA", selectionCriteria: { level: "unit" }, isDefault: true });
    store.createPool({ poolId: "ssccs", sidClass: "GS1-SSCC", selectionCriteria: { level: "case" } });
    const sscc = gs1.makeSscc("0614141", 0, 7);
    store.provision("units", ["N1", "N2", "N3"]);
    store.provision("ssccs", [sscc]);
    store.pushTo("Encoded", { snCollection: { id: "o1", serialNumbers: ["N1", "N2", "N3"] } });
    store.pushTo("Encoded", { snCollection: { id: "o2", serialNumbers: [sscc] }, poolSelectionCriteria: { level: "case" } });
    store.applyEvent("commissioning", { serialNumbers: ["N1", "N2"], context: { lot: "L9", expiry: "280100" } });
    store.applyEvent("commissioning", { serialNumbers: ["N3"], context: { lot: "L9" } }); // no expiry: the US pre-flight refuses it
    store.applyEvent("commissioning", { serialNumbers: [sscc] });
    store.applyEvent("packing", { serialNumbers: ["N1", "N2"], context: { parent: sscc } });
    middle = [...store.auditRecords()].at(-1)?.time as string;
    store.applyEvent("shipping", { serialNumbers: [sscc] });
    store.close();
  });
  after(() => tmp.cleanup());

  it("writes the document of a period; earlier events feed the pre-flight without being exported", function () {
    const out = path.join(tmp.dir, "period.jsonld");
    const from = new Date(Date.parse(middle) + 1).toISOString();
    const r = run("epcis", "export", "--db", db, "--out", out, "--from", from, "--company-prefix-length", "7", "--gtin", "units=00614141123452", "--market", "US", "--read-point", "0614141000005");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /wrote 1 EPCIS events/);
    const doc = JSON.parse(fs.readFileSync(out, "utf8"));
    assert.deepEqual(doc.epcisBody.eventList.map((e: { bizStep: string }) => e.bizStep), ["shipping"]);
  });

  it("a pre-flight fault exits 1, names the serial number and writes nothing", function () {
    const out = path.join(tmp.dir, "all.jsonld");
    const r = run("epcis", "export", "--db", db, "--out", out, "--company-prefix-length", "7", "--gtin", "00614141123452", "--market", "US");
    assert.equal(r.status, 1);
    assert.match(r.stderr, /PreflightFailed/);
    assert.match(r.stderr, /MissingLotOrExpiry.*N3/);
    assert.equal(fs.existsSync(out), false);
    const ok = run("epcis", "export", "--db", db, "--out", out, "--company-prefix-length", "7", "--gtin", "00614141123452", "--format", "xml12");
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(fs.readFileSync(out, "utf8"), /<epcis:EPCISDocument[^>]*schemaVersion="1\.2"/);
  });

  it("company prefixes per identifier (a list or GS1's prefix file) and an IANA time zone", function () {
    const out = path.join(tmp.dir, "cp.jsonld");
    const r = run("epcis", "export", "--db", db, "--out", out, "--company-prefixes", "0614141:7, 401234567:9", "--gtin", "00614141123452", "--time-zone-offset", "Europe/Berlin");
    assert.equal(r.status, 0, r.stderr);
    const events = JSON.parse(fs.readFileSync(out, "utf8")).epcisBody.eventList as Array<Record<string, any>>;
    assert.deepEqual(events[0].epcList, ["urn:epc:id:sgtin:0614141.012345.N1", "urn:epc:id:sgtin:0614141.012345.N2"]);
    assert.equal(events.at(-1)?.epcList[0], "urn:epc:id:sscc:0614141.0000000007");
    for (const e of events) assert.equal(e.eventTimeZoneOffset, "+01:00"); // March 1st: winter time in Berlin
    const xml = path.join(tmp.dir, "gcpprefixformatlist.xml");
    fs.writeFileSync(xml, `<GCPPrefixFormatList><entry prefix="0614141" gcpLength="7"/></GCPPrefixFormatList>`);
    const f = run("epcis", "export", "--db", db, "--out", out, "--prefix-file", xml, "--gtin", "00614141123452");
    assert.equal(f.status, 0, f.stderr);
    assert.equal(JSON.parse(fs.readFileSync(out, "utf8")).epcisBody.eventList[0].epcList[0], "urn:epc:id:sgtin:0614141.012345.N1");
    for (const bad of [["--company-prefixes", "0614141"], ["--prefix-file", path.join(tmp.dir, "none.xml")], ["--company-prefix-length", "7", "--time-zone-offset", "Mars/Base"]]) {
      const b = run("epcis", "export", "--db", db, "--out", out, "--gtin", "00614141123452", ...bad);
      assert.equal(b.status, 2, bad.join(" "));
    }
  });

  it("usage errors exit 2 with the usage: EPC URIs asked for without a company prefix length, an unknown pool", function () {
    const out = path.join(tmp.dir, "x.jsonld");
    const r = run("epcis", "export", "--db", db, "--out", out, "--identifiers", "epc", "--gtin", "00614141123452");
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--company-prefix-length/);
    const u = run("epcis", "export", "--db", db, "--out", out, "--pool", "nosuch", "--company-prefix-length", "7", "--gtin", "00614141123452");
    assert.equal(u.status, 2, u.stderr);
    assert.match(u.stderr, /pool nosuch does not exist .*\(pools: ssccs, units\)/);
    assert.equal(fs.existsSync(out), false);
  });

  it("--pool exports that pool's records only", function () {
    const out = path.join(tmp.dir, "ssccs.jsonld");
    const r = run("epcis", "export", "--db", db, "--out", out, "--pool", "ssccs", "--company-prefix-length", "7", "--gtin", "units=00614141123452");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /wrote 2 EPCIS events .*\(pool ssccs\)/);
    const events = JSON.parse(fs.readFileSync(out, "utf8")).epcisBody.eventList as Array<Record<string, any>>;
    assert.deepEqual(events.map((e) => [e.bizStep, e.epcList]), [["commissioning", ["urn:epc:id:sscc:0614141.0000000007"]], ["shipping", ["urn:epc:id:sscc:0614141.0000000007"]]]);
    const all = run("epcis", "export", "--db", db, "--out", out, "--company-prefix-length", "7", "--gtin", "00614141123452");
    assert.equal(all.status, 0, all.stderr);
    assert.equal(JSON.parse(fs.readFileSync(out, "utf8")).epcisBody.eventList.length, 5);
    // the units pool: its commissionings and the packing into the case commissioned by the ssccs pool (pre-flight clean)
    const units = run("epcis", "export", "--db", db, "--out", out, "--pool", "units", "--company-prefix-length", "7", "--gtin", "00614141123452");
    assert.equal(units.status, 0, units.stderr);
    assert.deepEqual(JSON.parse(fs.readFileSync(out, "utf8")).epcisBody.eventList.map((e: { bizStep: string }) => e.bizStep), ["commissioning", "commissioning", "packing"]);
    // and the pre-flight still checks the pool's own events
    const us = run("epcis", "export", "--db", db, "--out", path.join(tmp.dir, "us.jsonld"), "--pool", "units", "--company-prefix-length", "7", "--gtin", "00614141123452", "--market", "US");
    assert.equal(us.status, 1);
    assert.match(us.stderr, /MissingLotOrExpiry.*N3/);
    assert.equal(fs.existsSync(path.join(tmp.dir, "us.jsonld")), false);
  });

  it("every option the command's parser accepts is in `serialflow --help`, in `epcis export --help` and in the README as printed", function () {
    const names = [...OPTIONS.values, ...OPTIONS.flags].map((n) => `--${n}`);
    assert.ok(names.length >= 19);
    const help = run("--help");
    assert.equal(help.status, 0);
    const section = help.stdout.slice(help.stdout.indexOf("serialflow epcis export"), help.stdout.indexOf("serialflow epcis import"));
    const own = run("epcis", "export", "--help");
    assert.equal(own.status, 0);
    // each option as a whole word: "--to" is not passed by "--time-zone-offset"
    const listed = (text: string, n: string) => new RegExp(`(^|[\\s\\[|])${n}(?![\\w-])`).test(text);
    for (const n of names) {
      assert.ok(listed(section, n), `serialflow --help lacks ${n}`);
      assert.ok(listed(own.stdout, n), `serialflow epcis export --help lacks ${n}`);
    }
    // and nothing listed that the parser refuses
    for (const m of section.matchAll(/--[a-z][a-z0-9-]*/g)) if (m[0] !== "--help") assert.ok(names.includes(m[0]), `--help lists ${m[0]}, which the parser does not accept`);
    const readme = fs.readFileSync(path.resolve(__dirname, "..", "..", "..", "README.md"), "utf8");
    for (const c of COMMANDS) assert.ok(readme.includes(c.usage), `README.md does not show ${c.usage.split("\n")[0]} as serialflow --help prints it`);
  });
});

describe("serialflow epcis export on a pool file made with the CLI only", function () {
  let tmp: ReturnType<typeof tmpDir>;
  let db: string;
  let serials: string[];
  before(function () {
    tmp = tmpDir("serialflow-epcis-cli-made-");
    db = path.join(tmp.dir, "line.db");
    for (const args of [["pool", "create", "--db", db, "--pool", "L1", "--sid-class", "GS1-SGTIN", "--gtin", "09506000134352"], ["pool", "generate", "--db", db, "--pool", "L1", "--count", "5"]]) {
      const r = run(...args);
      assert.equal(r.status, 0, r.stderr);
    }
    const store = openPoolStore(db, { actor: "line" });
    serials = store.request("Allocated", { poolSelectionCriteria: { PoolID: "L1" }, count: 3, snCollectionId: "o1" }).snCollection.serialNumbers;
    assert.equal(serials.length, 3);
    store.pushTo("Encoded", { snCollection: { id: "o1", serialNumbers: serials }, poolSelectionCriteria: { PoolID: "L1" } });
    store.applyEvent("commissioning", { serialNumbers: serials, context: { lot: "B1", expiry: "281231" } });
    store.close();
  });
  after(() => tmp.cleanup());

  it("no prefix flags and no --gtin: GS1 Digital Link URIs with the pool's stored GTIN, a valid EPCIS 2.0 document", function () {
    const out = path.join(tmp.dir, "dl.jsonld");
    const r = run("epcis", "export", "--db", db, "--from", "2000-01-01T00:00:00Z", "--to", "2999-01-01T00:00:00Z", "--out", out);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^identifiers: GS1 Digital Link URIs/m);
    assert.match(r.stdout, /wrote 1 EPCIS events/);
    const doc = JSON.parse(fs.readFileSync(out, "utf8"));
    const ev = doc.epcisBody.eventList[0];
    assert.equal(ev.bizStep, "commissioning");
    for (const s of serials) assert.match(s, /^[A-Za-z0-9]+$/); // nothing to percent-escape below
    assert.deepEqual(ev.epcList, serials.map((s) => `https://id.gs1.org/01/09506000134352/21/${s}`));
    const validate = epcisSchemaValidator();
    if (validate) assert.equal(validate(doc), null);
  });

  it("with a company prefix length or list: EPC URIs; --gtin POOL=GTIN overrides the stored GTIN, --identifiers digitallink forces Digital Link", function () {
    const out = path.join(tmp.dir, "epc.jsonld");
    const r = run("epcis", "export", "--db", db, "--out", out, "--company-prefix-length", "7");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^identifiers: EPC URIs/m);
    const doc = JSON.parse(fs.readFileSync(out, "utf8"));
    assert.deepEqual(doc.epcisBody.eventList[0].epcList, serials.map((s) => `urn:epc:id:sgtin:9506000.013435.${s}`));
    const validate = epcisSchemaValidator();
    if (validate) assert.equal(validate(doc), null);
    const l = run("epcis", "export", "--db", db, "--out", out, "--company-prefixes", "0614141:7", "--gtin", "L1=00614141123452", "--pool", "L1");
    assert.equal(l.status, 0, l.stderr);
    assert.deepEqual(JSON.parse(fs.readFileSync(out, "utf8")).epcisBody.eventList[0].epcList, serials.map((s) => `urn:epc:id:sgtin:0614141.012345.${s}`));
    const d = run("epcis", "export", "--db", db, "--out", out, "--company-prefix-length", "7", "--identifiers", "digitallink");
    assert.equal(d.status, 0, d.stderr);
    assert.match(d.stdout, /^identifiers: GS1 Digital Link URIs/m);
    assert.equal(JSON.parse(fs.readFileSync(out, "utf8")).epcisBody.eventList[0].epcList[0], `https://id.gs1.org/01/09506000134352/21/${serials[0]}`);
  });
});
