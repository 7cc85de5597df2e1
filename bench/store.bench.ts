/* Pool store benchmarks, each as a ratio to raw better-sqlite3 doing the same writes in the same run:
   provisioning 1,000,000 random serial numbers, allocating 100,000 in one request, 10,000 single-number
   commissioning events each in its own durable transaction with its audit record; then the cost per operation
   in a 10,000- and a 10,000,000-number pool (SERIALFLOW_BENCH_BIG=0 scales the big pool down to 1,000,000)
   and the peak memory of the process that built the big pool. */
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import Database from "better-sqlite3";
import type { BenchModule, BenchRow } from "./harness";
import { seconds } from "./harness";
import { openPoolStore, defaultGenerator } from "../nodes/core/store";

const random = (n: number) => defaultGenerator("bench-random", n);

/** The raw baseline: the same rows, indexes and audit rows, written with plain prepared statements. */
function rawDb(file: string): Database.Database {
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.exec(`CREATE TABLE serial_number (value TEXT NOT NULL, pool INTEGER NOT NULL, state INTEGER NOT NULL, sn_collection INTEGER, label_collection INTEGER, properties TEXT);
    CREATE UNIQUE INDEX serial_number_value ON serial_number(value);
    CREATE INDEX serial_number_pool_state ON serial_number(pool, state, sn_collection);
    CREATE TABLE audit (seq INTEGER PRIMARY KEY, time TEXT NOT NULL, event TEXT NOT NULL, serial_numbers TEXT NOT NULL, hash TEXT NOT NULL);`);
  return db;
}

function rawAudit(db: Database.Database) {
  const ins = db.prepare("INSERT INTO audit (time, event, serial_numbers, hash) VALUES (?, ?, ?, ?)");
  return (event: string, numbers: string) => ins.run(new Date().toISOString(), event, numbers, crypto.createHash("sha256").update(numbers).digest("hex"));
}

/** Child mode: build a pool of `size` numbers and time per-operation costs in it. Prints one JSON line. */
function child(size: number, dir: string): void {
  const store = openPoolStore(path.join(dir, `pool-${size}.db`), { actor: "bench" });
  store.createPool({ poolId: "P", sidClass: "custom", serialRule: { pattern: ".+", minLength: 1, maxLength: 128 }, maxRequest: 100_000, maxCount: 100_000_000, isDefault: true });
  const chunk = 100_000;
  let provisionS = 0;
  for (let done = 0; done < size; done += chunk) {
    const values = random(Math.min(chunk, size - done));
    const t0 = process.hrtime.bigint();
    store.provision("P", values);
    provisionS += Number(process.hrtime.bigint() - t0) / 1e9;
  }
  // requests of 100 (50 of them fit in the 10,000 pool) and single-number commissioning events, in a pool of `size`
  const reqN = 50;
  const t1 = process.hrtime.bigint();
  const got: string[] = [];
  for (let i = 0; i < reqN; i++) got.push(...store.request("Allocated", { count: 100 }).snCollection.serialNumbers);
  const requestS = Number(process.hrtime.bigint() - t1) / 1e9;
  const ops = got.slice(0, 2_000);
  store.applyEvent("sn_encoding", { serialNumbers: ops });
  const t2 = process.hrtime.bigint();
  for (const n of ops) store.applyEvent("commissioning", { serialNumbers: [n] });
  const commissionS = Number(process.hrtime.bigint() - t2) / 1e9;
  store.close();
  const maxRssMb = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(JSON.stringify({ size, provisionUsPerNumber: (provisionS / size) * 1e6, requestMsPer100: (requestS / reqN) * 1e3, commissionUs: (commissionS / ops.length) * 1e6, maxRssMb }) + "\n");
}

interface ChildResult { size: number; provisionUsPerNumber: number; requestMsPer100: number; commissionUs: number; maxRssMb: number }

