/* The editor's "Serialization" sidebar tab: a Node-RED plugin (package.json node-red.plugins) whose editor half
   (pss-sidebar.html) shows each pool's counts by state and its last audit events, read from the admin endpoint
   registered here. The endpoint needs the "pss-pool.read" permission (a read-only editor user has it through
   the "read" scope; anonymous access follows adminAuth). */
import type { NodeAPI } from "../common/red";
import type { PoolConfigNode } from "../common/pool-config";
import type { PoolStatus, RecentEvent } from "../common/pool-backend";

export const SIDEBAR_PATH = "/serialflow/pools";
export const SIDEBAR_PERMISSION = "pss-pool.read";

export interface PoolView {
  /** the pss-pool config node's id and name */
  id: string;
  name: string;
  poolId: string;
  status?: PoolStatus;
  events?: RecentEvent[];
  /** the pool could not be read (not opened, remote server down); the message says why */
  error?: string;
}

interface PoolDef {
  id: string;
  type: string;
  name?: string;
  poolId?: string;
}

/** Every deployed pool with its counts and last `limit` events; one failing pool does not hide the others. */
export async function poolViews(RED: NodeAPI, limit: number): Promise<PoolView[]> {
  const defs: PoolDef[] = [];
  RED.nodes.eachNode((n) => {
    if ((n as PoolDef).type === "pss-pool") defs.push(n as PoolDef);
  });
  const out: PoolView[] = [];
  for (const d of defs) {
    const view: PoolView = { id: d.id, name: d.name ?? "", poolId: (d.poolId ?? "").trim() };
    try {
      const pool = RED.nodes.getNode(d.id) as PoolConfigNode | null;
      if (!pool || typeof pool.getBackend !== "function") throw new Error("the pool is not deployed");
      const backend = pool.getBackend();
      view.poolId = pool.poolId;
      view.status = await backend.status();
      view.events = backend.recentEvents ? await backend.recentEvents(limit) : [];
    } catch (err) {
      view.error = (err as Error).message ?? String(err);
    }
    out.push(view);
  }
  out.sort((a, b) => a.poolId.localeCompare(b.poolId) || a.id.localeCompare(b.id));
  return out;
}

/** GET /serialflow/pools?events=N (N from 0 to 100, default 10). */
export function registerSidebarApi(RED: NodeAPI): void {
  RED.httpAdmin.get(SIDEBAR_PATH, RED.auth.needsPermission(SIDEBAR_PERMISSION), (req, res) => {
    const raw = req.query.events;
    const n = raw === undefined ? 10 : Number(raw);
    if (!Number.isInteger(n) || n < 0 || n > 100) {
      res.status(400).json({ error: "InvalidArgument", message: "events must be a whole number from 0 to 100" });
      return;
    }
    poolViews(RED, Math.max(n, 1)).then(
      (pools) => res.json({ pools: n === 0 ? pools.map(({ events: _e, ...p }) => p) : pools }),
      (err: Error) => res.status(500).json({ error: "InternalError", message: err.message }),
    );
  });
}

export default function (RED: NodeAPI): void {
  (RED as unknown as { plugins: { registerPlugin(id: string, def: Record<string, unknown>): void } }).plugins.registerPlugin("serialflow-sidebar", { type: "serialflow-sidebar" });
  registerSidebarApi(RED);
}
