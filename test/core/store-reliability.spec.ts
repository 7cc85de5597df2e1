import assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { spawn, spawnSync, ChildProcess } from "child_process";
import Database from "better-sqlite3";
import {
  APPLICATION_ID, PssError, SCHEMA_VERSION, StoreError, batchReport, openPoolStore, reconcile, strandedNumbers, verifyPoolFile,
} from "../../nodes/core/store";
import { tmpDir } from "../helpers/tmp";

const CLI = path.resolve(__dirname, "..", "..", "bin", "serialflow.js");
const LOCKER = path.resolve(__dirname, "fixtures", "lock-worker.js");
const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8" });
const bytes = (f: string) => fs.readFileSync(f).toString("hex");

/** A child process that holds the file with BEGIN EXCLUSIVE for `ms`; resolves once it holds the lock. */
export async function lockFile(file: string, ms: number): Promise<{ child: ChildProcess; released: Promise<unknown> }> {
  const child = spawn(process.execPath, [LOCKER, file, String(ms)], { stdio: ["ignore", "pipe", "pipe"] });
  const released = new Promise((r) => child.once("exit", r));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once("data", () => resolve());
    child.once("exit", (code) => reject(new Error(`lock worker exited early with ${code}`)));
  });
  return { child, released };
}

describe("pool store reliability (issue 13)", function () {
  this.timeout(120_000);
  let tmp: ReturnType<typeof tmpDir>;
  let file: string;
  beforeEach(function () {
    tmp = tmpDir();
    file = path.join(tmp.dir, "pool.db");
  });
  afterEach(function () {
    tmp.cleanup();
  });

  function line(): ReturnType<typeof openPoolStore> {
    const s = openPoolStore(file);
    s.createPool({ poolId: "P", sidClass: "custom", serialRule: { pattern: ".+", minLength: 1, maxLength: 128 }, isDefault: true, maxRequest: 10 });
    s.provision("P", Array.from({ length: 100 }, (_, i) => `N${String(i).padStart(3, "0")}`));
    return s;
  }

  describe("idempotent requests", function () {
    it("a request repeated with the same snCollectionId and count returns the same numbers, and changes nothing", function () {
      const s = line();
      try {
        const a = s.request("Allocated", { count: 5, snCollectionId: "ORDER-7" });
        const seq = s.verifyAudit();
        const b = s.request("Allocated", { count: 5, snCollectionId: "ORDER-7" });
        assert.deepEqual(b.snCollection.serialNumbers, a.snCollection.serialNumbers);
        assert.equal(b.returnStatus, "NoError");
        assert.equal(s.countByState("P").Allocated, 5, "no new numbers were handed out");
        assert.deepEqual(s.verifyAudit(), seq, "no audit record for a repeat");
      } finally {
        s.close();
      }
    });

    it("a repeat of a paged request returns the first page and its token while the token is unused", function () {
      const s = line();
      try {
        const a = s.request("Allocated", { count: 25, snCollectionId: "BIG" });
        const b = s.request("Allocated", { count: 25, snCollectionId: "BIG" });
        assert.deepEqual([b.snCollection.serialNumbers, b.returnedRequestToken], [a.snCollection.serialNumbers, a.returnedRequestToken]);
        const p2 = s.request("Allocated", { count: 25, requestToken: a.returnedRequestToken });
        assert.equal(p2.snCollection.serialNumbers.length, 10);
        assert.equal(s.request("Allocated", { count: 25, snCollectionId: "BIG" }).returnedRequestToken, "", "the used token is not given again");
      } finally {
        s.close();
      }
    });

    it("the same snCollectionId with another count is refused, naming the first count, nothing changed", function () {
      const s = line();
      try {
        s.request("Allocated", { count: 5, snCollectionId: "ORDER-8" });
        const before = s.countByState("P");
        assert.throws(() => s.request("Allocated", { count: 6, snCollectionId: "ORDER-8" }), (e: PssError) => {
          assert.equal(e.code, "InvalidSerialNumberCollection");
          assert.equal(e.rule, "CollectionRequestedAlready");
          assert.match(e.message, /requested already with count 5/);
          return true;
        });
        assert.deepEqual(s.countByState("P"), before);
      } finally {
        s.close();
      }
    });
  });

  describe("reconciliation", function () {
    it("lists Allocated and Encoded numbers by collection and age; apply invalidates the never printed and scraps the printed, audited", function () {
      const s = line();
      try {
        const a = s.request("Allocated", { count: 6, snCollectionId: "C1" }).snCollection.serialNumbers;
        s.applyEvent("sn_encoding", { serialNumbers: a.slice(0, 4) });
        s.applyEvent("commissioning", { serialNumbers: a.slice(0, 2) });
        const groups = strandedNumbers(s);
        assert.deepEqual(groups.map((g) => [g.poolId, g.snCollectionId, g.state, g.serialNumbers]), [
          ["P", "C1", "Allocated", a.slice(4)],
          ["P", "C1", "Encoded", a.slice(2, 4)],
        ].sort((x, y) => String(x[2]).localeCompare(String(y[2]))));
        assert.deepEqual(strandedNumbers(s, { olderThanMs: 3_600_000 }), [], "nothing is an hour old");
        const r = reconcile(s, { apply: true, actor: "test" });
        assert.deepEqual([r.invalidated, r.scrapped], [2, 2]);
        for (const n of a.slice(4)) assert.equal(s.getSerialNumber(n)?.state, "SNInvalid");
        for (const n of a.slice(2, 4)) assert.equal(s.getSerialNumber(n)?.state, "LabelScrapped");
        for (const n of a.slice(0, 2)) assert.equal(s.getSerialNumber(n)?.state, "Commissioned");
        const recs = [...s.auditRecords()].slice(-2);
        assert.deepEqual(recs.map((x) => [x.event, x.fromState, x.toState, x.actor, x.context.reconcile]).sort(), [
          ["label_scrapping", "Encoded", "LabelScrapped", "test", "printed, never commissioned"],
          ["sn_invalidating", "Allocated", "SNInvalid", "test", "never printed"],
        ]);
        assert.deepEqual(strandedNumbers(s), []);
        assert.equal(verifyPoolFile(s).ok, true);
      } finally {
        s.close();
      }
    });

    it("the batch report counts each pool and lot, and says when every number is accounted for", function () {
      const s = line();
      try {
        const a = s.request("Allocated", { count: 6, snCollectionId: "C1" }).snCollection.serialNumbers;
        s.applyEvent("sn_encoding", { serialNumbers: a.slice(0, 3), labelCollection: { id: "L-A", properties: { lot: "LOT-A" } } });
        s.applyEvent("sn_encoding", { serialNumbers: a.slice(3, 5), labelCollection: { id: "L-B", properties: { "10": "LOT-B" } } });
        s.applyEvent("commissioning", { serialNumbers: a.slice(0, 2) });
        s.applyEvent("label_sampling", { serialNumbers: [a[3]] });
        let [rep] = batchReport(s, "P");
        assert.equal(rep.accountedFor, false);
        assert.deepEqual(
          [rep.pool.requested, rep.pool.printed, rep.pool.commissioned, rep.pool.sampled, rep.pool.stillAllocated, rep.pool.stillEncoded],
          [6, 5, 2, 1, 1, 2],
        );
        const lot = (l: string) => rep.lots.find((x) => x.lot === l)!;
        assert.deepEqual([lot("LOT-A").printed, lot("LOT-A").commissioned, lot("LOT-A").stillEncoded], [3, 2, 1]);
        assert.deepEqual([lot("LOT-B").printed, lot("LOT-B").sampled, lot("LOT-B").stillEncoded], [2, 1, 1]);
        assert.equal(lot("").stillAllocated, 1);
        reconcile(s, { apply: true });
        [rep] = batchReport(s, "P");
        assert.equal(rep.accountedFor, true);
        assert.deepEqual([rep.pool.invalidated, rep.pool.scrapped, rep.pool.requested], [1, 2, 6]);
      } finally {
        s.close();
      }
    });
  });

  describe("pool files are marked", function () {
    it("a new pool file carries SQLite's application_id and the schema version", function () {
      line().close();
      const db = new Database(file, { readonly: true });
      try {
        assert.equal(db.pragma("application_id", { simple: true }), APPLICATION_ID);
        assert.equal(db.pragma("user_version", { simple: true }), SCHEMA_VERSION);
      } finally {
        db.close();
      }
    });

    it("a version-1 pool file (unmarked, from before) is read as it is read-only, and marked when opened for writing", function () {
      const s = line();
      s.request("Allocated", { count: 2 });
      s.close();
      const raw = new Database(file);
      raw.exec("DROP TABLE sn_request; UPDATE meta SET value = '1' WHERE key = 'schema_version'");
      raw.pragma("application_id = 0");
      raw.pragma("user_version = 0");
      raw.close();
      const before = bytes(file);
      const ro = openPoolStore(file, { readonly: true });
      try {
        assert.equal(ro.countByState("P").Allocated, 2);
        assert.equal(verifyPoolFile(ro).ok, true);
      } finally {
        ro.close();
      }
      assert.equal(bytes(file), before, "read-only leaves it as it was");
      const rw = openPoolStore(file);
      try {
        assert.equal(rw.db.pragma("application_id", { simple: true }), APPLICATION_ID);
        assert.equal(rw.db.pragma("user_version", { simple: true }), SCHEMA_VERSION);
        const a = rw.request("Allocated", { count: 2, snCollectionId: "AFTER" });
        assert.deepEqual(rw.request("Allocated", { count: 2, snCollectionId: "AFTER" }).snCollection.serialNumbers, a.snCollection.serialNumbers);
      } finally {
        rw.close();
      }
    });

    it("another application's SQLite file is refused with a clear message and left byte-identical", function () {
      const db = new Database(file);
      db.exec("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers (name) VALUES ('ACME')");
      db.close();
      const before = bytes(file);
      assert.throws(() => openPoolStore(file), (e: PssError) => e.code === "NotAPoolFile" && /not a SerialFlow pool file .*customers.*left untouched/.test(e.message));
      for (const args of [["pool", "status"], ["audit", "verify"], ["pool", "reconcile", "--apply"]]) {
        const r = cli(...args, "--db", file);
        assert.equal(r.status, 1, args.join(" "));
        assert.match(r.stderr, /not a SerialFlow pool file/, args.join(" "));
      }
      assert.equal(bytes(file), before);
      assert.deepEqual(fs.readdirSync(tmp.dir), ["pool.db"], "no -wal or -shm file was made");
    });

    it("a file with another application_id, or that is not SQLite at all, is refused untouched", function () {
      const db = new Database(file);
      db.pragma("application_id = 1234");
      db.exec("CREATE TABLE pool (x); CREATE TABLE meta (y)");
      db.close();
      const before = bytes(file);
      assert.throws(() => openPoolStore(file), /application_id 0x4d2/);
      assert.equal(bytes(file), before);
      const text = path.join(tmp.dir, "notes.db");
      fs.writeFileSync(text, "not a database at all, but long enough to be read as one by SQLite..........".repeat(20));
      const t = bytes(text);
      assert.throws(() => openPoolStore(text), (e: PssError) => e.code === "NotAPoolFile" && /not a SQLite database/.test(e.message));
      assert.equal(bytes(text), t);
    });
  });

  describe("storage failures are StoreErrors, not PSS refusals", function () {
    it("a file locked by another process: PoolBusy (a StoreError, not a PssError), nothing changed", async function () {
      line().close();
      const s = openPoolStore(file, { busyTimeoutMs: 50 });
      try {
        const lock = await lockFile(file, 3_000);
        try {
          assert.throws(() => s.request("Allocated", { count: 3 }), (e: Error & { code?: string }) => {
            assert.ok(e instanceof StoreError && !(e instanceof PssError));
            assert.equal(e.code, "PoolBusy");
            assert.match(e.message, /locked by another connection or process/);
            return true;
          });
        } finally {
          await lock.released;
        }
        assert.equal(s.countByState("P").Allocated, 0);
        assert.equal(s.request("Allocated", { count: 3 }).snCollection.serialNumbers.length, 3, "works once released");
      } finally {
        s.close();
      }
    });

    it("a full disk (the file at its size limit): DiskFull, the store unchanged", function () {
      const s = line();
      try {
        const pages = s.db.pragma("page_count", { simple: true }) as number;
        s.db.pragma(`max_page_count = ${pages}`);
        const before = s.countByState("P");
        const head = s.verifyAudit();
        assert.throws(() => s.provision("P", Array.from({ length: 20_000 }, (_, i) => `F${i}`)), (e: Error & { code?: string }) => {
          assert.ok(e instanceof StoreError);
          assert.equal(e.code, "DiskFull");
          assert.match(e.message, /full/);
          return true;
        });
        assert.deepEqual(s.countByState("P"), before);
        assert.deepEqual(s.verifyAudit(), head);
      } finally {
        s.close();
      }
    });
  });
});