function runChild(size: number, dir: string): ChildResult {
  const r = spawnSync(process.execPath, [__filename, "--child", String(size), dir], { encoding: "utf8", maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`bench child (${size}) failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop() as string) as ChildResult;
}

const bench: BenchModule = {
  title: "pool store (better-sqlite3, WAL, synchronous=FULL)",
  async run(log: (row: BenchRow) => void) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "serialflow-bench-store-"));
    try {
      const N = 1_000_000;
      const values = random(N);
      const raw = rawDb(path.join(dir, "raw.db"));
      const audit = rawAudit(raw);
      const store = openPoolStore(path.join(dir, "store.db"), { actor: "bench" });
      store.createPool({ poolId: "P", sidClass: "custom", serialRule: { pattern: ".+", minLength: 1, maxLength: 128 }, maxRequest: 100_000, isDefault: true });

      // 1. provisioning 1,000,000 random serial numbers in one batch
      const rawProv = await seconds(() => {
        const ins = raw.prepare("INSERT INTO serial_number (value, pool, state) VALUES (?, 1, 0)");
        raw.transaction(() => {
          for (const v of values) ins.run(v);
          audit("sn_adding", values.join("\n"));
        }).immediate();
      });
      const ourProv = await seconds(() => store.provision("P", values));
      log({ name: "provision 1,000,000 random serial numbers", value: N / ourProv, unit: "numbers/s", ratio: rawProv / ourProv, aim: "ratio >= 0.5", note: `raw ${Math.round(N / rawProv).toLocaleString("en-US")}/s` });

      // 2. allocating 100,000 in one request
      const rawAlloc = await seconds(() => {
        raw.transaction(() => {
          const got = raw.prepare("UPDATE serial_number SET state = 2, sn_collection = 1 WHERE rowid IN (SELECT rowid FROM serial_number WHERE pool = 1 AND state = 0 AND sn_collection IS NULL LIMIT 100000) RETURNING value").pluck().all() as string[];
          audit("sn_allocating", got.join("\n"));
        }).immediate();
      });
      let allocated: string[] = [];
      const ourAlloc = await seconds(() => {
        allocated = store.request("Allocated", { count: 100_000 }).snCollection.serialNumbers;
      });
      if (allocated.length !== 100_000) throw new Error(`request gave ${allocated.length} numbers`);
      log({ name: "allocate 100,000 in one request (SNRequestAllocated)", value: 100_000 / ourAlloc, unit: "numbers/s", ratio: rawAlloc / ourAlloc, aim: "ratio >= 0.5", note: `${(ourAlloc * 1e3).toFixed(0)} ms vs raw ${(rawAlloc * 1e3).toFixed(0)} ms` });

      // 3. 10,000 single-number commissioning events, each its own durable transaction with its audit record
      const ops = allocated.slice(0, 10_000);
      store.applyEvent("sn_encoding", { serialNumbers: ops });
      raw.prepare("UPDATE serial_number SET state = 4 WHERE value IN (SELECT value FROM json_each(?))").run(JSON.stringify(ops));
      const upd = raw.prepare("UPDATE serial_number SET state = 7 WHERE value = ? AND state = 4");
      const one = raw.transaction((v: string) => {
        upd.run(v);
        audit("commissioning", v);
      });
      // interleaved in rounds so that drift of the shared disk hits both sides alike
      let rawEv = 0;
      let ourEv = 0;
      for (let r = 0; r < 10; r++) {
        const part = ops.slice(r * 1_000, (r + 1) * 1_000);
        rawEv += await seconds(() => {
          for (const v of part) one.immediate(v);
        });
        ourEv += await seconds(() => {
          for (const v of part) store.applyEvent("commissioning", { serialNumbers: [v] });
        });
      }
      log({ name: "10,000 single-number commissioning events (durable each)", value: ops.length / ourEv, unit: "events/s", ratio: rawEv / ourEv, aim: "ratio >= 0.7", note: `${((ourEv / ops.length) * 1e6).toFixed(0)} µs vs raw ${((rawEv / ops.length) * 1e6).toFixed(0)} µs per event` });
      store.close();
      raw.close();

      // 4. cost per operation: small vs big pool, each built in its own process (peak memory of that process)
      const bigSize = process.env.SERIALFLOW_BENCH_BIG === "0" ? 1_000_000 : 10_000_000;
      const small = runChild(10_000, dir);
      const big = runChild(bigSize, dir);
      const label = bigSize.toLocaleString("en-US");
      log({ name: `commissioning event: ${label}-pool / 10,000-pool cost`, value: big.commissionUs, unit: "µs/event", ratio: small.commissionUs / big.commissionUs, aim: "flat (ratio ~1)", note: `10,000-pool ${small.commissionUs.toFixed(0)} µs` });
      log({ name: `request 100 Allocated: ${label}-pool / 10,000-pool cost`, value: big.requestMsPer100, unit: "ms/request", ratio: small.requestMsPer100 / big.requestMsPer100, aim: "flat (ratio ~1)", note: `10,000-pool ${small.requestMsPer100.toFixed(1)} ms` });
      log({ name: `provisioning: ${label}-pool / 10,000-pool cost per number`, value: big.provisionUsPerNumber, unit: "µs/number", ratio: small.provisionUsPerNumber / big.provisionUsPerNumber, aim: "flat (ratio ~1)", note: `10,000-pool ${small.provisionUsPerNumber.toFixed(2)} µs` });
      log({ name: `peak memory building (100,000-number batches) and using a ${label}-number pool`, value: big.maxRssMb, unit: "MB", aim: "< 200 MB at 10,000,000", note: `10,000-pool ${small.maxRssMb.toFixed(0)} MB` });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};

export default bench;

if (require.main === module && process.argv[2] === "--child") child(Number(process.argv[3]), process.argv[4]);
