/* The simulated devices without Node-RED: the printer's TCP path on a real loopback socket, seeded rates measured
   over many labels, the camera's reads and grades, the PLC's gate and its OPC UA counters read by a real client. */
import assert from "node:assert/strict";
import * as net from "net";
import * as path from "path";
import { OPCUAClient, OPCUACertificateManager, MessageSecurityMode, SecurityPolicy, AttributeIds, DataType, StatusCodes } from "node-opcua";
import { SimPrinter, SimCamera, SimPlc, sendZpl, parseLabel, parseZpl, seededRng, FNC1, GRADE_VALUE, PARAMETERS, type PrintedLabel, type JobSource, type GateEvent } from "../../nodes/core/sim";
import { DEFAULT_TEMPLATE, labelData, renderZpl } from "../../nodes/core/label";
import * as gs1 from "../../nodes/core/gs1";
import { tmpDir } from "../helpers/tmp";

const GTIN = "09506000134352";
const zplOf = (serial: string) => renderZpl(DEFAULT_TEMPLATE, labelData(serial, { sidClass: "GS1-SGTIN", gtin: GTIN, lot: "L1", expiry: "281231" }));

/** Binomial check: the observed count is within 5 standard deviations of n·p (fails about once in 3.5 million runs
    of a fair stream; the streams are seeded, so a pass is reproducible). */
function assertRate(observed: number, n: number, p: number, what: string): void {
  const sd = Math.sqrt(n * p * (1 - p));
  assert.ok(Math.abs(observed - n * p) <= 5 * sd + 1, `${what}: ${observed} of ${n}, expected about ${(n * p).toFixed(0)} (±${(5 * sd).toFixed(0)})`);
}

function waitJob(printer: SimPrinter, localPort: () => number): Promise<PrintedLabel[]> {
  return new Promise((resolve) => {
    const on = (labels: PrintedLabel[], src: JobSource) => {
      if (src.remotePort === localPort()) {
        printer.off("job", on);
        resolve(labels);
      }
    };
    printer.on("job", on);
  });
}

describe("sim: ZPL reader", function () {
  it("reads a rendered GS1 DataMatrix label back into its element string and serial number", function () {
    const l = parseLabel(zplOf("AB12"));
    assert.equal(l.gs1, true);
    assert.equal(l.code, `01${GTIN}1728123110L1${FNC1}21AB12`);
    assert.deepEqual(gs1.parse(l.code!).map((a) => a.ai), ["01", "17", "10", "21"]);
    assert.ok(l.fields.some((f) => f.barcode === null && f.data === "(21) AB12"), "the HRI text fields are read too");
  });

  it("decodes ^FH with the default indicator, keeps non-GS1 DataMatrix data as is, and ignores bytes outside labels", function () {
    const labels = parseZpl("junk before^XA^FO1,1^FH^FDA_5EB^FS^FO5,5^BXN,4,200^FD12345678901234567890^FS^XZ trailing ^XA^FDx^FS^XZ");
    assert.equal(labels.length, 2);
    assert.equal(labels[0].fields[0].data, "A^B");
    assert.equal(labels[0].code, "12345678901234567890");
    assert.equal(labels[0].gs1, false);
    assert.equal(labels[1].code, null);
  });

  it("refuses text that is not a label with BadZpl", function () {
    assert.throws(() => parseLabel("^FDno label^FS"), (e: Error & { code?: string }) => e.code === "BadZpl");
  });
});

