/* pss-state-guard: would these serial numbers accept this event? Output 1 carries those allowed,
   output 2 those refused, each with its current state and the reason. It changes nothing. */
import type { NodeAPI, Node, NodeDef, NodeMessageInFlow, SendFn, DoneFn } from "../common/red";
import { isPlainObject, payloadObject, serialList } from "../common/args";
import { InputError, asNodeError, statusText } from "../common/errors";
import { labelCollection } from "../common/parse";
import type { PoolConfigNode } from "../pss-pool/pss-pool";
import { EVENTS } from "../core/lifecycle";

export interface GuardNodeDef extends NodeDef {
  pool: string;
  event?: string;
}

/** The serial numbers of a message, in whichever shape the PSS nodes use. */
export function serialNumbersOf(p: Record<string, unknown>): string[] {
  if (p.serialNumbers !== undefined) return serialList(p.serialNumbers, "msg.payload.serialNumbers");
  if (p.snCollection !== undefined) {
    if (!isPlainObject(p.snCollection)) throw new InputError("InvalidArgument", "msg.payload.snCollection must be an object {id, serialNumbers}");
    return serialList(p.snCollection.serialNumbers, "msg.payload.snCollection.serialNumbers");
  }
  if (p.labelCollection !== undefined) return labelCollection(p.labelCollection, "msg.payload.labelCollection").serialNumbers;
  throw new InputError("MissingSerialNumbers", "msg.payload.serialNumbers, snCollection or labelCollection is required");
}

export default function (RED: NodeAPI): void {
  function PssStateGuardNode(this: Node, config: GuardNodeDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    const pool = RED.nodes.getNode(config.pool) as PoolConfigNode | null;
    if (!pool) node.status({ fill: "red", shape: "ring", text: "no pool" });

    node.on("input", (msg: NodeMessageInFlow, send: SendFn, done: DoneFn) => {
      const run = async () => {
        if (!pool) throw Object.assign(new Error("pss-state-guard: no pss-pool is configured on this node"), { code: "PoolUnavailable" });
        const p = payloadObject(msg.payload, false);
        // the message's event, when it names one, wins over the node's; it must be a PSS event name
        const raw: unknown = p.event !== undefined ? p.event : msg.event !== undefined ? msg.event : config.event;
        if (typeof raw !== "string" || !(EVENTS as readonly string[]).includes(raw)) {
          throw new InputError("UnknownEvent", `event ${raw === undefined || raw === "" ? "is missing" : `${JSON.stringify(raw)} is not a PSS event`}: one of ${EVENTS.join(", ")}`);
        }
        const serialNumbers = serialNumbersOf(p);
        return { event: raw, result: await pool.getBackend().checkEvent(raw, serialNumbers) };
      };
      run().then(
        ({ event, result }) => {
          const ok = result.allowed.length ? { ...msg, payload: { event, serialNumbers: result.allowed.map((a) => a.serialNumber), allowed: result.allowed } } : null;
          const ko = result.refused.length ? { ...msg, payload: { event, serialNumbers: result.refused.map((r) => r.serialNumber), refused: result.refused } } : null;
          node.status({
            fill: result.refused.length ? "yellow" : "green",
            shape: "dot",
            text: `${result.allowed.length} ok · ${result.refused.length} refused`,
          });
          send([ok, ko]);
          done();
        },
        (err: unknown) => {
          const e = asNodeError(err);
          node.status({ fill: "red", shape: "dot", text: statusText(e) });
          done(e);
        },
      );
    });
  }
  RED.nodes.registerType("pss-state-guard", PssStateGuardNode as never);
}
