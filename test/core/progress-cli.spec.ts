/* The progress bars of the command line (issue 16) as a user sees them: under a pseudo-terminal (util-linux
   `script`) pool generate, pool import, audit verify and epcis export draw a bar on stderr; through pipes (scripts,
   logs, these tests' other runs) nothing but the result lines. The issue's chain create && generate && import runs
   on a new file as one shell command. */
import assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { spawnSync } from "child_process";
import { openPoolStore } from "../../nodes/core/store";
import { tmpDir } from "../helpers/tmp";

const CLI = path.resolve(__dirname, "..", "..", "bin", "serialflow.js");
const env = { ...process.env };
delete env.SERIALFLOW_NO_PROGRESS;

/** A shell command line; our temporary paths hold no quote. */
const sh = (args: string[]) => args.map((a) => `'${a}'`).join(" ");

function chain(db: string, order: string, out: string): string {
  const cli = [process.execPath, CLI];
  return [
    [...cli, "pool", "create", "--db", db, "--pool", "L1", "--sid-class", "GS1-SGTIN", "--gtin", "09506000134352"],
    [...cli, "pool", "generate", "--db", db, "--pool", "L1", "--count", "30000"],
    [...cli, "pool", "import", "--db", db, "--pool", "L1", order],
    [...cli, "audit", "verify", "--db", db],
    [...cli, "epcis", "export", "--db", db, "--out", out],
  ]
    .map(sh)
    .join(" && ");
}

describe("serialflow progress bars on a terminal, none through a pipe", function () {
  let tmp: ReturnType<typeof tmpDir>;
  let order: string;
  beforeEach(function () {
    tmp = tmpDir("serialflow-progress-cli-");
    order = path.join(tmp.dir, "order.txt");
    fs.writeFileSync(order, "# authority order\n" + Array.from({ length: 30_000 }, (_, i) => `AUTH${String(i).padStart(8, "0")}`).join("\n") + "\n");
  });
  afterEach(() => tmp.cleanup());

  it("through pipes: create && generate && import && verify && export on a new file, the result lines only, no bar", function () {
    const db = path.join(tmp.dir, "piped.db");
    const r = spawnSync("sh", ["-c", chain(db, order, path.join(tmp.dir, "piped.jsonld"))], { encoding: "utf8", env });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, "", "nothing on stderr without a terminal");
    assert.doesNotMatch(r.stdout, /\r|\[#|\x1b/);
    assert.match(r.stdout, /created pool L1/);
    assert.match(r.stdout, /generated 30000 serial numbers into pool L1 \(30000 available\)/);
    assert.match(r.stdout, /imported 30000 serial numbers from order\.txt into pool L1/);
    assert.match(r.stdout, /audit log ok: 3 records/);
    assert.match(r.stdout, /wrote \d+ EPCIS events/);
    const store = openPoolStore(db, { readonly: true });
    try {
      assert.equal(store.countByState("L1").Unassigned, 60_000);
    } finally {
      store.close();
    }
  });

  it("under a pseudo-terminal: each long command draws its bar, ending at 100%, before its result line", function () {
    const probe = spawnSync("script", ["-qec", "true", "/dev/null"], { encoding: "utf8" });
    if (probe.error || probe.status !== 0) {
      console.log(`      (skipped: util-linux "script" is not available to make a pseudo-terminal: ${probe.error?.message ?? probe.stderr})`);
      this.skip();
    }
    const db = path.join(tmp.dir, "tty.db");
    // script runs the chain on a new pseudo-terminal: stdout and stderr are that terminal, copied to our pipe
    const r = spawnSync("script", ["-qec", chain(db, order, path.join(tmp.dir, "tty.jsonld")), "/dev/null"], { encoding: "utf8", env, input: "" });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const out = r.stdout;
    for (const [label, result] of [
      ["generating", /generated 30000 serial numbers/],
      ["importing order.txt", /imported 30000 serial numbers/],
      ["verifying", /audit log ok/],
      ["exporting", /wrote \d+ EPCIS events/],
    ] as const) {
      const bar = new RegExp(`\\r${label} \\[[#-]{30}\\]\\s+\\d+%`);
      const at = out.search(bar);
      assert.ok(at >= 0, `a ${label} bar is drawn:\n${JSON.stringify(out)}`);
      const done = out.search(new RegExp(`\\r${label} \\[#{30}\\] 100%`));
      assert.ok(done >= at, `the ${label} bar reaches 100%`);
      assert.ok(out.slice(done).search(result) > 0, `the result line follows the ${label} bar`);
    }
    assert.match(out, /\r?generating \[#{30}\] 100%\s+30,000 \/ 30,000/);
  });
});