describe("sim: printer", function () {
  let printer: SimPrinter | undefined;
  afterEach(async function () {
    await printer?.close();
    printer = undefined;
  });

  it("takes ZPL over a real TCP connection on 127.0.0.1 and reports each label printed, in order", async function () {
    printer = new SimPrinter({ misprintRate: 0, seed: 1 });
    const { host, port } = await printer.listen();
    assert.equal(host, "127.0.0.1");
    assert.ok(port > 0);
    let lp = 0;
    const job = waitJob(printer, () => lp);
    const serials = ["S1", "S2", "S3"];
    const sent = await sendZpl(host, port, serials.map(zplOf).join("\r\n"), (p) => (lp = p));
    assert.equal(sent, lp);
    const labels = await job;
    assert.deepEqual(labels.map((l) => [l.status, l.serialNumber]), serials.map((s) => ["printed", s]));
    assert.deepEqual(labels.map((l) => l.index), [1, 2, 3]);
    assert.equal(printer.stats.connections, 1);
  });

  it("reads labels split across TCP packets, from two connections at once, and counts bytes outside labels", async function () {
    printer = new SimPrinter();
    const { port } = await printer.listen();
    const seen: Array<[number, string | null]> = [];
    printer.on("label", (l: PrintedLabel, src: JobSource) => seen.push([src.remotePort, l.serialNumber]));
    const a = net.createConnection({ host: "127.0.0.1", port });
    const b = net.createConnection({ host: "127.0.0.1", port });
    await Promise.all([a, b].map((s) => new Promise((r) => s.once("connect", r))));
    const aPort = a.localPort;
    const zA = zplOf("A1");
    a.write("garbage" + zA.slice(0, 20));
    b.write(zplOf("B1"));
    await new Promise((r) => setTimeout(r, 50));
    a.write(zA.slice(20));
    const closed = Promise.all([a, b].map((s) => new Promise((r) => s.once("close", r))));
    a.end();
    b.end();
    await closed;
    assert.deepEqual(seen.map((s) => s[1]).sort(), ["A1", "B1"]);
    assert.equal(seen.find((s) => s[1] === "A1")![0], aPort);
    assert.equal(printer.stats.ignoredBytes, "garbage".length);
  });

  it("frees its port on close: a new printer can listen on the same port", async function () {
    printer = new SimPrinter();
    const { port } = await printer.listen();
    await printer.close();
    printer = new SimPrinter({ port });
    assert.equal((await printer.listen()).port, port);
  });

  it("listens on loopback only", function () {
    assert.throws(() => new SimPrinter({ host: "0.0.0.0" }), (e: Error & { code?: string }) => e.code === "NotLoopback");
    assert.throws(() => new SimPrinter({ misprintRate: 1.5 }), (e: Error & { code?: string }) => e.code === "InvalidRate");
  });

  it("misprints at the configured rate over 10,000 labels, and the same seed gives the same misprints", function () {
    const n = 10_000;
    const zpl = zplOf("X1");
    const run = (seed: number | string, rate: number) => {
      const p = new SimPrinter({ misprintRate: rate, seed });
      return Array.from({ length: n }, () => p.printLabel(zpl).status === "failed");
    };
    const a = run(42, 0.05);
    assertRate(a.filter(Boolean).length, n, 0.05, "misprints at 5 %");
    assert.deepEqual(run(42, 0.05), a, "same seed, same misprints");
    assert.notDeepEqual(run(43, 0.05), a, "another seed, other misprints");
    assert.equal(run(1, 0).filter(Boolean).length, 0);
    assert.equal(run(1, 1).filter(Boolean).length, n);
    const failed = new SimPrinter({ misprintRate: 1 }).print(zpl)[0];
    assert.ok(failed.reason && failed.reason.length > 0, "a failed label says why");
  });
});

