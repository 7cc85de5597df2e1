/* Shared set-up of the OPC UA node tests: flows with a pss-pool and a pss-opcua-server, PKI folders made once
   per run (certificate generation is slow), and pool files provisioned before the flow opens them. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { openPoolStore } from "../../nodes/core/store";
import { clientCertificate } from "../../nodes/core/opcua";

export const SID_CLASS = "GS1-SGTIN";

export const USERS = [
  { name: "admin", password: "admin-pw", roles: ["admin"] },
  { name: "line", password: "line-pw", roles: ["operator"] },
  { name: "reader", password: "reader-pw", roles: ["reader"] },
];

/** users rows for the node (no passwords) and the credentials that hold the passwords */
export function userConfig(users = USERS): { rows: Array<{ name: string; roles: string[]; slot: number }>; credentials: Record<string, string> } {
  const credentials: Record<string, string> = {};
  users.forEach((u, i) => (credentials[`password${i}`] = u.password));
  return { rows: users.map((u, i) => ({ name: u.name, roles: u.roles, slot: i })), credentials };
}

/** a pool file with pool `poolId` and `count` generated numbers, closed again */
export function provisionPool(file: string, poolId: string, count: number, extra: { maxRequest?: number; criteria?: Record<string, string> } = {}): void {
  const store = openPoolStore(file);
  try {
    store.createPool({ poolId, sidClass: SID_CLASS, selectionCriteria: { ...(extra.criteria ?? {}), PoolID: poolId }, maxRequest: extra.maxRequest ?? 10_000 });
    if (count > 0) store.provision(poolId, { generate: count });
  } finally {
    store.close();
  }
}

const pkis = new Map<string, Promise<string>>();

/** A PKI folder kept for the whole run (removed at exit); `client` ones hold a client certificate already. */
export function runPki(name: string, kind: "server" | "client"): Promise<string> {
  let p = pkis.get(name);
  if (!p) {
    p = (async () => {
      const folder = fs.mkdtempSync(path.join(os.tmpdir(), `serialflow-${name}-`));
      process.on("exit", () => fs.rmSync(folder, { recursive: true, force: true }));
      if (kind === "client") await clientCertificate(folder);
      return folder;
    })();
    pkis.set(name, p);
  }
  return p;
}

/** file descriptors open in this process */
export function openFds(): number {
  return fs.readdirSync("/proc/self/fd").length;
}
