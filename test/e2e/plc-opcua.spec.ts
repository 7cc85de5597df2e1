/* examples/PLC over OPC UA.json imported as a user imports it (our nodes, Node-RED's core nodes and
   node-red-contrib-opcua's OpcUa-Endpoint and OpcUa-Client), deployed and clicked: the OpcUa-Client nodes read the
   simulated PLC's counters and operate its reject gate over OPC UA on loopback. The example names the fixed port
   4841; the test moves it to a free port (other runs share this machine) and checks the example is consistent. */
import assert from "node:assert/strict";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { helper, allNodeModules } from "../helpers/red";
import { tmpDir } from "../helpers/tmp";
import { until } from "../helpers/until";
import { REPO_ROOT } from "../helpers/paths";

const FILE = path.join(REPO_ROOT, "examples", "PLC over OPC UA.json");
const PORT = 4841;
const NS = "ns=1;s=SimulatedLine.";

type FlowNode = { id: string; type: string; z?: string; wires?: string[][]; [k: string]: unknown };

function coreModules(): unknown[] {
  const dir = path.dirname(require.resolve("@node-red/nodes/package.json", { paths: [path.dirname(require.resolve("node-red"))] }));
  return ["common/20-inject.js", "common/21-debug.js", "common/90-comment.js", "function/10-function.js"].map((f) => require(path.join(dir, "core", f)));
}

/** node-red-contrib-opcua's node modules, by type, as its package.json lists them for Node-RED. */
function opcuaModules(types: string[]): unknown[] {
  const pkgFile = require.resolve("node-red-contrib-opcua/package.json");
  const nodes = (require(pkgFile) as { "node-red": { nodes: Record<string, string> } })["node-red"].nodes;
  return types.map((t) => {
    assert.ok(nodes[t], `node-red-contrib-opcua provides ${t}`);
    return require(path.join(path.dirname(pkgFile), nodes[t]));
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer().once("error", reject).listen(0, "127.0.0.1", () => {
      const p = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(p));
    });
  });
}

