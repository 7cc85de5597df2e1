/* pss-sim-plc: a simulated line controller. It drives units down the line at a set rate (output 1, one message per
   unit, whose payload {count: 1} asks a PSS request node for one serial number), keeps a reject gate that the flow
   tells "pass" or "reject" per unit (gate decisions on output 2), and serves its counters as OPC UA variables on
   loopback for any OPC UA client. Commands in msg.payload.command or msg.topic: start, stop, step, pass, reject,
   rate, status. */
import * as os from "os";
import * as path from "path";
import type { NodeAPI, Node, NodeDef, NodeMessageInFlow, SendFn, DoneFn } from "../common/red";
import { isPlainObject } from "../common/args";
import { InputError, asNodeError, statusText } from "../common/errors";
import { onInput } from "../common/pipeline";
import { numberSetting } from "../common/sim-args";
import { SimPlc, type GateEvent, type PlcOpcuaEndpoint, type Unit } from "../core/sim";

export interface SimPlcNodeDef extends NodeDef {
  unitsPerMinute?: number | string;
  gateDistance?: number | string;
  idPrefix?: string;
  autoStart?: boolean;
  opcua?: boolean;
  opcuaPort?: number | string;
}

export interface SimPlcNode extends Node {
  plc: SimPlc;
  /** resolves with the OPC UA endpoint once it listens (null when OPC UA is off or failed) */
  opcuaReady: Promise<PlcOpcuaEndpoint | null>;
}

const COMMANDS = ["start", "stop", "step", "pass", "reject", "rate", "status"] as const;
type Command = (typeof COMMANDS)[number];

export default function (RED: NodeAPI): void {
  function PssSimPlcNode(this: SimPlcNode, config: SimPlcNodeDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    let configError: Error | undefined;
    let endpoint: PlcOpcuaEndpoint | null = null;
    let closing = false;
    try {
      node.plc = new SimPlc({
        unitsPerMinute: numberSetting("units per minute", config.unitsPerMinute, 60, 1, 600_000),
        gateDistance: numberSetting("gate distance", config.gateDistance, 0, 0, 1_000_000),
        idPrefix: config.idPrefix ?? "U",
      });
    } catch (err) {
      configError = asNodeError(err);
      node.plc = new SimPlc();
    }
    const plc = node.plc;

    let statusTimer: NodeJS.Timeout | undefined;
    const showNow = () => {
      statusTimer = undefined;
      if (closing) return;
      if (configError) return;
      const c = plc.counters();
      node.status({
        fill: c.running ? "green" : "grey",
        shape: c.running ? "dot" : "ring",
        text: `${c.running ? `${c.unitsPerMinute}/min` : "stopped"} · total ${c.total} · good ${c.good} · rejected ${c.rejected}${endpoint ? ` · opc.tcp :${endpoint.port}` : ""}`,
      });
    };
    // the editor gets at most four status updates a second however fast the line runs
    const show = () => {
      statusTimer ??= setTimeout(showNow, 250);
    };

    const unitMsg = (u: Unit) => ({ topic: "unit", payload: { count: 1, unitId: u.id, seq: u.seq, time: u.time }, unit: { id: u.id, seq: u.seq } });
    const onUnit = (u: Unit) => {
      node.send([unitMsg(u), null]);
      show();
    };
    const onGate = (g: GateEvent) => {
      node.send([null, { topic: "gate", payload: { ...g, counters: plc.counters() }, unit: { id: g.unitId, seq: g.seq } }]);
      show();
    };
    plc.on("unit", onUnit);
    plc.on("gate", onGate);
    plc.on("running", show);

    if (configError) {
      node.status({ fill: "red", shape: "ring", text: statusText(configError as Error & { code: string }) });
      node.error(`simulated PLC: ${configError.message}`);
      node.opcuaReady = Promise.resolve(null);
    } else {
      showNow();
      if (config.opcua) {
        const userDir = (RED.settings as { userDir?: string }).userDir || path.join(os.homedir(), ".node-red");
        node.opcuaReady = (async () => {
          try {
            const port = numberSetting("OPC UA port", config.opcuaPort, 0, 0, 65535);
            endpoint = await plc.serveOpcua({ port, pkiFolder: path.join(userDir, "serialflow", "sim-plc-pki") });
            if (closing) return null;
            node.log(`simulated PLC counters on ${endpoint.endpointUrl} (${endpoint.nodeIds.total}, ...)`);
            showNow();
            return endpoint;
          } catch (err) {
            const e = asNodeError(err);
            if (!closing) {
              node.status({ fill: "red", shape: "ring", text: statusText(e) });
              node.error(`simulated PLC: ${e.message}`);
            }
            return null;
          }
        })();
      } else {
        node.opcuaReady = Promise.resolve(null);
      }
      if (config.autoStart) plc.start();
    }

    onInput(node, {
      what: "pss-sim-plc",
      run: async (msg, send) => {
        if (configError) throw configError;
        const p = isPlainObject(msg.payload) ? msg.payload : {};
        const raw = p.command ?? (typeof msg.payload === "string" ? msg.payload : msg.topic);
        if (typeof raw !== "string" || !(COMMANDS as readonly string[]).includes(raw)) {
          throw new InputError("UnknownCommand", `the PLC takes msg.payload.command (or msg.topic) ${COMMANDS.join(", ")}; it got ${JSON.stringify(raw ?? null)}`);
        }
        const command = raw as Command;
        const unitId = typeof p.unitId === "string" ? p.unitId : (msg as { unit?: { id?: unknown } }).unit?.id;
        const reason = typeof p.reason === "string" ? p.reason.slice(0, 200) : undefined;
        switch (command) {
          case "start":
            plc.start();
            break;
          case "stop":
            plc.stop();
            break;
          case "step": {
            const n = p.count === undefined ? 1 : p.count;
            if (typeof n !== "number") throw new InputError("InvalidCount", `msg.payload.count must be a number of units (1 to 10000); it is ${JSON.stringify(n)}`);
            plc.step(n);
            break;
          }
          case "pass":
          case "reject":
            if (typeof unitId !== "string") throw new InputError("MissingUnitId", `${command}: name the unit in msg.payload.unitId or msg.unit.id (as the PLC emitted it)`);
            if (command === "pass") plc.pass(unitId, reason);
            else plc.reject(unitId, reason);
            break;
          case "rate":
            if (typeof p.unitsPerMinute !== "number") throw new InputError("InvalidOption", "rate: msg.payload.unitsPerMinute must be a number from 1 to 600000");
            plc.unitsPerMinute = p.unitsPerMinute;
            break;
          case "status":
            send([null, { ...msg, topic: "counters", payload: { ...plc.counters(), opcua: endpoint } }]);
            break;
        }
        show();
      },
    });

    node.on("close", (_removed: boolean, done: () => void) => {
      closing = true;
      if (statusTimer) clearTimeout(statusTimer);
      plc.off("unit", onUnit);
      plc.off("gate", onGate);
      plc.off("running", show);
      // the OPC UA server may still be starting: wait for it, then free the port
      node.opcuaReady
        .catch(() => null)
        .then(() => plc.close())
        .then(() => done(), (err: Error) => {
          node.warn(`simulated PLC: ${err.message}`);
          done();
        });
    });
  }
  RED.nodes.registerType("pss-sim-plc", PssSimPlcNode as never);
}
