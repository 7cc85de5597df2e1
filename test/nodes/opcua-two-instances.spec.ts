/* Two Node-RED instances: a site instance (its own process) serves a pool with pss-opcua-server; a line
   instance (this process) with a remote pss-pool takes 50,000 Allocated numbers from it through a
   pss-sn-request-allocated node, in pages of the site's MaxSNRequestable. No number twice; the counts add up
   on both sides. */
import assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { spawn, ChildProcess } from "child_process";
import { helper, allNodeModules, coreNodeModule, nextMessage } from "../helpers/red";
import { tmpDir } from "../helpers/tmp";
import { clientCertificate } from "../../nodes/core/opcua";
import { openPoolStore } from "../../nodes/core/store";
import type { PoolConfigNode } from "../../nodes/common/pool-config";
import { provisionPool, runPki, SID_CLASS } from "./opcua-fixtures";

const TAKE = 50_000;
const PROVISIONED = 60_000;
const PAGE = 5_000;

function startSite(userDir: string): Promise<{ child: ChildProcess; endpointUrl: string; certificate: Buffer }> {
  const child = spawn(process.execPath, [path.join(__dirname, "opcua-site.js"), userDir], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the site Node-RED did not report ready within 90 s\n${out}\n${err}`));
    }, 90_000);
    child.stderr!.on("data", (d) => (err += d));
    child.stdout!.on("data", (d) => {
      out += d;
      const m = /SITE-READY (\{.*\})\n/.exec(out);
      if (m) {
        clearTimeout(timer);
        const info = JSON.parse(m[1]) as { endpointUrl: string; certificate: string };
        resolve({ child, endpointUrl: info.endpointUrl, certificate: Buffer.from(info.certificate, "base64") });
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the site Node-RED exited with ${code} before it was ready\n${out}\n${err}`));
    });
  });
}

function stopSite(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.once("exit", (code) => resolve(code));
    child.kill("SIGTERM");
  });
}

describe("two Node-RED instances: a line draws from a site pool over OPC UA", function () {
  let tmp: ReturnType<typeof tmpDir>;
  let site: { child: ChildProcess } | undefined;

  before(async function () {
    tmp = tmpDir("serialflow-two-reds-");
    await helper.startServer();
  });

  after(async function () {
    await helper.unload().catch(() => undefined);
    await helper.stopServer();
    if (site && site.child.exitCode === null) site.child.kill("SIGKILL");
    tmp.cleanup();
  });

  it(`the line takes ${TAKE.toLocaleString("en")} Allocated numbers in pages; no duplicates, counts add up on both sides`, async function () {
    const siteDir = path.join(tmp.dir, "site");
    const sitePki = path.join(siteDir, "pki");
    const siteDb = path.join(siteDir, "site.db");
    fs.mkdirSync(siteDir, { recursive: true });
    provisionPool(siteDb, "SITE", PROVISIONED, { maxRequest: PAGE });
    // explicit trust, as a plant does it: the line's client certificate in the site server's trusted folder
    const linePki = await runPki("two-reds-line-pki", "client");
    fs.mkdirSync(path.join(sitePki, "server", "trusted", "certs"), { recursive: true });
    fs.writeFileSync(path.join(sitePki, "server", "trusted", "certs", "line.der"), await clientCertificate(linePki));
    fs.writeFileSync(path.join(siteDir, "flows.json"), JSON.stringify([
      { id: "t", type: "tab", label: "site" },
      { id: "pool", type: "pss-pool", mode: "local", dbFile: "site.db", poolId: "SITE", sidClass: SID_CLASS, criteria: [], guardPolicy: "strict", lowThreshold: 0, maxRequest: PAGE },
      { id: "srv", z: "t", type: "pss-opcua-server", name: "site", port: 0, host: "127.0.0.1", pools: ["pool"], accounts: [{ name: "line1", roles: ["operator"], slot: 0 }], pkiFolder: "pki", wires: [] },
    ]));
    fs.writeFileSync(path.join(siteDir, "flows_cred.json"), JSON.stringify({ srv: { password0: "line1-secret" } }));

    const s = await startSite(siteDir);
    site = s;
    const certFile = path.join(tmp.dir, "site-server.der");
    fs.writeFileSync(certFile, s.certificate);

    await helper.load([...allNodeModules(), coreNodeModule("25-catch")] as any, [
      { id: "t", type: "tab", label: "line" },
      { id: "sitePool", type: "pss-pool", mode: "remote", endpointUrl: s.endpointUrl, poolId: "SITE", criteria: [], securityMode: "SignAndEncrypt", securityPolicy: "Basic256Sha256", pkiFolder: linePki, serverCertificate: certFile, autoAcceptServerCertificate: false, maxRequest: 10000 },
      { id: "req", z: "t", type: "pss-sn-request-allocated", name: "", pool: "sitePool", count: "", snFormat: "SERIALONLY", snCollectionId: "", context: "", wires: [["out"]] },
      { id: "out", z: "t", type: "helper" },
      { id: "catcher", z: "t", type: "catch", scope: null, uncaught: false, wires: [["caught"]] },
      { id: "caught", z: "t", type: "helper" },
    ] as any, { sitePool: { user: "line1", password: "line1-secret" } } as any);

    const got = nextMessage("out", 300_000);
    const failed = nextMessage("caught", 300_000).then((m) => {
      throw new Error(`the request failed at the line: ${m.error?.code} ${m.error?.message}`);
    });
    failed.catch(() => undefined);
    helper.getNode("req").receive({ payload: { count: TAKE } });
    const msg = await Promise.race([got, failed]);
    const backend = (helper.getNode("sitePool") as unknown as PoolConfigNode).getBackend();
    assert.equal(backend.maxPage, PAGE, "the line read the site's MaxSNRequestable");
    assert.equal(msg.payload.returnStatus, "NoError");
    const serials: string[] = msg.payload.snCollection.serialNumbers;
    assert.equal(serials.length, TAKE, "the line received every number asked for");
    assert.equal(new Set(serials).size, TAKE, "no number twice");
    await helper.unload();

    assert.equal(await stopSite(s.child), 0, "the site Node-RED stopped cleanly");
    const store = openPoolStore(siteDb);
    try {
      const counts = store.countByState("SITE") as Record<string, number>;
      assert.equal(counts.Allocated, TAKE, "the site has exactly the numbers the line took as Allocated");
      assert.equal(counts.Unassigned, PROVISIONED - TAKE, "the rest is still free");
      assert.equal(Object.values(counts).reduce((a, b) => a + b, 0), PROVISIONED);
      const strays = serials.filter((sn) => store.getSerialNumber(sn)?.state !== "Allocated");
      assert.deepEqual(strays.slice(0, 5), [], "every number the line holds is Allocated at the site");
      assert.equal(store.verifyAudit().ok, true);
    } finally {
      store.close();
    }
  });
});
