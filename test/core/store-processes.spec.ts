import assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { spawn, spawnSync, ChildProcess } from "child_process";
import Database from "better-sqlite3";
import { openPoolStore } from "../../nodes/core/store";
import { tmpDir } from "../helpers/tmp";

const WORKER = path.resolve(__dirname, "fixtures", "store-worker.js");
const CLI = path.resolve(__dirname, "..", "..", "bin", "serialflow.js");

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
}

describe("pool store across processes", function () {
  this.timeout(180_000);
  let tmp: ReturnType<typeof tmpDir>;
  beforeEach(function () {
    tmp = tmpDir();
  });
  afterEach(function () {
    tmp.cleanup();
  });

  it("4 processes each request 10,000 Allocated numbers at once: every number goes to exactly one of them", async function () {
    const file = path.join(tmp.dir, "shared.db");
    const setup = openPoolStore(file);
    // pages of 1,000 make the four processes interleave their transactions
    setup.createPool({ poolId: "P", sidClass: "custom", serialRule: { pattern: ".+", minLength: 1, maxLength: 128 }, maxRequest: 1_000, isDefault: true });
    setup.provision("P", Array.from({ length: 45_000 }, (_, i) => `C${String(i).padStart(6, "0")}`));
    setup.close();
    const outs = [0, 1, 2, 3].map((i) => path.join(tmp.dir, `out-${i}.json`));
    const children = outs.map((o) => spawn(process.execPath, [WORKER, "allocate", file, "10000", o], { stdio: ["ignore", "ignore", "pipe"] }));
    const errs = children.map((c) => {
      let s = "";
      c.stderr!.on("data", (d) => (s += d));
      return () => s;
    });
    const results = await Promise.all(children.map(exited));
    results.forEach((r, i) => assert.equal(r.code, 0, `worker ${i}: ${errs[i]()}`));
    const got = outs.map((o) => JSON.parse(fs.readFileSync(o, "utf8")) as { numbers: string[]; collections: string[] });
    for (const g of got) assert.equal(g.numbers.length, 10_000);
    const union = got.flatMap((g) => g.numbers);
    assert.equal(new Set(union).size, 40_000, "no number was handed out twice");
    const store = openPoolStore(file);
    try {
      assert.deepEqual({ ...store.countByState("P") }, { ...store.countByState("P"), Unassigned: 5_000, Allocated: 40_000 });
      got.forEach((g, i) => {
        for (const n of g.numbers.filter((_, j) => j % 97 === 0)) {
          const info = store.getSerialNumber(n);
          assert.equal(info?.state, "Allocated");
          assert.ok(g.collections.includes(info!.snCollectionId!), `number ${n} belongs to worker ${i}'s collection`);
        }
      });
      assert.equal(store.verifyAudit().ok, true);
    } finally {
      store.close();
    }
  });

  it("20 SIGKILLs at random moments during 20,000-number batches leave a consistent store and a verifiable audit log", async function () {
    const file = path.join(tmp.dir, "crash.db");
    const setup = openPoolStore(file);
    setup.createPool({ poolId: "crash", sidClass: "custom", serialRule: { pattern: ".+", minLength: 1, maxLength: 128 }, maxRequest: 20_000, isDefault: true });
    setup.close();
    for (let run = 0; run < 20; run++) {
      const child = spawn(process.execPath, [WORKER, "crash", file, String(run)], { stdio: ["ignore", "pipe", "pipe"] });
      const done = exited(child);
      await new Promise<void>((resolve, reject) => {
        child.stdout!.once("data", () => resolve());
        child.once("exit", (code) => reject(new Error(`crash worker exited early with ${code}`)));
      });
      await new Promise((r) => setTimeout(r, 50 + Math.floor(Math.random() * 600)));
      child.kill("SIGKILL");
      assert.equal((await done).signal, "SIGKILL");
    }
    const db = new Database(file, { readonly: true });
    try {
      assert.equal(db.pragma("integrity_check", { simple: true }), "ok");
      assert.equal(db.prepare("SELECT count(*) - count(DISTINCT value) FROM serial_number").pluck().get(), 0, "no number is stored twice");
      // replaying the audit log gives exactly the stored states: nothing lost, nothing changed unaudited
      const replay = new Map<string, string>();
      const rows = db.prepare("SELECT event, serial_numbers, from_state, to_state FROM audit ORDER BY seq").iterate() as IterableIterator<{ event: string; serial_numbers: string; from_state: string | null; to_state: string | null }>;
      for (const r of rows) {
        if (!r.serial_numbers) continue;
        for (const n of r.serial_numbers.split("\n")) {
          if (r.event === "sn_adding") assert.equal(replay.has(n), false, `${n} added twice`);
          else assert.equal(replay.get(n), r.from_state, `${n} was ${replay.get(n)} before ${r.event}`);
          replay.set(n, r.to_state as string);
        }
      }
      const stored = db.prepare("SELECT value, state FROM serial_number").raw(true).iterate() as IterableIterator<[string, number]>;
      const STATES = ["Unassigned", "Unallocated", "Allocated", "SNInvalid", "Encoded", "LabelSampled", "LabelScrapped", "Commissioned", "Sampled", "Inactive", "Destroyed", "Released"];
      let count = 0;
      const batches = new Map<string, { n: number; states: Set<number> }>();
      for (const [v, s] of stored) {
        count++;
        assert.equal(replay.get(v), STATES[s], v);
        const key = v.slice(0, v.lastIndexOf("-") + 1);
        const b = batches.get(key) ?? { n: 0, states: new Set<number>() };
        b.n++;
        b.states.add(s);
        batches.set(key, b);
      }
      assert.equal(count, replay.size, "every audited number is stored");
      // every batch is all or nothing: 0 or 20,000 numbers, and one state for the whole batch
      assert.ok(batches.size >= 1, "batches got in between the kills");
      for (const [key, b] of batches) assert.deepEqual([key, b.n, b.states.size], [key, 20_000, 1]);
      const counted = db.prepare("SELECT state, n FROM pool_count WHERE n != 0 ORDER BY state").raw(true).all();
      const actual = db.prepare("SELECT state, count(*) FROM serial_number GROUP BY state ORDER BY state").raw(true).all();
      assert.deepEqual(counted, actual, "the per-state counters match the numbers");
    } finally {
      db.close();
    }
    const v = spawnSync(process.execPath, [CLI, "audit", "verify", "--db", file], { encoding: "utf8" });
    assert.equal(v.status, 0, v.stderr);
    assert.match(v.stdout, /audit log ok: \d+ records/);
  });
});

