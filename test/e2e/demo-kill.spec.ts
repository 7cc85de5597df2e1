/* Issue 13's "10 SIGKILLs of the running demo line": the simulated line demo as `npm start` runs it (Node-RED
   with our package and examples/Simulated line demo.json), killed with SIGKILL ten times while units run, then
   started again each time. Afterwards `serialflow pool reconcile` lists every number the kills stranded
   (Allocated or Encoded), its action leaves none, and `serialflow audit verify` passes. */
import assert from "node:assert/strict";
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import { spawn, spawnSync, ChildProcess } from "child_process";
import Database from "better-sqlite3";
import { freePort } from "../helpers/net";
import { tmpDir } from "../helpers/tmp";
import { REPO_ROOT } from "../helpers/paths";
import { until } from "../helpers/until";

const CLI = path.join(REPO_ROOT, "dist", "bin", "serialflow.js");
const DEMO = path.join(REPO_ROOT, "examples", "Simulated line demo.json");
const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });

interface Running {
  child: ChildProcess;
  base: string;
  output(): string;
  exited: Promise<NodeJS.Signals | null>;
}

/** Node-RED itself (not the start script, whose child would outlive a SIGKILL of the script), set up as scripts/start.js sets it up. */
async function startRed(userDir: string): Promise<Running> {
  const port = await freePort();
  const settings = path.join(userDir, "settings.js");
  fs.writeFileSync(
    settings,
    `module.exports = ${JSON.stringify({
      uiHost: "127.0.0.1",
      uiPort: port,
      flowFile: "flows.json",
      nodesDir: [REPO_ROOT],
      credentialSecret: false,
      diagnostics: { enabled: false, ui: false },
      telemetry: { enabled: false },
      externalModules: { palette: { allowInstall: false } },
      logging: { console: { level: "info", metrics: false, audit: false } },
      editorTheme: { tours: false, projects: { enabled: false } },
    })};\n`,
  );
  const red = require.resolve("node-red/red.js", { paths: [REPO_ROOT] });
  const child = spawn(process.execPath, [red, "--userDir", userDir, "--settings", settings], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once("exit", (_code, signal) => resolve(signal)));
  try {
    await until("Node-RED to start the demo's flows", () => (/Started flows/.test(out) ? true : child.exitCode !== null ? Promise.reject(new Error(`Node-RED exited:\n${out}`)) : undefined), 120_000);
  } catch (e) {
    child.kill("SIGKILL");
    throw e;
  }
  return { child, base: `http://127.0.0.1:${port}/`, output: () => out, exited };
}

function post(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: "POST" }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end();
  });
}

/** Numbers by state, read straight from the file (read-only). */
function byState(file: string, sql: string): unknown[] {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    db.pragma("busy_timeout = 10000");
    return db.prepare(sql).pluck().all();
  } finally {
    db.close();
  }
}

describe("MUST SHOW (issue 13): 10 SIGKILLs of the running demo line, then reconcile", function () {
  this.timeout(900_000);
  let tmp: ReturnType<typeof tmpDir>;
  let running: Running | undefined;
  before(function () {
    tmp = tmpDir();
  });
  after(function () {
    if (running && running.child.exitCode === null && running.child.signalCode === null) running.child.kill("SIGKILL");
    tmp.cleanup();
  });

  it("the line is killed mid-run ten times and restarted; reconcile lists every stranded number, its action leaves none, audit verify passes", async function () {
    const flow = JSON.parse(fs.readFileSync(DEMO, "utf8")) as Array<Record<string, any>>;
    // the demo PLC's fixed OPC UA port (4842) moved to a free one: other Node-REDs share this machine
    const plcPort = await freePort();
    fs.writeFileSync(path.join(tmp.dir, "flows.json"), fs.readFileSync(DEMO, "utf8").replace(/"opcuaPort": 4842\b/, `"opcuaPort": ${plcPort}`));
    const run = flow.find((n) => n.type === "inject" && /^Run \d+ units$/.test(String(n.name)));
    assert.ok(run, "the demo has a 'Run N units' inject");
    const file = path.join(tmp.dir, "serialflow", "serialflow.db");
    const done = () => byState(file, "SELECT count(*) FROM serial_number WHERE state NOT IN (0, 1, 2)")[0] as number;

    const stranded = () => byState(file, "SELECT value FROM serial_number WHERE state IN (2, 4) ORDER BY value") as string[];
    let strandedAtKills = 0;
    let listedNonEmpty = 0;
    for (let i = 0; i < 10; i++) {
      running = await startRed(tmp.dir);
      // on deploy the flow tops the pools up and settles what the previous kill stranded ('Reconcile on deploy')
      await until("the demo pool to hold numbers", () => (fs.existsSync(file) && (byState(file, "SELECT count(*) FROM serial_number")[0] as number) >= 1000 ? true : undefined), 120_000);
      await until("the demo to settle what the previous kill stranded", () => (stranded().length === 0 ? true : undefined), 120_000);
      const before = done();
      assert.equal(await post(`${running.base}inject/${run!.id}`), 200, "the inject button answers");
      // killed while numbers are in flight (Allocated or Encoded in the file): every other kill as soon as the 20
      // units have their numbers, the others once units have moved on through the line (a kill timed by a random
      // delay after the first unit found all 20 through, ten times in a row, on a busy machine)
      await until("numbers in flight on the line", () => (stranded().length > 0 && (i % 2 === 0 || done() > before) ? true : undefined), 120_000);
      running.child.kill("SIGKILL");
      assert.equal(await running.exited, "SIGKILL");

      // what the kill stranded, listed by the CLI (read-only: the file is not touched)
      const left = stranded();
      strandedAtKills += left.length;
      if (left.length) listedNonEmpty++;
      const bytes = fs.readFileSync(file);
      const listed = cli("pool", "reconcile", "--db", file, "--json");
      assert.equal(listed.status, 0, listed.stderr);
      const out = JSON.parse(listed.stdout) as { groups: Array<{ serialNumbers: string[] }>; applied: boolean };
      assert.equal(out.applied, false);
      assert.deepEqual(out.groups.flatMap((g) => g.serialNumbers).sort(), left, `after kill ${i + 1}: reconcile lists exactly the numbers left Allocated or Encoded`);
      assert.ok(fs.readFileSync(file).equals(bytes), "listing wrote nothing");
    }
    assert.ok(listedNonEmpty > 0 && strandedAtKills > 0, "the kills stranded numbers (the test would prove nothing otherwise)");
    const last = stranded().length;

    const applied = cli("pool", "reconcile", "--db", file, "--apply");
    assert.equal(applied.status, 0, applied.stderr);
    assert.deepEqual(stranded(), [], "none left Allocated or Encoded");
    const verify = cli("audit", "verify", "--db", file);
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);
    assert.match(verify.stdout, /audit log ok/);
    // what the restarts settled on deploy is in the audit log as reconcile records, next to what the CLI settled
    const settled = byState(file, "SELECT count(*) FROM audit WHERE event IN ('sn_invalidating', 'label_scrapping')")[0] as number;
    console.log(`      10 SIGKILLs: ${strandedAtKills} numbers stranded in all (${listedNonEmpty} kills stranded some), each listed by reconcile; the demo settled them on its next start, the CLI the ${last} of the last kill; ${settled} invalidations and scrappings audited`);
  });
});
