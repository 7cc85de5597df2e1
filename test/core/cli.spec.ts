import assert from "node:assert/strict";
import * as path from "path";
import { spawnSync } from "child_process";
import { COMMANDS } from "../../bin/commands";

const CLI = path.resolve(__dirname, "..", "..", "bin", "serialflow.js");
const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8" });

describe("serialflow command-line tool", function () {
  it("--help lists every command of the table and exits 0", function () {
    const r = run("--help");
    assert.equal(r.status, 0, r.stderr);
    for (const c of COMMANDS) assert.ok(r.stdout.includes(c.usage), `help shows: ${c.usage}`);
    assert.match(r.stdout, /pool status/);
    assert.match(r.stdout, /audit verify/);
    assert.match(r.stdout, /serve/);
  });

  it("an unknown command exits non-zero with a clear message", function () {
    const r = run("frobnicate", "--db", "x.db");
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown command "frobnicate --db x.db"/);
    assert.match(r.stderr, /serialflow --help/);
  });

  it("no command at all prints the help and exits non-zero", function () {
    const r = run();
    assert.notEqual(r.status, 0);
    assert.match(r.stdout, /Usage: serialflow <command>/);
  });

  it("--version prints the package version", function () {
    const r = run("--version");
    assert.equal(r.status, 0);
    assert.equal(r.stdout.trim(), require(path.resolve(__dirname, "..", "..", "..", "package.json")).version);
  });
});
