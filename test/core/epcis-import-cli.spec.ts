import assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { spawnSync } from "child_process";
import { openPoolStore } from "../../nodes/core/store";
import { aggregationFor } from "../../nodes/core/aggregation";
import * as epcis from "../../nodes/core/epcis";
import * as gs1 from "../../nodes/core/gs1";
import { dbDigest } from "../helpers/digest";
import { tmpDir } from "../helpers/tmp";

const CLI = path.resolve(__dirname, "..", "..", "bin", "serialflow.js");
const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8" });

describe("serialflow epcis import", function () {
  let tmp: ReturnType<typeof tmpDir>;
  let doc: string;
  let target: string;
  const sscc = gs1.makeSscc("0614141", 0, 9);

  before(async function () {
    tmp = tmpDir("serialflow-epcis-import-cli-");
    const pools = (file: string) => {
      const s = openPoolStore(file);
      s.createPool({ poolId: "units", sidClass: "US-DSCSA", selectionCriteria: { PoolID: "units" } });
      s.createPool({ poolId: "ssccs", sidClass: "GS1-SSCC", selectionCriteria: { PoolID: "ssccs" } });
      return s;
    };
    const src = pools(path.join(tmp.dir, "source.db"));
    src.pushTo("Encoded", { snCollection: { id: "u", serialNumbers: ["N1", "N2"] }, poolSelectionCriteria: { PoolID: "units" } });
    src.pushTo("Encoded", { snCollection: { id: "s", serialNumbers: [sscc] }, poolSelectionCriteria: { PoolID: "ssccs" } });
    src.applyEvent("commissioning", { serialNumbers: ["N1", "N2"], context: { lot: "L9", expiry: "280100" } });
    src.applyEvent("commissioning", { serialNumbers: [sscc] });
    aggregationFor(src).pack([{ parent: sscc, children: ["N1", "N2"] }]);
    src.applyEvent("shipping", { serialNumbers: [sscc] });
    doc = path.join(tmp.dir, "from-cmo.jsonld");
    await epcis.exportToFile(epcis.fromAuditRecords(src.auditRecords(), { companyPrefixLength: 7, gtinByPool: { units: "00614141123452" } }), doc);
    src.close();
    target = path.join(tmp.dir, "target.db");
    const t = pools(target);
    aggregationFor(t);
    t.close();
  });
  after(() => tmp.cleanup());

  it("applies a document, prints what it did; the same document again applies nothing and changes nothing", function () {
    const r = run("epcis", "import", "--db", target, "--pool", "units", "--sscc-pool", "ssccs", doc);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^applied 4 of 4 EPCIS events \(commissioning 2, packing 1, shipping 1\); 0 applied before, 0 skipped; 3 new serial numbers$/m);
    const s = openPoolStore(target);
    try {
      assert.equal(s.getSerialNumber(sscc)?.state, "Released");
      assert.equal(s.getSerialNumber("N1")?.state, "Released");
      assert.deepEqual(aggregationFor(s).childrenOf(sscc).sort(), ["N1", "N2"]);
    } finally {
      s.close();
    }
    const digest = dbDigest(target);
    const again = run("epcis", "import", "--db", target, "--pool", "units", "--sscc-pool", "ssccs", doc);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /applied 0 of 4 EPCIS events; 4 applied before/);
    assert.equal(dbDigest(target), digest);
  });

  it("a refused document: exit 1, every problem on its own line naming the event, the pool file unchanged", function () {
    const bad = JSON.parse(fs.readFileSync(doc, "utf8"));
    bad.epcisBody.eventList[3].disposition = "in_transitt";
    const file = path.join(tmp.dir, "bad.jsonld");
    fs.writeFileSync(file, JSON.stringify(bad));
    const digest = dbDigest(target);
    const r = run("epcis", "import", "--db", target, "--pool", "units", file);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /InvalidDocument: nothing was applied/);
    assert.match(r.stderr, /^ {2}event 3 \(ni:\/\/\/sha-256;[0-9a-f]+\?ver=CBV2\.0\) disposition: "in_transitt" is neither a CBV 2\.0 disposition term nor a URI/m);
    assert.equal(dbDigest(target), digest);
  });

  it("usage errors exit 2; a missing pool file is not created", function () {
    assert.equal(run("epcis", "import", "--db", target, doc).status, 2, "no --pool");
    assert.equal(run("epcis", "import", "--db", target, "--pool", "units").status, 2, "no FILE");
    const missing = path.join(tmp.dir, "nope.db");
    assert.equal(run("epcis", "import", "--db", missing, "--pool", "units", doc).status, 1);
    assert.equal(fs.existsSync(missing), false);
    const unknownPool = run("epcis", "import", "--db", target, "--pool", "nope", doc);
    assert.equal(unknownPool.status, 1);
    assert.match(unknownPool.stderr, /pool nope does not exist/);
  });
});