describe("examples/PLC over OPC UA.json: node-red-contrib-opcua's OpcUa-Client nodes on the simulated PLC", function () {
  this.timeout(180_000);
  let tmp: ReturnType<typeof tmpDir>;
  let flow: FlowNode[];
  const savedXdg = process.env.XDG_CONFIG_HOME;

  before(function () {
    tmp = tmpDir("serialflow-plc-opcua-");
    // node-red-contrib-opcua keeps its client PKI under env-paths' config folder, read when its module loads:
    // keep it in the temp folder rather than the user's home
    process.env.XDG_CONFIG_HOME = path.join(tmp.dir, "config");
    flow = JSON.parse(fs.readFileSync(FILE, "utf8")) as FlowNode[];
  });
  after(function () {
    if (savedXdg === undefined) delete process.env.XDG_CONFIG_HOME;
    else process.env.XDG_CONFIG_HOME = savedXdg;
    tmp.cleanup();
  });
  afterEach(async function () {
    // the OpcUa-Client's close handler leaves its client connected (and reconnecting once the PLC is gone):
    // disconnect it first, then unload (the PLC's server shuts down and frees its port)
    for (const n of flow.filter((x) => x.type === "OpcUa-Client")) {
      const c = (helper.getNode(n.id) as any)?.client;
      if (c) await c.disconnect().catch(() => undefined);
    }
    await helper.unload();
    await helper.stopServer();
  });

  it("names the fixed port 4841 in its comment, its PLC and its endpoint, on 127.0.0.1; uses the community OPC UA nodes only for the PLC side", function () {
    const plc = flow.find((n) => n.type === "pss-sim-plc")!;
    const ep = flow.find((n) => n.type === "OpcUa-Endpoint")!;
    assert.equal(plc.opcua, true);
    assert.equal(Number(plc.opcuaPort), PORT);
    assert.equal(ep.endpoint, `opc.tcp://127.0.0.1:${PORT}`);
    assert.match(String(flow.find((n) => n.type === "comment")!.info), /4841/);
    const clients = flow.filter((n) => n.type === "OpcUa-Client");
    assert.equal(clients.length, 1, "one client, one session for reads and gate commands");
    for (const c of clients) assert.equal(c.endpoint, ep.id);
    for (const n of flow.filter((x) => x.type === "inject")) assert.equal(n.once, false, `${String(n.name)} waits for a click`);
    for (const n of flow.filter((x) => x.type !== "tab" && x.type !== "OpcUa-Endpoint")) {
      assert.equal(n.z, flow[0].id, `${n.id} sits on the example's tab`);
      assert.ok(Number(n.x) <= 1600 && Number(n.y) <= 1000, `${n.id} fits 1600×1000`);
    }
  });

  it("our package registers no type of node-red-contrib-opcua (a user who has it installed gets no duplicate types)", function () {
    const ours = Object.keys(require(path.join(REPO_ROOT, "package.json"))["node-red"].nodes as Record<string, string>);
    const theirs = Object.keys(require("node-red-contrib-opcua/package.json")["node-red"].nodes as Record<string, string>);
    assert.ok(theirs.includes("OpcUa-Client") && theirs.includes("OpcUa-Endpoint"));
    assert.deepEqual(ours.filter((t) => !t.startsWith("pss-")), [], "every type we register is a pss- type");
    assert.deepEqual(ours.filter((t) => theirs.includes(t)), []);
  });

  it("reads the PLC's counters through the OpcUa-Client and rejects / passes the unit at the gate by writing RejectNext / PassNext", async function () {
    const port = await freePort();
    const text = fs.readFileSync(FILE, "utf8").replace(/"opcuaPort": 4841/, `"opcuaPort": ${port}`).replace(/127\.0\.0\.1:4841/g, `127.0.0.1:${port}`);
    const f = JSON.parse(text) as FlowNode[];
    helper.settings({ userDir: tmp.dir });
    await helper.startServer();
    const types = [...new Set(f.map((n) => n.type))];
    await helper.load([...allNodeModules(), ...coreModules(), ...opcuaModules(types.filter((t) => t.startsWith("OpcUa-")))] as any, f as any);

    const plcDef = f.find((n) => n.type === "pss-sim-plc")!;
    const plcNode = helper.getNode(plcDef.id) as any;
    const ep = await plcNode.opcuaReady;
    assert.equal(ep?.endpointUrl, `opc.tcp://127.0.0.1:${port}`);
    const plc = plcNode.plc;
    const byName = (type: string, name: RegExp) => {
      const n = f.find((x) => x.type === type && name.test(String(x.name)));
      assert.ok(n, `a ${type} named ${String(name)}`);
      return n!;
    };
    const client = f.find((n) => n.type === "OpcUa-Client")!;
    // the client connects on deploy and retries (every 5 s) until the PLC's server is up
    await until("the OpcUa-Client to have a session", () => ((helper.getNode(client.id) as any).session ? true : undefined), 120_000);

    // what the client sends out: read values by NodeId, write answers (status codes) in order
    const values = new Map<string, unknown>();
    const written: Array<{ topic: string; status: string }> = [];
    helper.getNode((client.wires ?? [])[0][0]).on("input", (m: Record<string, any>) => {
      if (m.action === "write") written.push({ topic: String(m.topic), status: String(m.payload?.name ?? m.payload) });
      else values.set(String(m.topic), m.payload);
    });
    const click = (n: FlowNode) => helper.getNode(n.id).receive({});
    const readCounters = async () => {
      values.clear();
      click(byName("inject", /Read counters/));
      return until("the four counters read over OPC UA", () =>
        values.size === 4 ? { total: values.get(`${NS}Total`), good: values.get(`${NS}Good`), rejected: values.get(`${NS}Rejected`), pending: values.get(`${NS}Pending`) } : undefined, 60_000);
    };
    const own = () => {
      const k = plc.counters();
      return { total: k.total, good: k.good, rejected: k.rejected, pending: k.pending };
    };

    assert.deepEqual(await readCounters(), { total: 0, good: 0, rejected: 0, pending: 0 });
    click(byName("inject", /Drive 5 units/));
    await until("5 units driven", () => (plc.counters().total === 5 ? true : undefined), 30_000);
    const c1 = await readCounters();
    assert.deepEqual(c1, own(), "the OpcUa-Client reads the PLC's own counters");
    assert.deepEqual(c1, { total: 5, good: 0, rejected: 0, pending: 5 });

    click(byName("inject", /Reject the unit at the gate/));
    await until("the gate to reject a unit", () => (plc.counters().rejected === 1 ? true : undefined), 60_000);
    click(byName("inject", /Pass the unit at the gate/));
    await until("the gate to pass a unit", () => (plc.counters().good === 1 ? true : undefined), 60_000);
    await until("both writes answered", () => (written.length === 2 ? true : undefined), 30_000);
    assert.deepEqual(written, [
      { topic: `${NS}RejectNext`, status: "Good" },
      { topic: `${NS}PassNext`, status: "Good" },
    ]);
    const c2 = await readCounters();
    assert.deepEqual(c2, { total: 5, good: 1, rejected: 1, pending: 3 });
    assert.deepEqual(c2, own(), "the OpcUa-Client reads the gate's decisions back");

    // clean-up: the client disconnected, the flow unloaded, the PLC's port is free again
    await (helper.getNode(client.id) as any).client?.disconnect();
    await helper.unload();
    await new Promise<void>((resolve, reject) => {
      const srv = net.createServer().once("error", reject).listen(port, "127.0.0.1", () => srv.close(() => resolve()));
    });
  });
});
