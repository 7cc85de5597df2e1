/* A pool file made and filled from the command line alone: create, generate, import (before, a pool file
   could only be made from the editor, and `pool import` on a new file failed). */
import assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { spawnSync } from "child_process";
import { openPoolStore } from "../../nodes/core/store";
import { tmpDir } from "../helpers/tmp";

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
});
