/* Progress of long work (issue 16): the core functions report from their own chunks through onProgress(done, total),
   done increasing up to total; the command-line bar draws it on a terminal only, throttled. */
import assert from "node:assert/strict";
import * as path from "path";
import { openPoolStore, verifyPoolFile, PssError, type SqlitePoolStore } from "../../nodes/core/store";
import { parseImport } from "../../nodes/core/sid";
import { progressBar, PROGRESS_REDRAW_MS } from "../../bin/progress";
import { tmpDir } from "../helpers/tmp";

type Call = [number, number];

/** Asserts the calls of one run: more than one (per chunk), done never backwards, total fixed, the last at total. */
function assertProgress(calls: Call[], what: string): void {
  assert.ok(calls.length >= 3, `${what}: called per chunk (got ${calls.length} calls)`);
  const total = calls[0][1];
  assert.ok(total > 0, `${what}: a total`);
  for (let i = 0; i < calls.length; i++) {
    const [done, t] = calls[i];
    assert.equal(t, total, `${what}: call ${i} keeps the total`);
    assert.ok(done >= 0 && done <= total, `${what}: call ${i} done ${done} within 0..${total}`);
    if (i > 0) assert.ok(done >= calls[i - 1][0], `${what}: call ${i} done ${done} after ${calls[i - 1][0]}`);
  }
  assert.deepEqual(calls.at(-1), [total, total], `${what}: ends at total`);
  assert.ok(calls.some(([d]) => d > 0 && d < total), `${what}: reports between start and end`);
}

const lines = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(8, "0")}`).join("\n") + "\n";

describe("progress of long work (onProgress in the core, the bar of the command line)", function () {
  let tmp: ReturnType<typeof tmpDir>;
  let store: SqlitePoolStore;
  beforeEach(function () {
    tmp = tmpDir();
    store = openPoolStore(path.join(tmp.dir, "pool.db"));
    store.createPool({ poolId: "S", sidClass: "GS1-SGTIN", isDefault: true });
    store.createPool({ poolId: "C", sidClass: "custom", serialRule: { pattern: "[A-Z0-9]+", minLength: 2, maxLength: 20 } });
  });
  afterEach(function () {
    store.close();
    tmp.cleanup();
  });

  it("store.importFile reports per chunk of lines, increasing, up to total once stored (SID class and custom pools)", function () {
    for (const pool of ["S", "C"]) {
      const calls: Call[] = [];
      const r = store.importFile(pool, lines(35_000, `${pool}X`), { onProgress: (d, t) => calls.push([d, t]) });
      assert.equal(r.added, 35_000);
      assertProgress(calls, `import into ${pool}`);
    }
    assert.equal(store.countByState("S").Unassigned + store.countByState("C").Unassigned, 70_000);
  });

  it("a refused import stops reporting before total, and stores nothing", function () {
    const calls: Call[] = [];
    const text = lines(25_000, "R") + "R00000007\n";
    assert.throws(() => store.importFile("C", text, { onProgress: (d, t) => calls.push([d, t]) }), (e: unknown) => e instanceof PssError && e.code === "DuplicateInBatch");
    assert.ok(calls.length > 0);
    assert.ok(calls.every(([d, t]) => d < t), "never reports the import complete");
    assert.equal(store.countByState("C").Unassigned, 0);
  });

  it("sid.parseImport reports every 10,000 lines and at the end", function () {
    const calls: Call[] = [];
    const r = parseImport(lines(25_000, "P"), "GS1-SGTIN", { onProgress: (d, t) => calls.push([d, t]) });
    assert.equal(r.serials.length, 25_000);
    assert.deepEqual(calls, [[10_000, 25_001], [20_000, 25_001], [25_001, 25_001]]);
  });

  it("verifyPoolFile and auditRecords report per chunk of audit records, up to total", function () {
    // 2,400 audit records (one provisioning each), in one transaction
    store.transaction(() => {
      for (let i = 0; i < 2_400; i++) store.provision("C", [`V${i}`]);
    });
    const verify: Call[] = [];
    const r = verifyPoolFile(store, { onProgress: (d, t) => verify.push([d, t]) });
    assert.equal(r.ok, true, JSON.stringify(r));
    assertProgress(verify, "verify");
    const records = store.countAuditRecords();
    assert.equal(verify[0][1], 2 * records, "each record counts twice: its hash, then its replay");
    const read: Call[] = [];
    let n = 0;
    for (const _ of store.auditRecords({}, { onProgress: (d, t) => read.push([d, t]) })) n++;
    assert.equal(n, records);
    assertProgress(read, "auditRecords");
    assert.equal(read[0][1], records);
  });

  it("a failing verify never reports total", function () {
    store.provision("C", ["T1", "T2"]);
    store.db.exec("DROP TRIGGER IF EXISTS audit_no_update");
    store.db.prepare("UPDATE serial_number SET state = 3 WHERE value = 'T1'").run();
    const calls: Call[] = [];
    const r = verifyPoolFile(store, { onProgress: (d, t) => calls.push([d, t]) });
    assert.equal(r.ok, false);
    assert.ok(calls.length > 0, "reported while it ran");
    assert.ok(calls.every(([d, t]) => d < t));
  });

  describe("the bar (bin/progress.ts)", function () {
    const fakeStream = (isTTY: boolean) => {
      const writes: string[] = [];
      return { writes, stream: { isTTY, write: (s: string) => writes.push(s) > 0 } as unknown as NodeJS.WriteStream };
    };

    it("draws nothing when the stream is not a terminal", function () {
      const { writes, stream } = fakeStream(false);
      const bar = progressBar("importing", { stream });
      for (let i = 0; i <= 100; i++) bar.update(i, 100);
      bar.end();
      assert.equal(bar.active, false);
      assert.deepEqual(writes, []);
    });

    it("on a terminal: redraws in place at most once per interval, always the final state, then ends the line", function () {
      const { writes, stream } = fakeStream(true);
      let clock = 1_000;
      const bar = progressBar("generating", { stream, counts: true, now: () => clock });
      for (let i = 1; i <= 1000; i++) bar.update(i, 1000); // a thousand rows within the same instant: one redraw and the last
      assert.equal(writes.length, 2, writes.join("|"));
      assert.match(writes[0], /^\rgenerating \[-+\]\s+0%\s+1 \/ 1,000\x1b\[K$/);
      assert.match(writes[1], /^\rgenerating \[#{30}\] 100%\s+1,000 \/ 1,000\x1b\[K$/);
      clock += PROGRESS_REDRAW_MS;
      const again = progressBar("verifying", { stream, now: () => clock });
      writes.length = 0;
      again.update(1, 4);
      again.update(2, 4); // too soon: not drawn
      clock += PROGRESS_REDRAW_MS;
      again.update(3, 4);
      again.end();
      again.end();
      assert.deepEqual(writes.map((w) => w.replace(/\x1b\[K/g, "")), ["\rverifying [########----------------------]  25%", "\rverifying [#######################-------]  75%", "\n"]);
    });
  });
});
