/* pss-state-guard: would these serial numbers accept this event? Output 1 carries those allowed,
   output 2 those refused, each with its current state and the reason. It changes nothing. */
import type { NodeAPI, Node, NodeDef, NodeMessageInFlow, SendFn, DoneFn } from "../common/red";
import { payloadObject } from "../common/args";
import { InputError } from "../common/errors";
import { onInput } from "../common/pipeline";
import { serialNumbersOf } from "../common/parse";
import type { PoolConfigNode } from "../common/pool-config";
import { EVENTS } from "../core/lifecycle";

export interface GuardNodeDef extends NodeDef {
  pool: string;
  event?: string;
}

export default function (RED: NodeAPI): void {
  function PssStateGuardNode(this: Node, config: GuardNodeDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    const pool = RED.nodes.getNode(config.pool) as PoolConfigNode | null;
    if (!pool) node.status({ fill: "red", shape: "ring", text: RED._("pss-state-guard.status.no-pool") });

    onInput(node, {
      what: "pss-state-guard",
      run: async (msg) => {
        if (!pool) throw Object.assign(new Error("pss-state-guard: no pss-pool is configured on this node"), { code: "PoolUnavailable" });
        const p = payloadObject(msg.payload, false);
        // the message's event, when it names one, wins over the node's; it must be a PSS event name
        const raw: unknown = p.event !== undefined ? p.event : msg.event !== undefined ? msg.event : config.event;
        if (typeof raw !== "string" || !(EVENTS as readonly string[]).includes(raw)) {
          throw new InputError("UnknownEvent", `event ${raw === undefined || raw === "" ? "is missing" : `${JSON.stringify(raw)} is not a PSS event`}: one of ${EVENTS.join(", ")}`);
        }
        const serialNumbers = serialNumbersOf(p);
        return { event: raw, result: await pool.getBackend().checkEvent(raw, serialNumbers) };
      },
      ok: ({ event, result }, msg, send) => {
          const ok = result.allowed.length ? { ...msg, payload: { event, serialNumbers: result.allowed.map((a) => a.serialNumber), allowed: result.allowed } } : null;
          const ko = result.refused.length ? { ...msg, payload: { event, serialNumbers: result.refused.map((r) => r.serialNumber), refused: result.refused } } : null;
          send([ok, ko]);
          return {
            fill: result.refused.length ? "yellow" : "green",
            shape: "dot",
            text: RED._("pss-state-guard.status.counts", { ok: result.allowed.length.toLocaleString("en-US"), refused: result.refused.length.toLocaleString("en-US") }),
          };
      },
    });
  }
  RED.nodes.registerType("pss-state-guard", PssStateGuardNode as never);
}
