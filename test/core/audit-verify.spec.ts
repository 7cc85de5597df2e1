import assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { spawnSync } from "child_process";
import Database from "better-sqlite3";
import { openPoolStore } from "../../nodes/core/store";
import { tmpDir } from "../helpers/tmp";

const CLI = path.resolve(__dirname, "..", "..", "bin", "serialflow.js");
const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8" });

describe("serialflow audit verify: tamper tests (issue 13)", function () {
  this.timeout(120_000);
  let tmp: ReturnType<typeof tmpDir>;
  let file: string;
  let shipped: string;
  beforeEach(function () {
    tmp = tmpDir();
    file = path.join(tmp.dir, "pool.db");
    const s = openPoolStore(file);
    s.createPool({ poolId: "P", sidClass: "custom", serialRule: { pattern: ".+", minLength: 1, maxLength: 128 }, isDefault: true });
    s.provision("P", Array.from({ length: 40 }, (_, i) => `SN-${String(i).padStart(3, "0")}`));
    const got = s.request("Allocated", { count: 10, snCollectionId: "C1" }).snCollection.serialNumbers;
    s.applyEvent("sn_encoding", { serialNumbers: got });
    s.applyEvent("commissioning", { serialNumbers: got });
    s.applyEvent("shipping", { serialNumbers: got.slice(0, 4) });
    shipped = got[0];
    s.close(); // the last connection checkpoints the WAL into the file
  });
  afterEach(function () {
    tmp.cleanup();
  });

  it("a sound file passes: integrity, chain and replay", function () {
    const r = cli("audit", "verify", "--db", file);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /audit log ok: \d+ records, last hash [0-9a-f]{64}; 40 serial numbers in 1 pool\(s\) replayed to their stored states; integrity ok/);
  });

  it("a Released number set back to Commissioned by SQL is found and named", function () {
    const db = new Database(file);
    db.prepare("UPDATE serial_number SET state = 7 WHERE value = ?").run(shipped);
    db.close();
    const r = cli("audit", "verify", "--db", file);
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`serial number ${shipped} is stored as Commissioned in pool P, but the audit log says Released`));
  });

  it("a Released number set back to Unallocated (so the next request would issue it again) is found and named", function () {
    const db = new Database(file);
    db.prepare("UPDATE serial_number SET state = 1, sn_collection = NULL WHERE value = ?").run(shipped);
    db.close();
    const r = cli("audit", "verify", "--db", file);
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`${shipped} is stored as Unallocated .* the audit log says Released`));
  });

  it("a number inserted or deleted around the log is named", function () {
    const db = new Database(file);
    db.prepare("INSERT INTO serial_number (value, pool, state) VALUES ('GHOST', 1, 0)").run();
    db.close();
    let r = cli("audit", "verify", "--db", file);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /serial number GHOST .* the audit log never mentions it/);
    const db2 = new Database(file);
    db2.prepare("DELETE FROM serial_number WHERE value IN ('GHOST', ?)").run(shipped);
    db2.close();
    r = cli("audit", "verify", "--db", file);
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`serial number ${shipped} is in the audit log but no longer stored`));
  });

  it("a bit flipped anywhere a serial number is written (table, index or audit record) is found", function () {
    const raw = fs.readFileSync(file);
    const needle = Buffer.from(shipped);
    const hits: number[] = [];
    for (let i = raw.indexOf(needle); i >= 0; i = raw.indexOf(needle, i + 1)) hits.push(i);
    assert.ok(hits.length >= 3, `${shipped} is in the file ${hits.length} times`);
    for (const at of hits) {
      const copy = path.join(tmp.dir, `flip-${at}.db`);
      const b = Buffer.from(raw);
      b[at + needle.length - 1] ^= 0x01; // "SN-000" -> "SN-001"-like: still a plausible value
      fs.writeFileSync(copy, b);
      const r = cli("audit", "verify", "--db", copy);
      assert.equal(r.status, 1, `a bit flip at byte ${at} passed: ${r.stdout}`);
      assert.match(r.stderr, /FAILED \((integrity|state)\)|BROKEN at record \d+/, `byte ${at}`);
    }
  });

  it("an empty file and a foreign SQLite file fail, named, and are left as they were", function () {
    const empty = path.join(tmp.dir, "empty.db");
    fs.writeFileSync(empty, "");
    let r = cli("audit", "verify", "--db", empty);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /empty\.db is empty: it holds no pool and no audit log/);
    assert.equal(fs.statSync(empty).size, 0);
    const foreign = path.join(tmp.dir, "app.db");
    const db = new Database(foreign);
    db.exec("CREATE TABLE settings (k TEXT, v TEXT)");
    db.close();
    const before = fs.readFileSync(foreign);
    r = cli("audit", "verify", "--db", foreign);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /app\.db is not a SerialFlow pool file \(tables "settings"\)/);
    assert.ok(fs.readFileSync(foreign).equals(before));
  });

  it("a pool file with no pool (and so no audit record) fails", function () {
    const nopool = path.join(tmp.dir, "nopool.db");
    openPoolStore(nopool).close();
    const r = cli("audit", "verify", "--db", nopool);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /FAILED \(pool\): .*holds no pool/);
  });

  it("verifies a read-only copy (chmod 444 in a read-only folder) and writes nothing; status and reconcile are read-only too", function () {
    const dir = path.join(tmp.dir, "ro");
    fs.mkdirSync(dir);
    const copy = path.join(dir, "copy.db");
    fs.copyFileSync(file, copy);
    fs.chmodSync(copy, 0o444);
    fs.chmodSync(dir, 0o555);
    const before = fs.readFileSync(copy);
    try {
      for (const args of [["audit", "verify"], ["pool", "status"], ["pool", "reconcile", "--report"]]) {
        const r = cli(...args, "--db", copy);
        assert.equal(r.status, 0, `${args.join(" ")}: ${r.stderr}`);
      }
      assert.ok(fs.readFileSync(copy).equals(before), "the file is byte-identical");
    } finally {
      fs.chmodSync(dir, 0o755);
    }
    // on a writable file as well: read-only commands leave it byte-identical
    const w = fs.readFileSync(file);
    for (const args of [["audit", "verify"], ["pool", "status"], ["pool", "reconcile"]]) assert.equal(cli(...args, "--db", file).status, 0);
    assert.ok(fs.readFileSync(file).equals(w));
  });
});
