/* pss-pool-admin: generate or import serial numbers into a pool, report its status, and say when the pool
   falls under its threshold (output 2) so a flow can replenish it before the line starves. */
import type { NodeAPI, Node, NodeDef, NodeMessageInFlow, SendFn, DoneFn } from "../common/red";
import { countArg, payloadObject } from "../common/args";
import { InputError } from "../common/errors";
import { onInput } from "../common/pipeline";
import { parseDuration } from "../core/store";
import type { LowPoolInfo, PoolConfigNode } from "../common/pool-config";

export interface AdminNodeDef extends NodeDef {
  pool: string;
  action?: "generate" | "import" | "status" | "reconcile";
  count?: number | string;
  /** reconcile: only numbers whose collection is at least this old ("30s", "15m", "2h"; empty: all) */
  olderThan?: string;
}

const ACTIONS = ["generate", "import", "status", "reconcile"] as const;
type Action = (typeof ACTIONS)[number];

export default function (RED: NodeAPI): void {
  function PssPoolAdminNode(this: Node, config: AdminNodeDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    const pool = RED.nodes.getNode(config.pool) as PoolConfigNode | null;
    const defaultCount = Number(config.count);
    /** the status says the pool is low: the next commit that leaves it above its threshold (a top-up) refreshes it */
    let showsLow = false;
    const showStatus = (st: { available: number; threshold: number }) => {
      showsLow = st.available < st.threshold;
      node.status({ fill: showsLow ? "yellow" : "green", shape: "dot", text: RED._(showsLow ? "pss-pool-admin.status.free-low" : "pss-pool-admin.status.free", { n: st.available.toLocaleString("en-US") }) });
    };
    const onLow = (info: LowPoolInfo) => {
      showsLow = true;
      node.status({ fill: "yellow", shape: "dot", text: `low: ${info.available} left` });
      node.send([null, { topic: "pool-low", payload: { poolId: info.poolId, available: info.available, threshold: info.threshold } }]);
    };
    const onLevel = (info: { low: boolean }) => {
      if (info.low || !showsLow || !pool) return;
      showsLow = false;
      Promise.resolve()
        .then(() => pool.getBackend().status())
        .then(showStatus, () => undefined);
    };
    const onFailure = (err: Error & { code?: string }) => node.status({ fill: "red", shape: "ring", text: err.code ?? "pool unavailable" });
    const onReady = () => node.status({});
    if (!pool) node.status({ fill: "red", shape: "ring", text: RED._("pss-pool-admin.status.no-pool") });
    else {
      pool.events.on("low", onLow);
      pool.events.on("level", onLevel);
      // a pool that opens in the background (PostgreSQL) says when it cannot be opened, and when it is open again
      pool.events.on("failure", onFailure);
      pool.events.on("ready", onReady);
      if (pool.failure) node.status({ fill: "red", shape: "ring", text: (pool.failure as Error & { code?: string }).code ?? "pool unavailable" });
    }

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
          const r = await backend.generate(count, actor, (n, total) =>
            node.status({ fill: "blue", shape: "ring", text: RED._("pss-pool-admin.status.generating", { n: n.toLocaleString("en-US"), total: total.toLocaleString("en-US") }) }),
          );
          return { action, poolId: pool.poolId, added: r.added, status: await backend.status() };
        }
        if (action === "import") {
          const data = p.data;
          const text = typeof data === "string" ? data : Buffer.isBuffer(data) ? data.toString("utf8") : undefined;
          if (text === undefined) throw new InputError("InvalidArgument", "msg.payload.data must hold the authority file's text (a string or a Buffer)");
          const r = await backend.importText(text, actor, (n, total) =>
            node.status({ fill: "blue", shape: "ring", text: RED._("pss-pool-admin.status.importing", { pct: Math.floor((100 * n) / total) }) }),
          );
          return { action, poolId: pool.poolId, added: r.added, status: await backend.status() };
        }
        if (action === "reconcile") {
          if (!backend.reconcile) throw Object.assign(new Error(`pss-pool-admin: reconcile works on a local pool only; pool ${pool.poolId} ${pool.mode === "postgres" ? "lives in PostgreSQL, where reconcile is not built yet" : "is remote (reconcile on its server)"}`), { code: "NotSupported" });
          if (p.apply !== undefined && typeof p.apply !== "boolean") throw new InputError("InvalidArgument", `msg.payload.apply must be true or false; it is ${JSON.stringify(p.apply)}`);
          const older = p.olderThan ?? (config.olderThan && config.olderThan.trim() ? config.olderThan.trim() : undefined);
          let olderThanMs = 0;
          if (older !== undefined) {
            if (typeof older !== "string") throw new InputError("InvalidArgument", `msg.payload.olderThan must be a duration such as "15m"; it is ${JSON.stringify(older)}`);
            try {
              olderThanMs = parseDuration(older);
            } catch (err) {
              throw new InputError("InvalidArgument", (err as Error).message);
            }
          }
          const { result, report } = await backend.reconcile({ olderThanMs, apply: p.apply === true }, actor);
          const stranded = result.groups.reduce((n, g) => n + g.serialNumbers.length, 0);
          if (result.applied && stranded) node.log(`pool ${pool.poolId}: reconciled ${stranded} stranded number(s): ${result.invalidated} invalidated, ${result.scrapped} scrapped`);
          return { action, poolId: pool.poolId, applied: result.applied, stranded, invalidated: result.invalidated, scrapped: result.scrapped, groups: result.groups, report, status: await backend.status() };
        }
        return { action, poolId: pool.poolId, status: await backend.status() };
      },
      ok: (result, msg, send) => {
        const st = result.status as { available: number; threshold: number };
        msg.payload = result;
        send([msg, null]);
        if (result.action === "reconcile") {
          const n = result.stranded as number;
          return { fill: n && !result.applied ? "yellow" : "green", shape: "dot", text: result.applied ? `reconciled: ${result.invalidated} invalidated, ${result.scrapped} scrapped` : `${n} stranded` };
        }
        showStatus(st);
      },
    });

    node.on("close", (_removed: boolean, done: () => void) => {
      if (pool) {
        pool.events.off("low", onLow);
        pool.events.off("level", onLevel);
        pool.events.off("failure", onFailure);
        pool.events.off("ready", onReady);
      }
      done();
    });
  }
  RED.nodes.registerType("pss-pool-admin", PssPoolAdminNode as never);
}
