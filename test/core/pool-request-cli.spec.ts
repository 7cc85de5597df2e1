/* serialflow pool request (issue 17): numbers drawn through the PSS request from a pool file and from PostgreSQL, every
   page, one per line on stdout; a repeated --collection answers the same numbers; a short pool exits 3 with what it
   had; a refusal exits 1 having drawn nothing; two loops drawing side by side never get the same number. The built CLI
   run as a user runs it; real PostgreSQL (test/helpers/pg.ts). */
import { strict as assert } from "assert";
import * as path from "path";
import { spawn, spawnSync } from "child_process";
import { Client } from "pg";
import { openPoolStore } from "../../nodes/core/store";
import { PgPoolEngine, quoteIdent } from "../../nodes/core/store/pg";
import { testPg, TestPg } from "../helpers/pg";
import { tmpDir } from "../helpers/tmp";

const CLI = path.resolve(__dirname, "..", "..", "bin", "serialflow.js");
const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8" });
const lines = (stdout: string) => stdout.split("\n").filter(Boolean);

/** The CLI in a child process, not waited for: for loops running side by side. */
function runAsync(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args]);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

/** How a pool is reached, and how to read a number's state there. */
interface Engine {
  where: string[];
  state(value: string): Promise<string | undefined>;
  verify(): void;
}

/** The same scenario on either engine: a pool P of 60 numbers (page size 7) and a pool Q of 3. */
async function scenario(e: Engine): Promise<void> {
  // 20 numbers over three pages (7 + 7 + 6)
  let r = run("pool", "request", ...e.where, "--pool", "P", "--count", "20");
  assert.equal(r.status, 0, r.stderr);
  const first = lines(r.stdout);
  assert.equal(first.length, 20);
  assert.equal(new Set(first).size, 20);
  assert.match(r.stderr, /^SNRequestAllocated: 20 of 20 serial numbers Allocated in SNCollection SNC-[0-9a-f-]+ of pool P \(.*\), 3 page\(s\)\n$/);
  for (const sn of first) assert.equal(await e.state(sn), "Allocated", sn);

  // another target, named; the same name and count again: the same numbers, nothing new
  r = run("pool", "request", ...e.where, "--pool", "P", "--count", "5", "--target", "Unallocated", "--collection", "C-UNALLOC");
  assert.equal(r.status, 0, r.stderr);
  const named = lines(r.stdout);
  assert.equal(named.length, 5);
  assert.match(r.stderr, /5 of 5 serial numbers Unallocated in SNCollection C-UNALLOC of pool P/);
  for (const sn of named) assert.equal(await e.state(sn), "Unallocated", sn);
  assert.ok(named.every((sn) => !first.includes(sn)));
  r = run("pool", "request", ...e.where, "--pool", "P", "--count", "5", "--target", "Unallocated", "--collection", "C-UNALLOC");
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(lines(r.stdout), named);
  // the same name with another count is refused, nothing drawn
  r = run("pool", "request", ...e.where, "--pool", "P", "--count", "6", "--target", "Unallocated", "--collection", "C-UNALLOC");
  assert.equal(r.status, 1);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /SNRequestUnallocated refused \(InvalidSerialNumberCollection\): .*C-UNALLOC was requested already with count 5.*\nnothing was drawn\n$/);

  // two loops side by side, five requests of 3 each: 30 numbers, none twice
  const loop = async () => {
    const got: string[] = [];
    for (let i = 0; i < 5; i++) {
      const x = await runAsync("pool", "request", ...e.where, "--pool", "P", "--count", "3");
      assert.equal(x.status, 0, x.stderr);
      got.push(...lines(x.stdout));
    }
    return got;
  };
  const [a, b] = await Promise.all([loop(), loop()]);
  const both = [...a, ...b];
  assert.equal(both.length, 30);
  assert.equal(new Set(both).size, 30, "no number drawn by both loops");
  assert.ok(both.every((sn) => !first.includes(sn) && !named.includes(sn)));

  // 5 numbers are left in P: a request of 8 gets them and exits 3
  r = run("pool", "request", ...e.where, "--pool", "P", "--count", "8");
  assert.equal(r.status, 3, r.stderr);
  const rest = lines(r.stdout);
  assert.equal(rest.length, 5);
  assert.match(r.stderr, /5 of 8 serial numbers Allocated/);
  assert.match(r.stderr, /InsufficientSerialNumbers: the pool had only 5 free; the 5 printed are drawn, 3 are missing/);
  for (const sn of rest) assert.equal(await e.state(sn), "Allocated", sn);
  assert.equal(new Set([...first, ...named, ...both, ...rest]).size, 60, "every number of P handed out once");

  // refusals: nothing drawn, exit 1 or 2 with the reason
  r = run("pool", "request", ...e.where, "--pool", "NOPE", "--count", "1");
  assert.equal(r.status, 1);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /refused \(InvalidSelectionCriteria\): no pool matches the selection criteria .*NOPE.*\nnothing was drawn\n$/);
  r = run("pool", "request", ...e.where, "--count", "1");
  assert.equal(r.status, 1, "two pools and none is the default");
  assert.match(r.stderr, /refused \(InvalidSelectionCriteria\): no pool selection criteria given and no default pool among P, Q/);
  r = run("pool", "request", ...e.where, "--pool", "Q", "--count", "1000001");
  assert.equal(r.status, 1);
  assert.match(r.stderr, /refused \(InvalidCount\)/);
  for (const [args, msg] of [[["--count", "0"], /--count must be a whole number from 1, got "0"/], [["--count", "2", "--target", "Encoded"], /--target must be one of Allocated, Unallocated, Unassigned, got "Encoded"/], [[], /option --count is required/]] as const) {
    r = run("pool", "request", ...e.where, "--pool", "Q", ...args);
    assert.equal(r.status, 2, args.join(" "));
    assert.match(r.stderr, msg);
    assert.match(r.stderr, /Usage: serialflow pool request --db FILE \| --pg URL/);
  }
  e.verify();
}

