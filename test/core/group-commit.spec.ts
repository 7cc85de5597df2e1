/* Group commit in the SQLite engine (issue 18, SqlitePoolStore.grouped): calls of one turn of the event loop share
   one durable commit, each in its own savepoint (a refusal rolls back its call only), each answered after that
   commit; and a SIGKILL at a random moment during 16 concurrent callers, repeated 20 times, loses no acknowledged
   event (test/helpers/group-commit-client.ts). */
import { strict as assert } from "assert";
import { spawn } from "child_process";
import * as path from "path";
import * as readline from "readline";
import { openPoolStore, verifyPoolFile, PssError, type AuditRecord } from "../../nodes/core/store";
import { tmpDir } from "../helpers/tmp";

const RULE = { pattern: "[A-Z0-9-]+", minLength: 1, maxLength: 40 };
const CLIENT = path.join(__dirname, "..", "helpers", "group-commit-client.js");

describe("group commit (SQLite engine)", function () {
  this.timeout(180_000);
  let tmp: ReturnType<typeof tmpDir>;
  beforeEach(() => {
    tmp = tmpDir();
  });
  afterEach(() => tmp.cleanup());

  function encodedPool(file: string, n: number): string[] {
    const s = openPoolStore(file);
    s.createPool({ poolId: "P", sidClass: "custom", serialRule: RULE, isDefault: true });
    const values = Array.from({ length: n }, (_, i) => `G-${String(i).padStart(5, "0")}`);
    s.pushTo("Encoded", { snCollection: { id: "C", serialNumbers: values } });
    s.close();
    return values;
  }

  it("16 concurrent calls share one commit; a refused call rolls back alone, the others are answered after the commit", async () => {
    const file = path.join(tmp.dir, "g.db");
    const values = encodedPool(file, 16);
    const s = openPoolStore(file);
    try {
      const commits: AuditRecord[][] = [];
      s.on("audit", (records: AuditRecord[]) => commits.push(records));
      const calls = values.map((v, i) =>
        i === 5
          // a refused call that has written before its refusal: unknown numbers added, then the forward path refuses
          ? s.grouped(() => s.pushTo("Encoded", { snCollection: { id: "C", serialNumbers: ["NEW-1", values[0]] } }))
          : s.grouped(() => s.applyEvent("commissioning", { serialNumbers: [v] })),
      );
      const out = await Promise.allSettled(calls);
      assert.equal(commits.length, 1, "one commit for the group");
      const refused = out[5];
      assert.equal(refused.status, "rejected");
      assert.ok((refused as PromiseRejectedResult).reason instanceof PssError);
      assert.equal(((refused as PromiseRejectedResult).reason as PssError).code, "TransitionForbidden");
      assert.equal(s.getSerialNumber("NEW-1"), undefined, "the refused call's writes were rolled back with its savepoint");
      assert.ok(!commits[0].some((r) => r.serialNumbers.includes("NEW-1")), "and its audit records were not announced");
      for (let i = 0; i < 16; i++) {
        if (i === 5) continue;
        assert.equal(out[i].status, "fulfilled");
        assert.equal(s.getSerialNumber(values[i])?.state, "Commissioned");
      }
      assert.equal(s.getSerialNumber(values[5])?.state, "Encoded", "the refused call's own number is untouched");
      assert.equal(commits[0].filter((r) => r.event === "commissioning").length, 15);
      // a call alone is answered too, in a commit of its own
      await s.grouped(() => s.applyEvent("commissioning", { serialNumbers: [values[5]] }));
      assert.equal(commits.length, 2);
      assert.equal(verifyPoolFile(s).ok, true);
    } finally {
      s.close();
    }
  });

  it("a SIGKILL at a random moment during 16 concurrent callers, 20 times, loses no acknowledged event", async () => {
    let acknowledged = 0;
    for (let round = 0; round < 20; round++) {
      const file = path.join(tmp.dir, `kill-${round}.db`);
      encodedPool(file, 4_000);
      const child = spawn(process.execPath, [CLIENT, file], { stdio: ["ignore", "pipe", "pipe"] });
      const acked: string[] = [];
      let stderr = "";
      child.stderr!.on("data", (d) => (stderr += d));
      const exited = new Promise<void>((r) => child.on("exit", () => r()));
      const ready = new Promise<void>((resolve) => {
        readline.createInterface({ input: child.stdout! }).on("line", (l) => {
          if (l === "ready") resolve();
          else if (l !== "end") acked.push(l);
        });
      });
      await ready;
      await new Promise((r) => setTimeout(r, 20 + Math.random() * 400));
      child.kill("SIGKILL");
      await exited;
      assert.equal(stderr, "", stderr);
      const s = openPoolStore(file, { readonly: true });
      try {
        for (const v of acked) assert.equal(s.getSerialNumber(v)?.state, "Commissioned", `round ${round}: ${v} was acknowledged`);
        const check = verifyPoolFile(s);
        assert.ok(check.ok, `round ${round}: ${JSON.stringify(check)}`);
      } finally {
        s.close();
      }
      acknowledged += acked.length;
    }
    assert.ok(acknowledged > 0, "the callers were acknowledged before the kills");
    console.log(`      (${acknowledged} acknowledged events over 20 kills, every one stored and audited)`);
  });
});
