/* `npm start` as a user runs it: the start script builds if needed, starts Node-RED on loopback with our
   package and the demo flow. Here on an ephemeral port and a temporary user directory. */
import assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { spawn, ChildProcess } from "child_process";
import { freePort, httpGet } from "../helpers/net";
import { tmpDir } from "../helpers/tmp";
import { REPO_ROOT } from "../helpers/paths";

describe("npm start (scripts/start.js)", function () {
  let child: ChildProcess | undefined;
  let tmp: ReturnType<typeof tmpDir>;
  let base = "";
  let output = "";

  before(async function () {
    tmp = tmpDir();
    const port = await freePort();
    child = spawn(process.execPath, [path.join(REPO_ROOT, "scripts", "start.js")], {
      cwd: REPO_ROOT,
      // the demo PLC's OPC UA port (4842 in the examples) moved to a free one: other Node-REDs share this machine
      env: { ...process.env, SERIALFLOW_PORT: String(port), SERIALFLOW_USER_DIR: tmp.dir, SERIALFLOW_PLC_PORT: String(await freePort()) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout!.on("data", (d) => (output += d));
    child.stderr!.on("data", (d) => (output += d));
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("Node-RED did not announce the editor within 90 s:\n" + output)), 90000);
      const check = () => {
        const m = /the Node-RED editor is at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(output);
        if (m) {
          clearTimeout(t);
          base = m[1];
          resolve();
        }
      };
      child!.stdout!.on("data", check);
      child!.on("exit", (code) => reject(new Error(`start script exited with ${code}:\n${output}`)));
    });
  });

  after(async function () {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    }
    tmp.cleanup();
  });

  it("prints the editor's address on 127.0.0.1 and serves the editor there", async function () {
    assert.match(base, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const r = await httpGet(base);
    assert.equal(r.status, 200);
    assert.match(r.body, /Node-RED/);
  });

  it("GET /nodes lists pss-pool and pss-sn-request-allocated as enabled", async function () {
    const r = await httpGet(base + "nodes", { Accept: "application/json" });
    assert.equal(r.status, 200);
    const sets = JSON.parse(r.body) as Array<{ module: string; types: string[]; enabled: boolean; err?: string }>;
    const ours = sets.filter((s) => s.module === "@serialflow/node-red-openscs");
    assert.ok(ours.length > 0, "our module is loaded");
    for (const s of ours) assert.equal(s.err, undefined, `node set ${s.types.join(",")} loaded without error`);
    for (const type of ["pss-pool", "pss-sn-request-allocated"]) {
      const set = ours.find((s) => s.types.includes(type));
      assert.ok(set, `${type} is listed`);
      assert.equal(set.enabled, true, `${type} is enabled`);
    }
  });

  it("serves our examples and help, and runs the demo flow on the embedded SQLite store", async function () {
    const ex = await httpGet(base + "library/examples/flows/@serialflow/node-red-openscs", { Accept: "application/json" });
    assert.equal(ex.status, 200);
    assert.match(ex.body, /Simulated line demo/);
    const help = await httpGet(base + "nodes", { Accept: "text/html" });
    assert.match(help.body, /data-help-name="pss-sn-request-allocated"/);
    const flows = JSON.parse((await httpGet(base + "flows", { Accept: "application/json", "Node-RED-API-Version": "v2" })).body);
    assert.ok(flows.flows.some((n: { type: string }) => n.type === "pss-sn-request-allocated"), "the demo flow is deployed");
    assert.ok(fs.existsSync(path.join(tmp.dir, "serialflow", "serialflow.db")), "the demo pool file was created in the user directory");
    assert.doesNotMatch(output, /\[error\]/, "no node reported an error at start");
  });

  it("prints no start-up notice a user cannot act on: the crawler's deprecation box and NODE-OPCUA-W27 hidden, each explained in one line at most once", async function () {
    // node-opcua's W27 check runs asynchronously at load (it makes a 4096-bit key): give it the time the demo takes to deploy
    await new Promise((r) => setTimeout(r, 3000));
    assert.doesNotMatch(output, /\+-{10,}\+/, "no box");
    assert.doesNotMatch(output, /node-opcua-client-crawler module has been deprecated/);
    assert.doesNotMatch(output, /\[NODE-OPCUA-W27\]|--security-revert=CVE-2023-46809/);
    assert.doesNotMatch(output, /DeprecationWarning/);
    for (const what of [/hidden start-up notice: node-red-contrib-opcua loads node-opcua-client-crawler/, /hidden start-up notice: node-opcua's NODE-OPCUA-W27/]) {
      assert.ok((output.match(new RegExp(what.source, "g")) ?? []).length <= 1, `explained at most once: ${what}`);
    }
    assert.match(output, /hidden start-up notice: node-red-contrib-opcua loads node-opcua-client-crawler/, "the hidden box is explained");
  });
});
