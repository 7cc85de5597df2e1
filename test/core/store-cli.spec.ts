import assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { spawnSync } from "child_process";
import Database from "better-sqlite3";
import { openPoolStore } from "../../nodes/core/store";
import { tmpDir } from "../helpers/tmp";
import { dbDigest } from "../helpers/digest";

const CLI = path.resolve(__dirname, "..", "..", "bin", "serialflow.js");
const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8" });

describe("serialflow pool and audit commands", function () {
  let tmp: ReturnType<typeof tmpDir>;
  let db: string;
  beforeEach(function () {
    tmp = tmpDir();
    db = path.join(tmp.dir, "pool.db");
    const s = openPoolStore(db);
    s.createPool({ poolId: "P1", sidClass: "custom", serialRule: { pattern: ".+", minLength: 1, maxLength: 128 }, lowThreshold: 100, isDefault: true });
    s.createPool({ poolId: "P2", sidClass: "custom", serialRule: { pattern: ".+", minLength: 1, maxLength: 128 }, guardPolicy: "record" });
    s.provision("P1", Array.from({ length: 30 }, (_, i) => `N${i}`));
    s.request("Allocated", { count: 12 });
    s.close();
  });
  afterEach(function () {
    tmp.cleanup();
  });

  it("pool status prints the count per pool and state", function () {
    const r = run("pool", "status", "--db", db);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /pool P1 \(default\)\s+SID class custom\s+guard strict\s+total 30\s+available 18\s+threshold 100\s+LOW/);
    assert.match(r.stdout, /\n  Unassigned\s+18\n  Allocated\s+12\n/);
    assert.match(r.stdout, /pool P2\s+SID class custom\s+guard record\s+total 0/);
  });

  it("pool import loads an authority file, and refuses one with malformed lines naming them, importing nothing", function () {
    const good = path.join(tmp.dir, "good.txt");
    fs.writeFileSync(good, "# from the authority\nA1\nA2\nA3\n");
    const r = run("pool", "import", "--db", db, "--pool", "P2", good);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /imported 3 serial numbers from good\.txt into pool P2/);
    const bad = path.join(tmp.dir, "bad.txt");
    fs.writeFileSync(bad, "B1\nB 2\nB3\nA1\n");
    const before = dbDigest(db);
    const b = run("pool", "import", "--db", db, "--pool", "P2", bad);
    assert.equal(b.status, 1);
    assert.match(b.stderr, /InvalidImportFile.*line 2: "B 2" contains white space/);
    assert.match(b.stderr, /nothing was imported/);
    fs.writeFileSync(bad, "B1\nA1\n");
    const d = run("pool", "import", "--db", db, "--pool", "P2", bad);
    assert.equal(d.status, 1);
    assert.match(d.stderr, /DuplicateSerialNumber.*"A1"/);
    const u = run("pool", "import", "--db", db, "--pool", "P9", good);
    assert.equal(u.status, 1);
    assert.match(u.stderr, /UnknownPool.*pool P9 does not exist/);
    assert.equal(dbDigest(db), before, "refused imports leave the file as it was");
  });

  it("audit verify passes on an intact log and names the tampered record with a non-zero exit", function () {
    const ok = run("audit", "verify", "--db", db);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /audit log ok: 5 records, last hash [0-9a-f]{64}/);
    const raw = new Database(db);
    raw.exec("DROP TRIGGER audit_no_update");
    raw.prepare("UPDATE audit SET serial_numbers = 'N0' WHERE seq = 3").run();
    raw.close();
    const bad = run("audit", "verify", "--db", db);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /audit log BROKEN at record 3 \(changed\)/);
  });

  it("refuses a missing file (without creating it) and missing options", function () {
    const missing = path.join(tmp.dir, "typo.db");
    const r = run("pool", "status", "--db", missing);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no pool file at .*typo\.db/);
    assert.equal(fs.existsSync(missing), false);
    assert.equal(run("audit", "verify", "--db", missing).status, 1);
    const u = run("pool", "import", "--db", db, "--pool", "P1");
    assert.equal(u.status, 2);
    assert.match(u.stderr, /the import FILE is missing/);
    assert.equal(run("audit", "verify").status, 2);
  });
});
