/* serialflow serve, started as a user starts it: the built CLI in its own process, on an empty pool file. */
import assert from "node:assert/strict";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { spawn, spawnSync, ChildProcess } from "child_process";
import { openPoolStore } from "../../nodes/core/store";
import { connectOpenScs } from "../../nodes/core/opcua";
import { tmpDir } from "../helpers/tmp";
import { freePort } from "../helpers/net";
import { sharedPki } from "./fixtures";

const CLI = path.resolve(__dirname, "..", "..", "bin", "serialflow.js");

function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs = 30000): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    const t = setTimeout(() => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; output so far:\n${out}`)), timeoutMs);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = pattern.exec(out);
      if (m) {
        clearTimeout(t);
        child.stdout!.off("data", onData);
        resolve(m[0]);
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    child.once("exit", (code) => {
      clearTimeout(t);
      reject(new Error(`serialflow serve exited with ${code} before printing ${pattern}:\n${out}`));
    });
  });
}

const portFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(false);
    });
    s.once("error", () => resolve(true));
  });

describe("serialflow serve", function () {
  let tmp: { dir: string; cleanup: () => void };
  before(function () {
    tmp = tmpDir("serialflow-serve-");
  });
  after(function () {
    tmp?.cleanup();
  });

  it("refuses bad options with a usage message", function () {
    const noUser = spawnSync(process.execPath, [CLI, "serve", "--db", path.join(tmp.dir, "x.db"), "--port", "0"], { encoding: "utf8" });
    assert.equal(noUser.status, 2);
    assert.match(noUser.stderr, /no --user given and anonymous access is off/);
    const badRole = spawnSync(process.execPath, [CLI, "serve", "--db", path.join(tmp.dir, "x.db"), "--port", "0", "--user", "a:b:emperor"], { encoding: "utf8" });
    assert.equal(badRole.status, 2);
    assert.match(badRole.stderr, /unknown role "emperor"/);
    assert.ok(!fs.existsSync(path.join(tmp.dir, "x.db")), "no pool file is created for a refused command line");
  });

  it("takes session limits from --max-sessions, --max-session-timeout, --max-connections, --handshake-timeout; refuses bad ones", async function () {
    const bad = spawnSync(process.execPath, [CLI, "serve", "--db", path.join(tmp.dir, "x.db"), "--port", "0", "--user", "a:b:admin", "--max-sessions", "lots"], { encoding: "utf8" });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--max-sessions lots is not a whole number/);
    const tooShort = spawnSync(process.execPath, [CLI, "serve", "--db", path.join(tmp.dir, "x.db"), "--port", "0", "--user", "a:b:admin", "--max-session-timeout", "0"], { encoding: "utf8" });
    assert.equal(tooShort.status, 2);
    assert.ok(!fs.existsSync(path.join(tmp.dir, "x.db")), "no pool file is created for a refused command line");

    const { folder: clientPki, clientCert } = await sharedPki();
    const certFile = path.join(tmp.dir, "client-limits.der");
    fs.writeFileSync(certFile, clientCert);
    const db = path.join(tmp.dir, "limits.db");
    const pki = path.join(tmp.dir, "limits-pki");
    const port = await freePort();
    const child = spawn(process.execPath, [CLI, "serve", "--db", db, "--port", String(port), "--user", "line:pw:operator", "--pki", pki, "--trust", certFile,
      "--max-sessions", "2", "--max-session-timeout", "60", "--max-connections", "30", "--handshake-timeout", "5"], { stdio: ["ignore", "pipe", "pipe"] });
    const clients: Array<{ close(): Promise<void> }> = [];
    try {
      await waitForLine(child, /at most 2 sessions \(timeout at most 60 s\), 30 connections, 5 s to open a secure channel/);
      const serverCert = fs.readFileSync(path.join(pki, "server-certificate.der"));
      const connect = () => connectOpenScs({ endpointUrl: `opc.tcp://127.0.0.1:${port}`, user: "line", password: "pw", pkiFolder: clientPki, trustServerCertificate: serverCert, maxRetry: 0 });
      clients.push(await connect(), await connect());
      await assert.rejects(connect(), /TooManySessions/);
    } finally {
      for (const c of clients) await c.close().catch(() => undefined);
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      child.kill("SIGTERM");
      assert.equal(await exited, 0);
    }
  });

  it("creates a default pool on an empty file, takes pushed numbers at once, and stops cleanly on SIGTERM and SIGINT", async function () {
    const { folder: clientPki, clientCert } = await sharedPki();
    const certFile = path.join(tmp.dir, "client.der");
    fs.writeFileSync(certFile, clientCert);
    const db = path.join(tmp.dir, "pool.db");
    const pki = path.join(tmp.dir, "server-pki");
    const handedOut: string[] = [];
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      const port = await freePort();
      const child = spawn(process.execPath, [CLI, "serve", "--db", db, "--port", String(port), "--user", "line:s3cret:pw:operator", "--user", "sup:pw2:pusher", "--pki", pki, "--trust", certFile], { stdio: ["ignore", "pipe", "pipe"] });
      try {
        await waitForLine(child, /listening on opc\.tcp:\/\/127\.0\.0\.1:\d+/);
        const serverCert = fs.readFileSync(path.join(pki, "server-certificate.der"));
        const sup = await connectOpenScs({ endpointUrl: `opc.tcp://127.0.0.1:${port}`, user: "sup", password: "pw2", pkiFolder: clientPki, trustServerCertificate: serverCert, maxRetry: 0 });
        const numbers = Array.from({ length: 5 }, (_, i) => `${signal}-${i}`);
        assert.equal((await sup.snTo("Unallocated", { snCollection: { id: "supply", serialNumbers: numbers } })).returnStatus, "NoError");
        await sup.close();
        const line = await connectOpenScs({ endpointUrl: `opc.tcp://127.0.0.1:${port}`, user: "line", password: "s3cret:pw", pkiFolder: clientPki, trustServerCertificate: serverCert, maxRetry: 0 });
        const r = await line.snRequest("Allocated", { count: 5 });
        assert.ok(["NoError", "InsufficientSerialNumbers"].includes(r.returnStatus), r.returnStatus);
        // the pool holds only pushed numbers: whatever a request hands out comes from them
        for (const sn of r.snCollection.serialNumbers) assert.match(sn, /^SIG(TERM|INT)-\d$/);
        handedOut.push(...r.snCollection.serialNumbers);
        await line.close();
      } finally {
        const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
        child.kill(signal);
        assert.equal(await exited, 0, `exit code after ${signal}`);
      }
      assert.ok(await portFree(port), `port ${port} is free after ${signal}`);
    }
    assert.equal(new Set(handedOut).size, handedOut.length, "no number handed out twice");
    const store = openPoolStore(db);
    try {
      assert.deepEqual(store.listPools().map((p) => p.poolId), ["default"]);
      for (const signal of ["SIGTERM", "SIGINT"]) {
        for (let i = 0; i < 5; i++) {
          const sn = `${signal}-${i}`;
          assert.equal(store.getSerialNumber(sn)?.state, handedOut.includes(sn) ? "Allocated" : "Unallocated", sn);
        }
      }
    } finally {
      store.close();
    }
  });
});
