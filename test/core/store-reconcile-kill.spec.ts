import assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { spawn, spawnSync, ChildProcess } from "child_process";
import Database from "better-sqlite3";
import { openPoolStore } from "../../nodes/core/store";
import { tmpDir } from "../helpers/tmp";

const WORKER = path.resolve(__dirname, "fixtures", "store-worker.js");
const CLI = path.resolve(__dirname, "..", "..", "bin", "serialflow.js");
const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
}

describe("MUST SHOW (issue 13): 10 SIGKILLs of a running line, then reconcile", function () {
  this.timeout(600_000);
  let tmp: ReturnType<typeof tmpDir>;
  beforeEach(function () {
    tmp = tmpDir();
  });
  afterEach(function () {
    tmp.cleanup();
  });

  it("reconcile lists every stranded number, its action leaves none Allocated or Encoded, audit verify passes, a retried request returns the same numbers", async function () {
    const file = path.join(tmp.dir, "line.db");
    const log = path.join(tmp.dir, "requests.log");
    const setup = openPoolStore(file);
    setup.createPool({ poolId: "LINE", sidClass: "custom", serialRule: { pattern: ".+", minLength: 1, maxLength: 128 }, isDefault: true });
    setup.provision("LINE", { generate: 200_000 });
    setup.close();
    for (let run = 0; run < 10; run++) {
      // two lines on the one file, like two packaging lines on a shared pool
      const children = [0, 1].map((l) => spawn(process.execPath, [WORKER, "line", file, `${run}.${l}`, log], { stdio: ["ignore", "pipe", "pipe"] }));
      const done = children.map(exited);
      await Promise.all(children.map((child) => new Promise<void>((resolve, reject) => {
        child.stdout!.once("data", () => resolve());
        child.once("exit", (code) => reject(new Error(`line worker exited early with ${code}`)));
      })));
      await new Promise((r) => setTimeout(r, 300 + Math.floor(Math.random() * 900)));
      for (const c of children) c.kill("SIGKILL");
      for (const d of done) assert.equal((await d).signal, "SIGKILL");
    }

    const direct = () => {
      const db = new Database(file, { readonly: true });
      try {
        return db.prepare("SELECT value FROM serial_number WHERE state IN (2, 4) ORDER BY value").pluck().all() as string[];
      } finally {
        db.close();
      }
    };
    const stranded = direct();
    assert.ok(stranded.length > 0, "the kills stranded some numbers");

    // listing is read-only and names every stranded number
    const before = fs.readFileSync(file);
    const listed = cli("pool", "reconcile", "--db", file, "--json", "--report");
    assert.equal(listed.status, 0, listed.stderr);
    const out = JSON.parse(listed.stdout) as { groups: Array<{ serialNumbers: string[]; state: string; snCollectionId: string }>; applied: boolean; report: Array<{ accountedFor: boolean; pool: { stillAllocated: number; stillEncoded: number } }> };
    assert.equal(out.applied, false);
    assert.deepEqual(out.groups.flatMap((g) => g.serialNumbers).sort(), stranded);
    assert.equal(out.report[0].accountedFor, false);
    assert.equal(out.report[0].pool.stillAllocated + out.report[0].pool.stillEncoded, stranded.length);
    assert.ok(fs.readFileSync(file).equals(before), "listing wrote nothing");

    // a request retried after a lost answer (the process died after the commit): the same numbers
    const requested = fs.readFileSync(log, "utf8").trim().split("\n").map((l) => l.split(" ")).map(([id, n]) => ({ id, count: Number(n) }));
    const store = openPoolStore(file);
    let retried = 0;
    try {
      const held = store.db.prepare("SELECT s.value FROM serial_number s JOIN sn_collection c ON c.pk = s.sn_collection WHERE c.id = ? ORDER BY s.value").pluck();
      const allocatedBefore = store.countByState("LINE").Allocated;
      for (const { id, count } of requested) {
        const mine = held.all(id) as string[];
        if (mine.length === 0) continue; // killed before its request committed: a retry is a first request
        const again = store.request("Allocated", { count, snCollectionId: id });
        assert.deepEqual([...again.snCollection.serialNumbers].sort(), mine, `retry of ${id}`);
        retried++;
      }
      assert.equal(store.countByState("LINE").Allocated, allocatedBefore, "retries handed out nothing new");
    } finally {
      store.close();
    }
    assert.ok(retried >= 10, `${retried} requests retried`);
    console.log(`      after 10 SIGKILLs of 2 lines: ${stranded.length} stranded (Allocated or Encoded), ${out.groups.length} collections listed, ${retried} requests retried with the same numbers`);

    const applied = cli("pool", "reconcile", "--db", file, "--apply", "--report");
    assert.equal(applied.status, 0, applied.stderr);
    assert.match(applied.stdout, /every number accounted for/);
    assert.deepEqual(direct(), [], "none left Allocated or Encoded");
    const verify = cli("audit", "verify", "--db", file);
    assert.equal(verify.status, 0, verify.stderr);
    assert.match(verify.stdout, /audit log ok: \d+ records, last hash [0-9a-f]{64}; 200000 serial numbers/);
  });
});
