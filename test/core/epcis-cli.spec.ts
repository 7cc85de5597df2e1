import assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { spawnSync } from "child_process";
import { openPoolStore } from "../../nodes/core/store";
import * as gs1 from "../../nodes/core/gs1";
import { tmpDir } from "../helpers/tmp";

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

  it("usage errors exit 2 with the usage", function () {
    const r = run("epcis", "export", "--db", db, "--out", path.join(tmp.dir, "x.jsonld"));
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--company-prefix-length/);
  });
});
