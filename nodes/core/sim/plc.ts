/* A simulated line controller (PLC): it drives units down the line at a set rate, keeps a reject gate, and
   exposes its counters as OPC UA variables on a small node-opcua server on loopback, where any OPC UA client
   (node-red-contrib-opcua's OpcUa-Client, UaExpert) can read them. No randomness: the same commands give the
   same units. */
import * as fs from "fs";
import * as path from "path";
import { EventEmitter } from "events";
import { checkLoopbackHost, checkPort, SimError } from "./rng";
import { guardLateConnections } from "../opcua/late-connections";

export interface PlcOptions {
  /** line speed in units per minute (default 60; 1 to 600,000) */
  unitsPerMinute?: number;
  /**
   * how many units after a unit the reject gate sits: when unit n + gateDistance leaves the printer, unit n is at
   * the gate, and a unit with no decision yet is rejected (fail-safe). 0 (default): the gate waits for a decision.
   */
  gateDistance?: number;
  /** prefix of unit ids (default "U"): U000001, U000002 ... */
  idPrefix?: string;
  /** most undecided units kept; beyond it the oldest is rejected (fail-safe), default 100,000 */
  maxPending?: number;
}

export interface Unit {
  id: string;
  seq: number;
  /** ISO 8601 */
  time: string;
}

export interface GateEvent {
  unitId: string;
  seq: number;
  decision: "good" | "rejected";
  reason: string;
}

export interface PlcCounters {
  total: number;
  good: number;
  rejected: number;
  /** units on the line with no gate decision yet */
  pending: number;
  running: boolean;
  unitsPerMinute: number;
}

export interface PlcOpcuaOptions {
  host?: string;
  /** 0 (default) picks a free port */
  port?: number;
  /** folder for the server's certificate (node-opcua makes one even for security mode None) */
  pkiFolder: string;
}

export interface PlcOpcuaEndpoint {
  endpointUrl: string;
  port: number;
  namespaceIndex: number;
  /** NodeId strings of the variables, e.g. total: "ns=1;s=SimulatedLine.Total"; passNext / rejectNext are the
   *  writable gate commands */
  nodeIds: Record<"total" | "good" | "rejected" | "pending" | "running" | "unitsPerMinute" | "passNext" | "rejectNext", string>;
}

export const PLC_NAMESPACE_URI = "urn:serialflow:sim-plc";
const MAX_RATE = 600_000;

function intOption(name: string, v: unknown, fallback: number, min: number, max: number): number {
  if (v === undefined || v === null || v === "") return fallback;
  const n = typeof v === "string" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isFinite(n) || n < min || n > max) throw new SimError("InvalidOption", `${name} must be a number from ${min} to ${max}; it is ${JSON.stringify(v)}`);
  return n;
}

/** Events: "unit" (Unit) for each unit driven; "gate" (GateEvent) for each gate decision; "running" (boolean). */
export class SimPlc extends EventEmitter {
  private rate: number;
  readonly gateDistance: number;
  readonly idPrefix: string;
  private readonly maxPending: number;
  private seq = 0;
  private good = 0;
  private rejected = 0;
  /** undecided units in line order (a Map keeps insertion order) */
  private readonly pending = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private emittedSinceStart = 0;
  private opcua: { shutdown(): Promise<void> } | undefined;

