/* The examples as a person sees them in the editor: the committed market examples are exactly what
   scripts/market-examples.js writes, and every example's nodes fit a 1600×1000 canvas with no node box (with its
   status line and inject/debug button) over another, sizes estimated from the labels as the editor draws them. */
import assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { execFileSync } from "child_process";
import { REPO_ROOT } from "../helpers/paths";
import { tmpDir } from "../helpers/tmp";

const EXAMPLES = path.join(REPO_ROOT, "examples");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const layout = require(path.join(REPO_ROOT, "scripts", "flow-layout.js")) as { layoutProblems(flow: unknown[]): string[] };

describe("examples/: generated, laid out", function () {
  it("the committed market examples are what scripts/market-examples.js writes", function () {
    const tmp = tmpDir("serialflow-gen-");
    try {
      const out = execFileSync(process.execPath, [path.join(REPO_ROOT, "scripts", "market-examples.js"), tmp.dir], { encoding: "utf8" });
      const written = fs.readdirSync(tmp.dir).filter((f) => f.endsWith(".json")).sort();
      assert.ok(written.length >= 9, out);
      for (const f of written) {
        const committed = path.join(EXAMPLES, f);
        assert.ok(fs.existsSync(committed), `${f} is committed`);
        assert.equal(fs.readFileSync(committed, "utf8"), fs.readFileSync(path.join(tmp.dir, f), "utf8"), `${f} differs from what the generator writes: run node scripts/market-examples.js and commit`);
      }
    } finally {
      tmp.cleanup();
    }
  });

  it("the committed operator screen is what scripts/operator-screen.js writes", function () {
    const tmp = tmpDir("serialflow-gen-");
    try {
      execFileSync(process.execPath, [path.join(REPO_ROOT, "scripts", "operator-screen.js"), tmp.dir], { encoding: "utf8" });
      const f = "Operator screen.json";
      assert.equal(fs.readFileSync(path.join(EXAMPLES, f), "utf8"), fs.readFileSync(path.join(tmp.dir, f), "utf8"), `${f} differs from what the generator writes: run node scripts/operator-screen.js and commit`);
    } finally {
      tmp.cleanup();
    }
  });

  it("the operator screen uses the demo's pool and its link out, and reads the demo PLC's port", function () {
    const demo = JSON.parse(fs.readFileSync(path.join(EXAMPLES, "Simulated line demo.json"), "utf8")) as Array<Record<string, any>>;
    const screen = JSON.parse(fs.readFileSync(path.join(EXAMPLES, "Operator screen.json"), "utf8")) as Array<Record<string, any>>;
    const ids = new Set(demo.map((n) => n.id));
    assert.deepEqual(screen.filter((n) => ids.has(n.id)).map((n) => n.id), [], "no id of the demo is used again: npm start deploys both in one flow file");
    for (const n of screen.filter((x) => x.type === "pss-pool-admin")) assert.ok(demo.some((d) => d.id === n.pool && d.type === "pss-pool"), `${n.id} uses a pool of the demo`);
    const linkIn = screen.find((n) => n.type === "link in")!;
    const linkOut = demo.find((n) => n.type === "link out" && n.links.includes(linkIn.id));
    assert.ok(linkOut, "a link out of the demo reaches the screen");
    assert.deepEqual(linkIn.links, [linkOut.id]);
    const plc = demo.find((n) => n.type === "pss-sim-plc")!;
    assert.equal(screen.find((n) => n.type === "OpcUa-Endpoint")!.endpoint, `opc.tcp://127.0.0.1:${plc.opcuaPort}`);
  });

  for (const f of fs.readdirSync(EXAMPLES).filter((x) => x.endsWith(".json")).sort()) {
    it(`${f}: no node over another, all within 1600×1000, no wire back across the canvas`, function () {
      const flow = JSON.parse(fs.readFileSync(path.join(EXAMPLES, f), "utf8")) as Array<{ id: string; type: string; x?: number; y?: number; wires?: string[][] }>;
      assert.deepEqual(layout.layoutProblems(flow), []);
      // a wire runs right or down a row, never back over more than half the canvas: link nodes join the rows
      const byId = new Map(flow.map((n) => [n.id, n]));
      const back: string[] = [];
      for (const n of flow) {
        for (const t of (n.wires ?? []).flat()) {
          const m = byId.get(t);
          if (m && typeof n.x === "number" && typeof m.x === "number" && n.x - m.x > 800) back.push(`${n.id} → ${t}`);
        }
      }
      assert.deepEqual(back, [], "wires running back across the canvas");
    });
  }
});
