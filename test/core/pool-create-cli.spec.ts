/* A pool file made and filled from the command line alone: create, generate, import (before, a pool file
   could only be made from the editor, and `pool import` on a new file failed). */
import assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { spawnSync } from "child_process";
import { openPoolStore } from "../../nodes/core/store";
import { tmpDir } from "../helpers/tmp";
import { dbDigest } from "../helpers/digest";

const CLI = path.resolve(__dirname, "..", "..", "bin", "serialflow.js");
const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8" });

describe("serialflow pool create | generate on a new file", function () {
  let tmp: ReturnType<typeof tmpDir>;
  beforeEach(function () {
    tmp = tmpDir();
  });
  afterEach(function () {
    tmp.cleanup();
  });

  it("create && generate && import on a new file gives one pool with every number Unassigned and audited", function () {
    const db = path.join(tmp.dir, "line.db");
    const order = path.join(tmp.dir, "order.txt");
    fs.writeFileSync(order, "# authority order\nAUTH00000001\nAUTH00000002\nAUTH00000003\n");
    let r = run("pool", "create", "--db", db, "--pool", "L1", "--sid-class", "GS1-SGTIN", "--gtin", "09506000134352");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /created pool L1 \(SID class GS1-SGTIN, GTIN 09506000134352\)/);
    r = run("pool", "generate", "--db", db, "--pool", "L1", "--count", "2500");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /generated 2500 serial numbers into pool L1 \(2500 available\)/);
    r = run("pool", "import", "--db", db, "--pool", "L1", order);
    assert.equal(r.status, 0, r.stderr);
    const store = openPoolStore(db);
    try {
      const [pool] = store.listPools();
      assert.equal(pool.poolId, "L1");
      assert.equal(pool.sidClass, "GS1-SGTIN");
      assert.equal(pool.selectionCriteria.GTIN, "09506000134352");
      assert.equal(pool.isDefault, true, "the first pool of a file is its default");
      assert.equal(store.countByState("L1").Unassigned, 2503);
      assert.equal(store.verifyAudit().ok, true);
    } finally {
      store.close();
    }
    r = run("pool", "status", "--db", db);
    assert.match(r.stdout, /pool L1 \(default\)\s+SID class GS1-SGTIN/);
  });

  it("refuses a bad GTIN, an unknown pool, a missing file and a pool that exists, with a message that says which", function () {
    const db = path.join(tmp.dir, "line.db");
    let r = run("pool", "create", "--db", db, "--pool", "L1", "--sid-class", "GS1-SGTIN", "--gtin", "09506000134353");
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--gtin 09506000134353 is not a valid GTIN-14/);
    assert.equal(fs.existsSync(db), false, "no file made for a refused create");
    r = run("pool", "generate", "--db", db, "--pool", "L1", "--count", "10");
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no pool file at .*line\.db \(make one with: serialflow pool create/);
    assert.equal(run("pool", "create", "--db", db, "--pool", "L1", "--sid-class", "GS1-SGTIN").status, 0);
    r = run("pool", "create", "--db", db, "--pool", "L1", "--sid-class", "GS1-SGTIN");
    assert.equal(r.status, 1);
    assert.match(r.stderr, /pool L1 already exists/);
    r = run("pool", "generate", "--db", db, "--pool", "L2", "--count", "10");
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no pool L2 in .*\(pools: L1\)/);
    r = run("pool", "generate", "--db", db, "--pool", "L1", "--count", "ten");
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--count must be a whole number from 1, got "ten"/);
  });

  it("pool import refuses bad lines, each error naming the line number and the serial, and imports nothing", function () {
    const db = path.join(tmp.dir, "line.db");
    assert.equal(run("pool", "create", "--db", db, "--pool", "L1", "--sid-class", "GS1-SGTIN").status, 0);
    assert.equal(run("pool", "generate", "--db", db, "--pool", "L1", "--count", "3").status, 0);
    let stored: string;
    const s = openPoolStore(db);
    try {
      stored = s.db.prepare("SELECT value FROM serial_number LIMIT 1").pluck().get() as string;
      s.createPool({ poolId: "C1", sidClass: "custom", serialRule: { pattern: "[A-Z0-9]+", minLength: 2, maxLength: 20 } });
    } finally {
      s.close();
    }
    const file = path.join(tmp.dir, "order.txt");
    const before = dbDigest(db);
    const cases: Array<[string, string, string, RegExp[]]> = [
      // [pool, file, what, each expected error]
      ["L1", "ABC123\nABCDEFGHIJKLMNOPQRSTUVWXYZ\n", "a serial too long for GS1-SGTIN", [/line 2: "ABCDEFGHIJKLMNOPQRSTUVWXYZ": not a valid GS1-SGTIN serial number: has 26 characters, 1 to 20 required/]],
      ["L1", "ABC123\n\nDEF456\nABC123\n", "a repeat after an empty line (counted)", [/line 4: serial "ABC123" repeats line 1/]],
      ["L1", `NEW0001\n\n${stored}\n`, "a number the file holds already", [new RegExp(`line 3: "${stored}" is already in the store`)]],
      ["L1", "ABC123\nDEF456\tLOT1\n", "two columns", [/line 2: "DEF456\\tLOT1"/]],
      ["L1", "ABC123\n(01)09506000134352(21)AB C\n", "a code with a bad serial", [/line 2: "\(01\)09506000134352\(21\)AB C": IllegalCharacter/]],
      [
        "L1",
        "ABC123\nAB C\n\nABCDEFGHIJKLMNOPQRSTUVWXYZ\nABC123\nDEF456\tLOT1\n",
        "every bad line of a SID class pool",
        [/line 2: "AB C": not a valid GS1-SGTIN serial number: character U\+0020/, /line 4: "ABCDEFGHIJKLMNOPQRSTUVWXYZ"/, /line 5: serial "ABC123" repeats line 1/, /line 6: "DEF456\\tLOT1"/],
      ],
      ["C1", "B1\n\nB 2\nB3\tX\nB4\nb5\n", "every bad line of a custom pool", [/line 3: "B 2" contains white space/, /line 4: "B3\\tX" contains a control character/, /line 6: "b5" is not a valid custom serial number/]],
      ["C1", "B1\nB2\n\nB1\nB2\n", "repeats in the file", [/lines 1, 4: "B1" appears more than once in the file/, /lines 2, 5: "B2" appears more than once in the file/]],
    ];
    for (const [pool, text, what, expected] of cases) {
      fs.writeFileSync(file, text);
      const r = run("pool", "import", "--db", db, "--pool", pool, file);
      assert.equal(r.status, 1, `${what}: refused`);
      for (const e of expected) assert.match(r.stderr, e, `${what}: ${r.stderr}`);
      // every line that reports a problem names its line number and a quoted serial
      const problems = r.stderr.split("\n").filter((l) => l !== "" && l !== "nothing was imported");
      for (const l of problems) assert.match(l, /lines? \d+(, \d+)*: (serial )?"/, `${what}: "${l}" names the line and the serial`);
      assert.match(r.stderr, /nothing was imported/);
    }
    assert.equal(dbDigest(db), before, "every refused import left the file as it was");
  });
});