  constructor(options: PlcOptions = {}) {
    super();
    this.rate = intOption("unitsPerMinute", options.unitsPerMinute, 60, 1, MAX_RATE);
    this.gateDistance = Math.floor(intOption("gateDistance", options.gateDistance, 0, 0, 1_000_000));
    this.maxPending = Math.floor(intOption("maxPending", options.maxPending, 100_000, 1, 10_000_000));
    const prefix = options.idPrefix ?? "U";
    if (typeof prefix !== "string" || !/^[A-Za-z0-9._-]{0,16}$/.test(prefix)) throw new SimError("InvalidOption", `idPrefix must be up to 16 letters, digits, ".", "_" or "-"; it is ${JSON.stringify(prefix)}`);
    this.idPrefix = prefix;
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  get unitsPerMinute(): number {
    return this.rate;
  }

  set unitsPerMinute(v: number) {
    this.rate = intOption("unitsPerMinute", v, this.rate, 1, MAX_RATE);
    if (this.running) {
      this.stop();
      this.start();
    }
  }

  counters(): PlcCounters {
    return { total: this.seq, good: this.good, rejected: this.rejected, pending: this.pending.size, running: this.running, unitsPerMinute: this.rate };
  }

  /** Drives units at the set rate until stop(); bursts catch up when the event loop was busy. */
  start(): void {
    if (this.timer) return;
    this.startedAt = Date.now();
    this.emittedSinceStart = 0;
    const period = Math.max(10, Math.floor(60_000 / this.rate));
    this.timer = setInterval(() => {
      const due = Math.floor(((Date.now() - this.startedAt) * this.rate) / 60_000) - this.emittedSinceStart;
      const n = Math.min(due, 1000);
      if (n > 0) this.step(n);
      this.emittedSinceStart += Math.max(0, due - n); // a burst longer than 1,000 units is dropped, not queued
    }, period);
    this.emit("running", true);
  }

  stop(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.emit("running", false);
  }

  /** Drives `n` units now (1 to 10,000), in order. */
  step(n = 1): Unit[] {
    if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new SimError("InvalidCount", `step drives 1 to 10000 units at a time; ${JSON.stringify(n)} asked`);
    const out: Unit[] = [];
    for (let i = 0; i < n; i++) {
      const seq = ++this.seq;
      if (this.running) this.emittedSinceStart++;
      const unit: Unit = { id: `${this.idPrefix}${String(seq).padStart(6, "0")}`, seq, time: new Date().toISOString() };
      this.pending.set(unit.id, seq);
      out.push(unit);
      this.emit("unit", unit);
      this.failSafe(seq);
    }
    return out;
  }

  /** The gate lets the unit pass: it counts as good. */
  pass(unitId: string, reason = "passed"): GateEvent {
    return this.decide(unitId, "good", reason);
  }

  /** The gate rejects the unit. */
  reject(unitId: string, reason = "rejected"): GateEvent {
    return this.decide(unitId, "rejected", reason);
  }

  private decide(unitId: string, decision: GateEvent["decision"], reason: string): GateEvent {
    if (typeof unitId !== "string" || unitId === "") throw new SimError("MissingUnitId", "a gate decision names its unit (unitId, as the PLC emitted it)");
    const seq = this.pending.get(unitId);
    if (seq === undefined) {
      const m = new RegExp(`^${this.idPrefix.replace(/[.]/g, "\\.")}(\\d+)$`).exec(unitId);
      const known = m !== null && Number(m[1]) >= 1 && Number(m[1]) <= this.seq;
      throw new SimError(known ? "UnitAlreadyDecided" : "UnknownUnit", known ? `unit ${unitId} is past the gate already (decided before)` : `unit ${unitId} was never driven by this PLC`);
    }
    this.pending.delete(unitId);
    if (decision === "good") this.good++;
    else this.rejected++;
    const ev: GateEvent = { unitId, seq, decision, reason };
    this.emit("gate", ev);
    return ev;
  }

  /** Decides the oldest undecided unit (the one at the gate), as a PLC's gate command bit does. */
  decideNext(decision: GateEvent["decision"], reason: string): GateEvent {
    const first = this.pending.keys().next();
    if (first.done) throw new SimError("NoUnitAtGate", "no undecided unit is at the gate");
    return this.decide(first.value, decision, reason);
  }

  /** Units that reached the gate without a decision are rejected: a unit nobody vouched for never ships. */
  private failSafe(lastSeq: number): void {
    for (const [id, seq] of this.pending) {
      const atGate = this.gateDistance > 0 && seq <= lastSeq - this.gateDistance;
      if (!atGate && this.pending.size <= this.maxPending) break;
      this.decide(id, "rejected", atGate ? "no decision when the unit reached the gate (fail-safe)" : "too many undecided units (fail-safe)");
    }
  }

  /** Serves the counters over OPC UA (security mode None, anonymous, read-only counters) on loopback, with two
   *  writable Boolean gate commands: writing true to PassNext / RejectNext decides the oldest undecided unit. */
  async serveOpcua(options: PlcOpcuaOptions): Promise<PlcOpcuaEndpoint> {
    if (this.opcua) throw new SimError("AlreadyServing", "the PLC's OPC UA server is running already");
    const host = checkLoopbackHost(options.host);
    const port = checkPort(options.port, 0);
    if (!options.pkiFolder) throw new SimError("InvalidOption", "serveOpcua needs a pkiFolder for the server certificate");
    // loaded here: a flow that never serves OPC UA does not pay for node-opcua
    const ua = await import("node-opcua");
    fs.mkdirSync(options.pkiFolder, { recursive: true });
    const certificateManager = new ua.OPCUACertificateManager({ rootFolder: path.join(options.pkiFolder, "server"), automaticallyAcceptUnknownCertificate: true });
    await initCertificates(certificateManager);
    const server = new ua.OPCUAServer({
      port,
      host,
      hostname: host,
      nodeset_filename: [ua.nodesets.standard],
      serverCertificateManager: certificateManager,
      securityModes: [ua.MessageSecurityMode.None],
      securityPolicies: [ua.SecurityPolicy.None],
      allowAnonymous: true,
      serverInfo: { applicationUri: "urn:serialflow:sim-plc", productUri: "urn:serialflow", applicationName: { text: "SerialFlow simulated PLC" } },
      buildInfo: { productName: "SerialFlow simulated PLC", manufacturerName: "SerialFlow" },
      registerServerMethod: 1, // hidden: never announce itself on the network
      isAuditing: false,
      // node-opcua's default is 10 connections: node-red-contrib-opcua 0.2.354's OpcUa-Client leaves its connection
      // open on every full redeploy (it reconnects to the restarted PLC), which used up 10 within an afternoon
      maxConnectionsPerEndpoint: PLC_MAX_CONNECTIONS,
      serverCapabilities: { maxSessions: PLC_MAX_CONNECTIONS },
    });
    try {
      await server.initialize();
      const addressSpace = server.engine.addressSpace!;
      const ns = addressSpace.registerNamespace(PLC_NAMESPACE_URI);
      const folder = ns.addFolder(addressSpace.rootFolder.objects, { browseName: "SimulatedLine", nodeId: "s=SimulatedLine" });
      const vars: Array<[keyof PlcOpcuaEndpoint["nodeIds"], string, "UInt32" | "Boolean" | "Double", () => number | boolean]> = [
        ["total", "Total", "UInt32", () => this.seq],
        ["good", "Good", "UInt32", () => this.good],
        ["rejected", "Rejected", "UInt32", () => this.rejected],
        ["pending", "Pending", "UInt32", () => this.pending.size],
        ["running", "Running", "Boolean", () => this.running],
        ["unitsPerMinute", "UnitsPerMinute", "Double", () => this.rate],
      ];
      const nodeIds = {} as PlcOpcuaEndpoint["nodeIds"];
      for (const [key, name, type, get] of vars) {
        const v = ns.addVariable({
          componentOf: folder,
          browseName: name,
          nodeId: `s=SimulatedLine.${name}`,
          dataType: type,
          accessLevel: "CurrentRead",
          userAccessLevel: "CurrentRead",
          minimumSamplingInterval: 100,
          // a UInt32 counter saturates rather than wraps (4,294,967,295 units)
          value: { get: () => new ua.Variant({ dataType: ua.DataType[type], value: type === "UInt32" ? Math.min(Number(get()), 0xffffffff) : get() }) },
        });
        nodeIds[key] = v.nodeId.toString();
      }
      // the gate command bits: writing true decides the unit at the gate (BadInvalidState when none is);
      // false is accepted and does nothing; they read false
      const commands: Array<["passNext" | "rejectNext", string, GateEvent["decision"]]> = [
        ["passNext", "PassNext", "good"],
        ["rejectNext", "RejectNext", "rejected"],
      ];
      for (const [key, name, decision] of commands) {
        const v = ns.addVariable({
          componentOf: folder,
          browseName: name,
          nodeId: `s=SimulatedLine.${name}`,
          dataType: "Boolean",
          accessLevel: "CurrentRead | CurrentWrite",
          userAccessLevel: "CurrentRead | CurrentWrite",
          minimumSamplingInterval: 100,
          value: {
            get: () => new ua.Variant({ dataType: ua.DataType.Boolean, value: false }),
            set: (variant: { dataType: number; value: unknown }) => {
              if (variant.dataType !== ua.DataType.Boolean) return ua.StatusCodes.BadTypeMismatch;
              if (variant.value !== true) return ua.StatusCodes.Good;
              if (this.pending.size === 0) return ua.StatusCodes.BadInvalidState;
              this.decideNext(decision, decision === "good" ? "passed over OPC UA" : "rejected over OPC UA");
              return ua.StatusCodes.Good;
            },
          },
        });
        nodeIds[key] = v.nodeId.toString();
      }
      await server.start();
      // a client connecting while the server stops (a redeploy) must not end Node-RED
      guardLateConnections(server);
      const actual = server.endpoints[0].port;
      let stopped: Promise<void> | undefined;
      this.opcua = {
        shutdown: () =>
          (stopped ??= (async () => {
            await server.shutdown(0);
            await certificateManager.dispose();
          })()),
      };
      return { endpointUrl: `opc.tcp://${host.includes(":") ? `[${host}]` : host}:${actual}`, port: actual, namespaceIndex: ns.index, nodeIds };
    } catch (err) {
      await server.shutdown(0).catch(() => undefined);
      await certificateManager.dispose().catch(() => undefined);
      const e = err as Error;
      throw Object.assign(new SimError("PlcOpcuaFailed", `the simulated PLC's OPC UA server did not start on ${host}:${port}: ${e.message}`), { cause: err });
    }
  }

  /** Stops the line and the OPC UA server; resolves when the port is free. */
  async close(): Promise<void> {
    this.stop();
    const o = this.opcua;
    this.opcua = undefined;
    if (o) await o.shutdown();
  }
}

/** Connections (and sessions) the simulated PLC's OPC UA server takes at once. */
export const PLC_MAX_CONNECTIONS = 200;

// two PLCs starting at once in one process must not both create the certificate of the same PKI folder
let certificateQueue: Promise<unknown> = Promise.resolve();
function initCertificates(cm: { initialize(): Promise<void> }): Promise<void> {
  const run = certificateQueue.then(() => cm.initialize());
  certificateQueue = run.catch(() => undefined);
  return run;
}
