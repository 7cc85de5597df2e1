/* Nothing noisy at start (issue 16): the serialflow commands print no deprecation box, DeprecationWarning or
   node-opcua notice a user cannot act on; node-opcua's NODE-OPCUA-W27 (RSA PKCS#1 v1.5, which no SerialFlow
   endpoint uses) is hidden by bin/quiet.ts, other node-opcua warnings still show. */
import assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { spawnSync } from "child_process";
import { tmpDir } from "../helpers/tmp";

const DIST_BIN = path.resolve(__dirname, "..", "..", "bin");
const CLI = path.join(DIST_BIN, "serialflow.js");
const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8" });
/** what a start-up notice looks like: a +----+ box, a Node.js warning, a node-opcua notice */
const NOISE = /\+-{10,}\+|DeprecationWarning|ExperimentalWarning|\(node:\d+\) \[|NODE-OPCUA-W\d+|Warning:/;

describe("serialflow prints nothing noisy at start", function () {
  let tmp: ReturnType<typeof tmpDir>;
  before(() => (tmp = tmpDir("serialflow-quiet-")));
  after(() => tmp.cleanup());

  it("--help: the help on stdout, nothing on stderr", function () {
    const r = run("--help");
    assert.equal(r.status, 0);
    assert.equal(r.stderr, "");
    assert.doesNotMatch(r.stdout, NOISE);
  });

  it("pool create, generate, status, audit verify and epcis export: no warning box or notice on stderr or stdout", function () {
    const db = path.join(tmp.dir, "q.db");
    for (const args of [
      ["pool", "create", "--db", db, "--pool", "Q", "--sid-class", "GS1-SGTIN"],
      ["pool", "generate", "--db", db, "--pool", "Q", "--count", "10"],
      ["pool", "status", "--db", db],
      ["audit", "verify", "--db", db],
      ["epcis", "export", "--db", db, "--out", path.join(tmp.dir, "q.jsonld")],
      ["serve", "--help"],
    ]) {
      const r = run(...args);
      assert.equal(r.status, 0, `${args.join(" ")}: ${r.stderr}`);
      assert.equal(r.stderr, "", `${args.join(" ")} writes nothing on stderr`);
      assert.doesNotMatch(r.stdout, NOISE, args.join(" "));
    }
  });

  it("NODE-OPCUA-W27 is hidden once bin/quiet.ts is installed; another node-opcua warning still shows (on stderr)", function () {
    const verify = require.resolve("node-opcua-secure-channel/dist/source/verify_pcks1.js");
    const debug = require.resolve("node-opcua-debug", { paths: [path.dirname(require.resolve("node-opcua-secure-channel"))] });
    const script = path.join(tmp.dir, "w27.js");
    // node-opcua runs this check when it loads (asynchronously); awaited here, so its output is complete at exit
    fs.writeFileSync(
      script,
      `if (process.argv[2] === "quiet") require(${JSON.stringify(path.join(DIST_BIN, "quiet.js"))}).quietOpcuaNotices();
       require(${JSON.stringify(verify)}).testRSAPKCS1V15_EncryptDecrypt().then(() => {
         require(${JSON.stringify(debug)}).make_warningLog("test")("another node-opcua warning");
       });`,
    );
    const plain = spawnSync(process.execPath, [script], { encoding: "utf8" });
    assert.equal(plain.status, 0, plain.stderr);
    const quiet = spawnSync(process.execPath, [script, "quiet"], { encoding: "utf8" });
    assert.equal(quiet.status, 0, quiet.stderr);
    assert.doesNotMatch(quiet.stdout + quiet.stderr, /NODE-OPCUA-W27|security-revert/);
    assert.match(quiet.stderr, /node-opcua .*another node-opcua warning/);
    if (!/NODE-OPCUA-W27/.test(plain.stdout)) {
      console.log(`      (node-opcua prints no NODE-OPCUA-W27 on Node.js ${process.version}: only the hiding side is checked)`);
    }
  });
});
