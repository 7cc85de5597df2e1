/* 100 full redeploys of a flow with a pss-opcua-server on a fixed port: each deploy's server starts on the
   port the previous one held (so that one shut down fully first), the process does not accumulate file
   descriptors, and after the last close the port can be bound at once. */
import assert from "node:assert/strict";
import * as net from "net";
import * as path from "path";
import { helper, allNodeModules } from "../helpers/red";
import { tmpDir } from "../helpers/tmp";
import { freePort } from "../helpers/net";
import { connectOpenScs, clientCertificate } from "../../nodes/core/opcua";
import type { OpenScsServer } from "../../nodes/core/opcua";
import { openStoreFiles } from "../../nodes/common/stores";
import type { OpcUaServerNode } from "../../nodes/pss-opcua-server/pss-opcua-server";
import { openFds, provisionPool, runPki, userConfig, SID_CLASS } from "./opcua-fixtures";

const DEPLOYS = 100;
/** descriptors that may come and go between two moments (timers of node-opcua, the test helper's sockets) */
const FD_SLACK = 8;

function bindOnce(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(port, "127.0.0.1", () => s.close(() => resolve()));
  });
}

describe("redeploys of a flow with pss-opcua-server", function () {
  let tmp: ReturnType<typeof tmpDir>;
  let dbFile: string;

  before(async function () {
    tmp = tmpDir("serialflow-opcua-redeploy-");
    dbFile = path.join(tmp.dir, "site.db");
    provisionPool(dbFile, "RD", 200);
    await helper.startServer();
  });

  after(async function () {
    await helper.stopServer();
    tmp.cleanup();
  });

  it(`${DEPLOYS} redeploys leave no port in use and no growth in open file descriptors`, async function () {
    // scales with the work: a deploy of an OPC UA server takes ~0.3 s idle, several seconds on a loaded machine
    this.timeout(60_000 + DEPLOYS * 5_000);
    const port = await freePort();
    const serverPki = await runPki("redeploy-server-pki", "server");
    const clientPki = await runPki("redeploy-client-pki", "client");
    const { rows, credentials } = userConfig();
    const flow = (i: number) => [
      { id: "t", type: "tab", label: `deploy ${i}` },
      { id: "pool", type: "pss-pool", mode: "local", dbFile, poolId: "RD", sidClass: SID_CLASS, criteria: [], guardPolicy: "strict", lowThreshold: 0, maxRequest: 100 },
      { id: "srv", z: "t", type: "pss-opcua-server", name: `deploy ${i}`, port, host: "127.0.0.1", pools: ["pool"], accounts: rows, pkiFolder: serverPki, wires: [] },
    ];
    const started = async (i: number): Promise<OpenScsServer> => {
      const s = await (helper.getNode("srv") as unknown as OpcUaServerNode).started;
      assert.ok(s, `deploy ${i}: the server started (the previous one freed port ${port})`);
      assert.equal(s.port, port);
      return s;
    };
    const fdsBeforeLoad = openFds();
    await helper.load(allNodeModules() as any, flow(0) as any, { srv: credentials } as any);
    let server = await started(0);
    await server.trustClientCertificate(await clientCertificate(clientPki));
    let baseline = 0;
    const handed: string[] = [];
    for (let i = 1; i <= DEPLOYS; i++) {
      await helper.setFlows(flow(i) as any, "full", { srv: credentials } as any);
      server = await started(i);
      // the first deploys warm node-opcua up (certificate caches, crypto); measure from there
      if (i === 5) baseline = openFds();
      if (i % 25 === 0) {
        const c = await connectOpenScs({ endpointUrl: server.endpointUrl, user: "line", password: "line-pw", pkiFolder: clientPki, trustServerCertificate: server.certificate, maxRetry: 0 });
        try {
          const r = await c.snRequest("Allocated", { count: 2 });
          assert.equal(r.returnStatus, "NoError", `deploy ${i}: the server answers`);
          handed.push(...r.snCollection.serialNumbers);
        } finally {
          await c.close();
        }
      }
    }
    const after = openFds();
    assert.ok(after <= baseline + FD_SLACK, `open file descriptors grew from ${baseline} (deploy 5) to ${after} (deploy ${DEPLOYS})`);
    await helper.unload();
    await bindOnce(port);
    assert.deepEqual(openStoreFiles(), [], "the pool file is closed");
    assert.ok(openFds() <= fdsBeforeLoad + FD_SLACK, `after the last close ${openFds()} descriptors are open, ${fdsBeforeLoad} before the first deploy`);
    assert.equal(handed.length, 8);
    assert.equal(new Set(handed).size, 8, "no number handed out twice across redeploys");
  });

  it("a client connecting just as the server stops is refused, and Node-RED stays up", async function () {
    const port = await freePort();
    const serverPki = await runPki("redeploy-server-pki", "server");
    const { rows, credentials } = userConfig();
    await helper.load(allNodeModules() as any, [
      { id: "t", type: "tab", label: "late client" },
      { id: "pool", type: "pss-pool", mode: "local", dbFile, poolId: "RD", sidClass: SID_CLASS, criteria: [], guardPolicy: "strict", lowThreshold: 0, maxRequest: 100 },
      { id: "srv", z: "t", type: "pss-opcua-server", name: "", port, host: "127.0.0.1", pools: ["pool"], accounts: rows, pkiFolder: serverPki, wires: [] },
    ] as any, { srv: credentials } as any);
    const server = await (helper.getNode("srv") as unknown as OpcUaServerNode).started;
    assert.ok(server);
    // node-opcua accepts the TCP connection, then sets the channel up on the next tick: stop the endpoint in
    // between, as a redeploy can (without the guard in core/opcua/late-connections.ts this throws from setImmediate)
    const ep = server.raw.endpoints[0] as unknown as { _server: net.Server; suspendConnection(cb: () => void): void };
    ep._server.once("connection", () => ep.suspendConnection(() => undefined));
    const closed = await new Promise<boolean>((resolve) => {
      const sock = net.connect(port, "127.0.0.1");
      sock.on("error", () => undefined);
      sock.on("close", () => resolve(true));
      setTimeout(() => {
        sock.destroy();
        resolve(false);
      }, 5000);
    });
    assert.equal(closed, true, "the late connection was hung up by the server");
    await helper.unload();
    await bindOnce(port);
  });
});