describe("sim: camera", function () {
  const code = (s: string) => `01${GTIN}17281231${"10"}L1${FNC1}21${s}`;

  it("reads a good code with its grade, the lowest of the ISO 15415 parameters", function () {
    const c = new SimCamera({ seed: 5 });
    const r = c.inspect(code("ABC123"), true);
    assert.equal(r.outcome, "read");
    if (r.outcome !== "read") return;
    assert.equal(r.reads.length, 1);
    const read = r.reads[0];
    assert.equal(read.code, code("ABC123"));
    assert.equal(read.serialNumber, "ABC123");
    assert.deepEqual(Object.keys(read.parameters).sort(), [...PARAMETERS].sort());
    const lowest = Math.min(...Object.values(read.parameters).map((g) => GRADE_VALUE[g]));
    assert.equal(GRADE_VALUE[read.grade], lowest);
  });

  it("gives no-reads, double reads, wrong codes and low grades at their rates over 20,000 labels", function () {
    const n = 20_000;
    const rates = { noReadRate: 0.04, doubleReadRate: 0.02, wrongCodeRate: 0.03, lowGradeRate: 0.1 };
    const c = new SimCamera({ seed: "line-7", ...rates });
    let noRead = 0, double = 0, wrong = 0, low = 0;
    for (let i = 0; i < n; i++) {
      const serial = `SN${i}`;
      const r = c.inspect(code(serial), true);
      if (r.outcome === "no-read") {
        noRead++;
        continue;
      }
      if (r.reads.length === 2) {
        double++;
        assert.deepEqual(r.reads[1], r.reads[0]);
      }
      const read = r.reads[0];
      if (read.code !== code(serial)) {
        wrong++;
        assert.notEqual(read.serialNumber, serial, "a wrong code carries another serial");
        assert.equal(read.code.length, code(serial).length);
        assert.equal(gs1.validate(read.code).valid, true, "a wrong code still looks like good GS1 data");
      }
      if (GRADE_VALUE[read.grade] <= GRADE_VALUE.D) {
        low++;
        assert.equal(read.gradeOk, false);
      } else assert.equal(read.gradeOk, true);
    }
    assertRate(noRead, n, rates.noReadRate, "no-reads");
    const read = n - noRead;
    assertRate(double, read, rates.doubleReadRate, "double reads");
    assertRate(wrong, read, rates.wrongCodeRate, "wrong codes");
    assertRate(low, read, rates.lowGradeRate, "low grades");
    assert.deepEqual(c.stats, { inspected: n, read, noRead, doubleRead: double, wrongCode: wrong, lowGrade: low });
  });

  it("keeps each knob's decisions when another knob changes (one seeded stream per knob)", function () {
    const outcomes = (wrongCodeRate: number) => {
      const c = new SimCamera({ seed: 9, noReadRate: 0.1, wrongCodeRate });
      return Array.from({ length: 2000 }, (_, i) => c.inspect(code(`N${i}`), true).outcome);
    };
    assert.deepEqual(outcomes(0), outcomes(0.5));
  });

  it("reads non-GS1 codes (China's 20 digits) whole, and refuses an empty code", function () {
    const c = new SimCamera({ wrongCodeRate: 1 });
    const r = c.inspect("81234567890123456789", false);
    assert.equal(r.outcome, "read");
    if (r.outcome === "read") {
      assert.match(r.reads[0].code, /^\d{20}$/);
      assert.notEqual(r.reads[0].code, "81234567890123456789");
      assert.equal(r.reads[0].serialNumber, r.reads[0].code);
    }
    assert.throws(() => c.inspect("", true), (e: Error & { code?: string }) => e.code === "NoCodeToRead");
    assert.throws(() => new SimCamera({ minGrade: "E" as never }), (e: Error & { code?: string }) => e.code === "InvalidGrade");
  });

  it("seeded streams are reproducible and differ between seeds", function () {
    const a = seededRng(1, "x");
    const b = seededRng(1, "x");
    const c = seededRng(2, "x");
    const xa = Array.from({ length: 5 }, () => a.next());
    assert.deepEqual(Array.from({ length: 5 }, () => b.next()), xa);
    assert.notDeepEqual(Array.from({ length: 5 }, () => c.next()), xa);
    assert.ok(xa.every((x) => x >= 0 && x < 1));
  });
});