describe("serialflow pool request", function () {
  this.timeout(120_000);
  let tmp: ReturnType<typeof tmpDir>;
  beforeEach(() => (tmp = tmpDir("serialflow-request-")));
  afterEach(() => tmp.cleanup());

  it("on a pool file", async () => {
    const db = path.join(tmp.dir, "line.db");
    const s = openPoolStore(db, { actor: "setup" });
    try {
      s.createPool({ poolId: "P", sidClass: "GS1-SGTIN", maxRequest: 7 });
      s.createPool({ poolId: "Q", sidClass: "GS1-SGTIN" });
      s.provision("P", { generate: 60 });
      s.provision("Q", { generate: 3 });
    } finally {
      s.close();
    }
    await scenario({
      where: ["--db", db],
      async state(value) {
        const st = openPoolStore(db, { readonly: true });
        try {
          return st.getSerialNumber(value)?.state;
        } finally {
          st.close();
        }
      },
      verify() {
        const v = run("audit", "verify", "--db", db);
        assert.equal(v.status, 0, v.stderr);
      },
    });
    // a file that does not exist is not made
    const r = run("pool", "request", "--db", path.join(tmp.dir, "typo.db"), "--count", "1");
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no pool file at .*typo\.db/);
  });

  describe("on PostgreSQL", () => {
    let pg: TestPg;
    let admin: Client;
    before(async () => {
      pg = await testPg();
      admin = new Client({ connectionString: pg.url });
      await admin.connect();
    });
    after(async () => {
      await admin?.end();
      await pg?.dispose();
    });

    it("on a schema", async () => {
      const schema = pg.schema;
      // a schema without SerialFlow tables is refused, not made
      let r = run("pool", "request", "--pg", pg.url, "--schema", schema, "--count", "1");
      assert.equal(r.status, 1);
      assert.match(r.stderr, /holds no SerialFlow pool/);
      const e = await PgPoolEngine.open({ connectionString: pg.url, schema, defaultActor: "setup" });
      try {
        await e.createPool({ poolId: "P", sidClass: "GS1-SGTIN", maxRequest: 7 });
        await e.createPool({ poolId: "Q", sidClass: "GS1-SGTIN" });
        await e.generateNumbers("P", 60);
        await e.generateNumbers("Q", 3);
        await scenario({
          where: ["--pg", pg.url, "--schema", schema],
          state: async (value) => (await e.getSerialNumber(value))?.state,
          verify() {
            const v = run("audit", "verify", "--pg", pg.url, "--schema", schema);
            assert.equal(v.status, 0, v.stderr);
            assert.match(v.stdout, /^audit log ok: /);
          },
        });
      } finally {
        await e.close();
      }
      // the CLI's calls are audited under its actor
      const actors = (await admin.query(`SELECT DISTINCT actor FROM ${quoteIdent(schema)}.audit WHERE event = 'sn_allocating'`)).rows.map((x) => x.actor as string);
      assert.ok(actors.length === 1 && actors[0].startsWith("serialflow-cli:"), actors.join(", "));
      r = run("pool", "request", "--db", path.join(tmp.dir, "x.db"), "--pg", pg.url, "--count", "1");
      assert.equal(r.status, 2);
      assert.match(r.stderr, /not both/);
    });
  });
});
