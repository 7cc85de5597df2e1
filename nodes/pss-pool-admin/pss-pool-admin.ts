/* pss-pool-admin: generate or import serial numbers into a pool, report its status, and say when the pool
   falls under its threshold (output 2) so a flow can replenish it before the line starves. */
import type { NodeAPI, Node, NodeDef, NodeMessageInFlow, SendFn, DoneFn } from "../common/red";
import { countArg, payloadObject } from "../common/args";
import { InputError } from "../common/errors";
import { onInput } from "../common/pipeline";
import type { LowPoolInfo, PoolConfigNode } from "../pss-pool/pss-pool";

export interface AdminNodeDef extends NodeDef {
  pool: string;
  action?: "generate" | "import" | "status";
  count?: number | string;
}

const ACTIONS = ["generate", "import", "status"] as const;
type Action = (typeof ACTIONS)[number];

export default function (RED: NodeAPI): void {
  function PssPoolAdminNode(this: Node, config: AdminNodeDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    const pool = RED.nodes.getNode(config.pool) as PoolConfigNode | null;
    const defaultCount = Number(config.count);
    const onLow = (info: LowPoolInfo) => {
      node.status({ fill: "yellow", shape: "dot", text: `low: ${info.available} left` });
      node.send([null, { topic: "pool-low", payload: { poolId: info.poolId, available: info.available, threshold: info.threshold } }]);
    };
    if (!pool) node.status({ fill: "red", shape: "ring", text: RED._("pss-pool-admin.status.no-pool") });
    else pool.events.on("low", onLow);

    onInput(node, {
      what: "pss-pool-admin",
      run: async (msg): Promise<Record<string, unknown>> => {
        if (!pool) throw Object.assign(new Error("pss-pool-admin: no pss-pool is configured on this node"), { code: "PoolUnavailable" });
        const backend = pool.getBackend();
        const actor = `node-red:${node.id}`;
        const p = payloadObject(msg.payload, true);
        const action = (p.action ?? config.action ?? "status") as Action;
        if (!ACTIONS.includes(action)) throw new InputError("UnknownAction", `msg.payload.action must be one of ${ACTIONS.join(", ")}; it is ${JSON.stringify(action)}`);
        if (action === "generate") {
          const count = countArg(p, "count", Number.isInteger(defaultCount) && defaultCount > 0 ? defaultCount : undefined);
          const r = await backend.generate(count, actor);
          return { action, poolId: pool.poolId, added: r.added, status: await backend.status() };
        }
        if (action === "import") {
          const data = p.data;
          const text = typeof data === "string" ? data : Buffer.isBuffer(data) ? data.toString("utf8") : undefined;
          if (text === undefined) throw new InputError("InvalidArgument", "msg.payload.data must hold the authority file's text (a string or a Buffer)");
          const r = await backend.importText(text, actor);
          return { action, poolId: pool.poolId, added: r.added, status: await backend.status() };
        }
        return { action, poolId: pool.poolId, status: await backend.status() };
      },
      ok: (result, msg, send) => {
        const st = result.status as { available: number; threshold: number };
        const low = st.available < st.threshold;
        msg.payload = result;
        send([msg, null]);
        return { fill: low ? "yellow" : "green", shape: "dot", text: RED._(low ? "pss-pool-admin.status.free-low" : "pss-pool-admin.status.free", { n: st.available.toLocaleString("en-US") }) };
      },
    });

    node.on("close", (_removed: boolean, done: () => void) => {
      if (pool) pool.events.off("low", onLow);
      done();
    });
  }
  RED.nodes.registerType("pss-pool-admin", PssPoolAdminNode as never);
}