describe("sim: PLC", function () {
  it("drives units, counts the gate's decisions, and refuses unknown or repeated decisions", function () {
    const plc = new SimPlc({ idPrefix: "L1-" });
    const units = plc.step(3);
    assert.deepEqual(units.map((u) => u.id), ["L1-000001", "L1-000002", "L1-000003"]);
    plc.pass("L1-000001");
    plc.reject("L1-000002", "no-read");
    assert.deepEqual(plc.counters(), { total: 3, good: 1, rejected: 1, pending: 1, running: false, unitsPerMinute: 60 });
    assert.throws(() => plc.pass("L1-000001"), (e: Error & { code?: string }) => e.code === "UnitAlreadyDecided");
    assert.throws(() => plc.reject("L1-000009"), (e: Error & { code?: string }) => e.code === "UnknownUnit");
    assert.throws(() => plc.step(0), (e: Error & { code?: string }) => e.code === "InvalidCount");
  });

  it("rejects a unit nobody decided on when it reaches the gate (fail-safe)", function () {
    const plc = new SimPlc({ gateDistance: 2 });
    const gate: GateEvent[] = [];
    plc.on("gate", (g: GateEvent) => gate.push(g));
    plc.step(2);
    plc.pass("U000002");
    plc.step(2);
    assert.deepEqual(gate.map((g) => [g.unitId, g.decision]), [["U000002", "good"], ["U000001", "rejected"]]);
    assert.match(gate[1].reason, /fail-safe/);
    assert.equal(plc.counters().pending, 2);
  });

  it("runs at its rate until stopped", async function () {
    const plc = new SimPlc({ unitsPerMinute: 60_000 });
    const got = new Promise<number>((resolve) => {
      let n = 0;
      plc.on("unit", () => {
        if (++n === 20) resolve(n);
      });
    });
    plc.start();
    assert.equal(plc.running, true);
    await got;
    plc.stop();
    const total = plc.counters().total;
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(plc.counters().total, total, "no unit after stop");
    assert.equal(plc.running, false);
  });

  describe("OPC UA counters", function () {
    let tmp: ReturnType<typeof tmpDir>;
    let plc: SimPlc;
    let client: OPCUAClient | undefined;
    let cm: OPCUACertificateManager | undefined;

    before(function () {
      tmp = tmpDir("serialflow-sim-plc-");
    });
    after(async function () {
      await cm?.dispose();
      tmp.cleanup();
    });
    afterEach(async function () {
      await client?.disconnect();
      client = undefined;
      await plc?.close();
    });

    async function session(endpointUrl: string) {
      cm ??= new OPCUACertificateManager({ rootFolder: path.join(tmp.dir, "client"), automaticallyAcceptUnknownCertificate: true });
      await cm.initialize();
      client = OPCUAClient.create({
        applicationName: "sim test client",
        clientCertificateManager: cm,
        securityMode: MessageSecurityMode.None,
        securityPolicy: SecurityPolicy.None,
        endpointMustExist: false,
        connectionStrategy: { maxRetry: 0 },
      });
      await client.connect(endpointUrl);
      return client.createSession();
    }

    it("serves Total, Good, Rejected, Pending, Running and UnitsPerMinute on 127.0.0.1, read-only, tracking the line", async function () {
      plc = new SimPlc({ unitsPerMinute: 120 });
      const ep = await plc.serveOpcua({ port: 0, pkiFolder: path.join(tmp.dir, "pki") });
      assert.match(ep.endpointUrl, /^opc\.tcp:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(ep.nodeIds.total, `ns=${ep.namespaceIndex};s=SimulatedLine.Total`);
      const s = await session(ep.endpointUrl);
      const read = async () => {
        const dv = await s.read(Object.values(ep.nodeIds).map((nodeId) => ({ nodeId, attributeId: AttributeIds.Value })));
        for (const d of dv) assert.equal(d.statusCode.value, StatusCodes.Good.value);
        return Object.fromEntries(Object.keys(ep.nodeIds).map((k, i) => [k, dv[i].value.value]));
      };
      assert.deepEqual(await read(), { total: 0, good: 0, rejected: 0, pending: 0, running: false, unitsPerMinute: 120, passNext: false, rejectNext: false });
      plc.step(5);
      plc.pass("U000001");
      plc.pass("U000002");
      plc.reject("U000003");
      assert.deepEqual(await read(), { total: 5, good: 2, rejected: 1, pending: 2, running: false, unitsPerMinute: 120, passNext: false, rejectNext: false });
      const dt = await s.read({ nodeId: ep.nodeIds.total, attributeId: AttributeIds.DataType });
      assert.equal(dt.value.value.value, DataType.UInt32);
      const w = await s.write({ nodeId: ep.nodeIds.good, attributeId: AttributeIds.Value, value: { value: { dataType: DataType.UInt32, value: 99 } } });
      assert.notEqual(w.value, StatusCodes.Good.value, "a client cannot write the counters");
      assert.equal(plc.counters().good, 2);
      await s.close();
    });

    it("operates the reject gate through the writable PassNext / RejectNext commands, oldest unit first", async function () {
      plc = new SimPlc();
      const ep = await plc.serveOpcua({ port: 0, pkiFolder: path.join(tmp.dir, "pki") });
      assert.equal(ep.nodeIds.rejectNext, `ns=${ep.namespaceIndex};s=SimulatedLine.RejectNext`);
      const s = await session(ep.endpointUrl);
      const gate: string[] = [];
      plc.on("gate", (g) => gate.push(`${g.unitId} ${g.decision} (${g.reason})`));
      const write = async (nodeId: string, value: unknown, dataType = DataType.Boolean) =>
        (await s.write({ nodeId, attributeId: AttributeIds.Value, value: { value: { dataType, value } } })).value;
      assert.equal(await write(ep.nodeIds.rejectNext, true), StatusCodes.BadInvalidState.value, "no unit at the gate: refused");
      plc.step(3);
      assert.equal(await write(ep.nodeIds.rejectNext, true), StatusCodes.Good.value);
      assert.equal(await write(ep.nodeIds.passNext, true), StatusCodes.Good.value);
      assert.equal(await write(ep.nodeIds.rejectNext, false), StatusCodes.Good.value, "false is accepted and does nothing");
      assert.equal(await write(ep.nodeIds.rejectNext, 1, DataType.UInt32), StatusCodes.BadTypeMismatch.value);
      assert.deepEqual(gate, ["U000001 rejected (rejected over OPC UA)", "U000002 good (passed over OPC UA)"]);
      assert.deepEqual(plc.counters(), { total: 3, good: 1, rejected: 1, pending: 1, running: false, unitsPerMinute: 60 });
      const r = await s.read({ nodeId: ep.nodeIds.rejectNext, attributeId: AttributeIds.Value });
      assert.equal(r.value.value, false, "the command bit reads false");
      await s.close();
    });

    it("frees its port on close", async function () {
      plc = new SimPlc();
      const ep = await plc.serveOpcua({ port: 0, pkiFolder: path.join(tmp.dir, "pki") });
      await plc.close();
      await new Promise<void>((resolve, reject) => {
        const srv = net.createServer().once("error", reject).listen(ep.port, "127.0.0.1", () => srv.close(() => resolve()));
      });
      await assert.rejects(plc.serveOpcua({ port: 0, pkiFolder: path.join(tmp.dir, "pki"), host: "10.0.0.1" }), (e: Error & { code?: string }) => e.code === "NotLoopback");
    });

    it("serves 25 clients at once (node-opcua's default allowed 10: an operator screen was locked out after ten full redeploys)", async function () {
      plc = new SimPlc();
      const ep = await plc.serveOpcua({ port: 0, pkiFolder: path.join(tmp.dir, "pki") });
      cm ??= new OPCUACertificateManager({ rootFolder: path.join(tmp.dir, "client"), automaticallyAcceptUnknownCertificate: true });
      await cm.initialize();
      const clients = Array.from({ length: 25 }, () =>
        OPCUAClient.create({ clientCertificateManager: cm, securityMode: MessageSecurityMode.None, securityPolicy: SecurityPolicy.None, endpointMustExist: false, connectionStrategy: { maxRetry: 0 } }),
      );
      plc.step(3);
      try {
        for (const c of clients) await c.connect(ep.endpointUrl);
        const sessions = [];
        for (const c of clients) sessions.push(await c.createSession());
        const totals = await Promise.all(sessions.map(async (s) => (await s.read({ nodeId: ep.nodeIds.total, attributeId: AttributeIds.Value })).value.value));
        assert.deepEqual(totals, clients.map(() => 3), "every client reads the counter");
      } finally {
        await Promise.all(clients.map((c) => c.disconnect().catch(() => undefined)));
      }
    });

    it("refuses a client that connects just as its OPC UA server stops, and the process lives on", async function () {
      // node-opcua accepts the TCP connection and sets the channel up on the next tick; an endpoint stopped in
      // between (a redeploy) threw "OPCUAServerEndPoint must be started" from setImmediate, which ended Node-RED
      // in the editor test. Here the endpoint stops right after it accepted the connection.
      const { OPCUAServerEndPoint } = require(require.resolve("node-opcua-server", { paths: [require.resolve("node-opcua")] })) as {
        OPCUAServerEndPoint: { prototype: { _on_client_connection(socket: net.Socket): void; suspendConnection(cb: () => void): void } };
      };
      const proto = OPCUAServerEndPoint.prototype;
      const original = proto._on_client_connection;
      // bound when the endpoint listens: replaced before the PLC serves
      proto._on_client_connection = function (this: typeof proto, socket: net.Socket) {
        original.call(this, socket);
        this.suspendConnection(() => undefined);
      };
      try {
        plc = new SimPlc();
        const ep = await plc.serveOpcua({ port: 0, pkiFolder: path.join(tmp.dir, "pki") });
        const hungUp = await new Promise<boolean>((resolve) => {
          const sock = net.connect(ep.port, "127.0.0.1");
          sock.on("error", () => undefined);
          sock.on("close", () => resolve(true));
          setTimeout(() => {
            sock.destroy();
            resolve(false);
          }, 5000);
        });
        assert.equal(hungUp, true, "the late connection was hung up by the PLC");
      } finally {
        proto._on_client_connection = original;
      }
      await plc.close();
    });
  });
});
