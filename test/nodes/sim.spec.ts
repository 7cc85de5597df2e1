/* The simulated device nodes in Node-RED (node-red-node-test-helper): the printer over its real loopback socket,
   the camera on the printer's output, the PLC's commands and OPC UA endpoint, and errors reaching a Catch node. */
import assert from "node:assert/strict";
import * as net from "net";
import * as path from "path";
import { helper, nodeModule, nextMessage, coreNodeModule } from "../helpers/red";
import { tmpDir } from "../helpers/tmp";
import { DEFAULT_TEMPLATE, labelData, renderZpl } from "../../nodes/core/label";
import { FNC1 } from "../../nodes/core/sim";

const GTIN = "09506000134352";
const sims = () => [nodeModule("pss-sim-printer"), nodeModule("pss-sim-camera"), nodeModule("pss-sim-plc"), coreNodeModule("25-catch")] as any;

function collect(id: string, n: number, timeoutMs = 10000): Promise<Array<Record<string, any>>> {
  const node = helper.getNode(id);
  const got: Array<Record<string, any>> = [];
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${id} received ${got.length} of ${n} messages`)), timeoutMs);
    node.on("input", (m: Record<string, any>) => {
      got.push(m);
      if (got.length === n) {
        clearTimeout(t);
        resolve(got);
      }
    });
  });
}

describe("pss-sim-printer node", function () {
  let tmp: ReturnType<typeof tmpDir>;
  beforeEach(async function () {
    tmp = tmpDir();
    helper.settings({ userDir: tmp.dir });
    await helper.startServer();
  });
  afterEach(async function () {
    await helper.unload();
    await helper.stopServer();
    tmp.cleanup();
  });

  const flow = (extra: Record<string, unknown> = {}) => [
    { id: "t", type: "tab" },
    { id: "pr", z: "t", type: "pss-sim-printer", transport: "tcp", port: 0, misprintRate: "0", seed: "1", sidClass: "GS1-SGTIN", gtin: GTIN, lot: "L1", expiry: "281231", wires: [["ok"], ["ko"]], ...extra },
    { id: "ok", z: "t", type: "helper" },
    { id: "ko", z: "t", type: "helper" },
    { id: "catcher", z: "t", type: "catch", scope: null, uncaught: false, wires: [["caught"]] },
    { id: "caught", z: "t", type: "helper" },
  ];

  it("renders serial numbers to ZPL, prints them over its loopback TCP port, and sends the printed ones on output 1", async function () {
    await helper.load(sims(), flow());
    const port = await (helper.getNode("pr") as any).ready;
    assert.ok(typeof port === "number" && port > 0);
    const got = nextMessage("ok");
    helper.getNode("pr").receive({ payload: { snCollection: { id: "c1", serialNumbers: ["P1", "P2"] } }, unit: { id: "U1" } });
    const m = await got;
    assert.deepEqual(m.payload.serialNumbers, ["P1", "P2"]);
    assert.equal(m.payload.labels[0].code, `01${GTIN}1728123110L1${FNC1}21P1`);
    assert.deepEqual(m.printed.map((l: { serialNumber: string }) => l.serialNumber), ["P1", "P2"]);
    assert.deepEqual(m.unit, { id: "U1" }, "other message properties pass through");
    assert.equal((helper.getNode("pr") as any).printer.stats.connections, 1, "the job went through a TCP connection");
  });

  it("sends misprints on output 2 with their reason", async function () {
    await helper.load(sims(), flow({ misprintRate: "100%" }));
    const got = nextMessage("ko");
    helper.getNode("pr").receive({ payload: { serialNumbers: ["Q1"] } });
    const m = await got;
    assert.deepEqual(m.payload.serialNumbers, ["Q1"]);
    assert.ok(m.payload.failures[0].reason);
    assert.equal(m.printed, undefined);
  });

  it("prints ZPL that another program sends to its port, one message per label with topic tcp", async function () {
    await helper.load(sims(), flow({ transport: "direct" }));
    const port = (await (helper.getNode("pr") as any).ready) as number;
    const got = collect("ok", 2);
    const zpl = ["T1", "T2"].map((s) => renderZpl(DEFAULT_TEMPLATE, labelData(s, { sidClass: "GS1-SGTIN", gtin: GTIN }))).join("");
    await new Promise<void>((resolve, reject) => {
      const s = net.createConnection({ host: "127.0.0.1", port }, () => s.end(zpl));
      s.on("close", () => resolve());
      s.on("error", reject);
    });
    const msgs = await got;
    assert.deepEqual(msgs.map((m) => [m.topic, m.payload.serialNumbers[0]]), [["tcp", "T1"], ["tcp", "T2"]]);
  });

  it("prints ZPL given as the payload", async function () {
    await helper.load(sims(), flow({ transport: "direct" }));
    const got = nextMessage("ok");
    helper.getNode("pr").receive({ payload: { zpl: "^XA^FO10,10^BXN,5,200,,,,~^FH\\^FD\\7E10109506000134352\\1D21Z9^FS^XZ" } });
    assert.deepEqual((await got).payload.serialNumbers, ["Z9"]);
  });

  for (const [what, payload, code] of [
    ["text that is not ZPL", "hello", "InvalidPrintJob"],
    ["ZPL without a complete label", { zpl: "^XA^FDx^FS" }, "BadZpl"],
    ["no serial numbers", { count: 3 }, "MissingSerialNumbers"],
    ["a serial number its SID class refuses", { serialNumbers: ["bad serial with spaces"] }, "BadIdentifier"],
  ] as const) {
    it(`refuses ${what} with ${code} at a Catch node, keeping the message`, async function () {
      await helper.load(sims(), flow());
      const got = nextMessage("caught");
      helper.getNode("pr").receive({ payload, keep: 7 });
      const m = await got;
      assert.equal(m.error.code, code);
      assert.deepEqual(m.payload, payload);
      assert.equal(m.keep, 7);
    });
  }

  it("reports a bad misprint rate as a configuration error with its code", async function () {
    await helper.load(sims(), flow({ misprintRate: "2" }));
    const got = nextMessage("caught");
    helper.getNode("pr").receive({ payload: { serialNumbers: ["A"] } });
    assert.equal((await got).error.code, "InvalidRate");
  });
});

describe("pss-sim-camera node", function () {
  beforeEach(async function () {
    await helper.startServer();
  });
  afterEach(async function () {
    await helper.unload();
    await helper.stopServer();
  });

  const flow = (extra: Record<string, unknown> = {}) => [
    { id: "t", type: "tab" },
    { id: "cam", z: "t", type: "pss-sim-camera", seed: "1", noReadRate: "0", doubleReadRate: "0", wrongCodeRate: "0", lowGradeRate: "0", minGrade: "C", wires: [["read"], ["noread"]], ...extra },
    { id: "read", z: "t", type: "helper" },
    { id: "noread", z: "t", type: "helper" },
    { id: "catcher", z: "t", type: "catch", scope: null, uncaught: false, wires: [["caught"]] },
    { id: "caught", z: "t", type: "helper" },
  ];
  const printed = (s: string) => ({ serialNumber: s, code: `01${GTIN}21${s}`, gs1: true });

  it("reads each label of msg.printed, with its grade, and says it matches the serial printed", async function () {
    await helper.load(sims(), flow());
    const got = collect("read", 2);
    helper.getNode("cam").receive({ payload: { returnStatus: "NoError" }, printed: [printed("C1"), printed("C2")], unit: { id: "U7" } });
    const msgs = await got;
    assert.deepEqual(msgs.map((m) => m.payload.serialNumbers), [["C1"], ["C2"]]);
    for (const m of msgs) {
      assert.equal(m.payload.match, true);
      assert.equal(m.payload.pass, true);
      assert.match(m.payload.grade, /^[A-F]$/);
      assert.deepEqual(m.unit, { id: "U7" });
      assert.equal(m.printed, undefined);
    }
  });

  it("sends a no-read on output 2 with the expected number, ready for LabelsScrappingEvent", async function () {
    await helper.load(sims(), flow({ noReadRate: "1" }));
    const got = nextMessage("noread");
    helper.getNode("cam").receive({ printed: [printed("N1")] });
    const m = await got;
    assert.deepEqual(m.payload.serialNumbers, ["N1"]);
    assert.equal(m.payload.code, null);
  });

  it("reports a wrong code as read but not matching, and a double read twice", async function () {
    await helper.load(sims(), flow({ wrongCodeRate: "1", doubleReadRate: "1" }));
    const got = collect("read", 2);
    helper.getNode("cam").receive({ payload: { code: `01${GTIN}21W123`, serialNumber: "W123" } });
    const [a, b] = await got;
    assert.equal(a.payload.match, false);
    assert.equal(a.payload.pass, false);
    assert.notEqual(a.payload.serialNumber, "W123");
    assert.deepEqual(b.payload.code, a.payload.code);
    assert.deepEqual([a.payload.readIndex, b.payload.readIndex], [1, 2]);
  });

  it("refuses a message with nothing to read with NoCodeToRead at a Catch node", async function () {
    await helper.load(sims(), flow());
    const got = nextMessage("caught");
    helper.getNode("cam").receive({ payload: { serialNumbers: ["X"] } });
    const m = await got;
    assert.equal(m.error.code, "NoCodeToRead");
    assert.deepEqual(m.payload, { serialNumbers: ["X"] });
  });
});

describe("pss-sim-plc node", function () {
  let tmp: ReturnType<typeof tmpDir>;
  beforeEach(async function () {
    tmp = tmpDir();
    helper.settings({ userDir: tmp.dir });
    await helper.startServer();
  });
  afterEach(async function () {
    await helper.unload();
    await helper.stopServer();
    tmp.cleanup();
  });

  const flow = (extra: Record<string, unknown> = {}) => [
    { id: "t", type: "tab" },
    { id: "plc", z: "t", type: "pss-sim-plc", unitsPerMinute: 60, gateDistance: 0, idPrefix: "U", autoStart: false, opcua: false, opcuaPort: 0, wires: [["units"], ["gate"]], ...extra },
    { id: "units", z: "t", type: "helper" },
    { id: "gate", z: "t", type: "helper" },
    { id: "catcher", z: "t", type: "catch", scope: null, uncaught: false, wires: [["caught"]] },
    { id: "caught", z: "t", type: "helper" },
  ];

  it("drives units on step, each asking for one serial number, and counts pass and reject by msg.unit", async function () {
    await helper.load(sims(), flow());
    const units = collect("units", 3);
    helper.getNode("plc").receive({ payload: { command: "step", count: 3 } });
    const u = await units;
    assert.deepEqual(u.map((m) => m.payload.count), [1, 1, 1]);
    assert.deepEqual(u.map((m) => m.unit.id), ["U000001", "U000002", "U000003"]);
    const gate = collect("gate", 2);
    helper.getNode("plc").receive({ topic: "reject", payload: { reason: "no-read" }, unit: u[0].unit });
    helper.getNode("plc").receive({ payload: { command: "pass", unitId: "U000002" } });
    const g = await gate;
    assert.deepEqual(g.map((m) => [m.payload.unitId, m.payload.decision]), [["U000001", "rejected"], ["U000002", "good"]]);
    assert.deepEqual(g[1].payload.counters, { total: 3, good: 1, rejected: 1, pending: 1, running: false, unitsPerMinute: 60 });
  });

  it("starts and stops on command", async function () {
    await helper.load(sims(), flow({ unitsPerMinute: 60000 }));
    const units = collect("units", 5);
    helper.getNode("plc").receive({ payload: "start" });
    await units;
    helper.getNode("plc").receive({ payload: "stop" });
    assert.equal((helper.getNode("plc") as any).plc.running, false);
  });

  for (const [what, msg, code] of [
    ["an unknown command", { payload: { command: "explode" } }, "UnknownCommand"],
    ["a reject without a unit", { topic: "reject", payload: {} }, "MissingUnitId"],
    ["a unit it never drove", { topic: "pass", payload: { unitId: "U999999" } }, "UnknownUnit"],
    ["a step of zero units", { payload: { command: "step", count: 0 } }, "InvalidCount"],
  ] as const) {
    it(`refuses ${what} with ${code} at a Catch node`, async function () {
      await helper.load(sims(), flow());
      const got = nextMessage("caught");
      helper.getNode("plc").receive({ ...msg });
      assert.equal((await got).error.code, code);
    });
  }

  it("serves its counters over OPC UA on 127.0.0.1 and answers status with the endpoint", async function () {
    await helper.load(sims(), flow({ opcua: true }));
    const ep = await (helper.getNode("plc") as any).opcuaReady;
    assert.ok(ep, "the OPC UA server started");
    assert.match(ep.endpointUrl, /^opc\.tcp:\/\/127\.0\.0\.1:\d+$/);
    const got = nextMessage("gate");
    helper.getNode("plc").receive({ payload: "status" });
    const m = await got;
    assert.equal(m.topic, "counters");
    assert.equal(m.payload.opcua.endpointUrl, ep.endpointUrl);
    await helper.unload();
    // the port is free once the flow is stopped
    await new Promise<void>((resolve, reject) => {
      const srv = net.createServer().once("error", reject).listen(ep.port, "127.0.0.1", () => srv.close(() => resolve()));
    });
    assert.ok(require("fs").existsSync(path.join(tmp.dir, "serialflow", "sim-plc-pki")), "the PKI lives in the user directory");
  });
});
