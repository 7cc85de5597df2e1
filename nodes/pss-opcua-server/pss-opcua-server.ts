/* pss-opcua-server: an OPEN-SCS OPC UA server (OPC 30260) over the pss-pool nodes it exposes, so printers,
   line controllers, site systems and other SerialFlow instances call the pools with any OPC UA client.
   A redeploy shuts the server fully down (sessions, port, certificate watchers) before the next one starts. */
import * as os from "os";
import * as path from "path";
import type { NodeAPI, Node, NodeDef } from "../common/red";
import { acquireStore, releaseStore } from "../common/stores";
import { ExposedPoolsBackend, type ExposedPool } from "../common/exposed-backend";
import { createOpenScsServer, ROLES, sessionLimits, type OpenScsServer, type OpenScsUser, type Role, type SecurityModeName, type SecurityPolicyName, type OpenScsLimits, type OpenScsSessionLimits } from "../core/opcua";
import type { PoolConfigNode } from "../common/pool-config";

/** Users are rows of the node; each row's password is the credential password<slot>. */
export const MAX_USERS = 8;
export const DEFAULT_SERVER_PKI = path.join("serialflow", "opcua-server-pki");

export interface ServerUserRow {
  name: string;
  roles: Role[] | string;
  /** which credential holds the password: password0 ... password7 */
  slot: number | string;
}

export interface OpcUaServerNodeDef extends NodeDef {
  port?: number | string;
  host?: string;
  /** ids of the pss-pool config nodes exposed, the first one answering calls without selection criteria */
  pools?: string[] | string;
  modes?: SecurityModeName[];
  policies?: SecurityPolicyName[];
  /** the user rows (name, roles, password slot); not "users", which the editor reserves on every node */
  accounts?: ServerUserRow[];
  allowAnonymous?: boolean;
  anonymousRole?: Role;
  autoAcceptUnknownCertificates?: boolean;
  pkiFolder?: string;
  maxSNRequestable?: number | string;
  maxSNReturnable?: number | string;
  maxSNPushable?: number | string;
  maxEvents?: number | string;
  maxAggregationEvents?: number | string;
  /** sessions open at once (empty: 100) */
  maxSessions?: number | string;
  /** the longest session timeout a client may ask for, in seconds (empty: 300) */
  maxSessionTimeout?: number | string;
  /** TCP connections at once (empty: 150, or sessions + 50) */
  maxConnections?: number | string;
  /** seconds a new connection has to open its secure channel (empty: 10) */
  handshakeTimeout?: number | string;
}

export interface OpcUaServerNode extends Node {
  /** resolves with the running server, or undefined when it could not start (the reason is in the log) */
  started: Promise<OpenScsServer | undefined>;
}

const SECURITY_MODES: SecurityModeName[] = ["SignAndEncrypt", "Sign", "None"];
const SECURITY_POLICIES: SecurityPolicyName[] = ["Basic256Sha256", "Aes128_Sha256_RsaOaep", "Aes256_Sha256_RsaPss"];
const LIMIT_KEYS = ["maxSNRequestable", "maxSNReturnable", "maxSNPushable", "maxEvents", "maxAggregationEvents"] as const;

function list<T extends string>(v: unknown, allowed: readonly T[], fallback: T[], what: string): T[] {
  const items = v === undefined || v === null || v === "" ? [] : Array.isArray(v) ? v : String(v).split(",");
  const out = items.map((x) => String(x).trim()).filter((x) => x !== "");
  for (const x of out) if (!(allowed as readonly string[]).includes(x)) throw new Error(`${what} "${x}" is unknown (one of ${allowed.join(", ")})`);
  return out.length ? (out as T[]) : fallback;
}

/** The server's users: names and roles from the node, passwords from its credentials. */
export function serverUsers(rows: ServerUserRow[] | undefined, credentials: Record<string, string | undefined>): OpenScsUser[] {
  const seen = new Set<string>();
  return (rows ?? []).map((row, i) => {
    const name = typeof row?.name === "string" ? row.name.trim() : "";
    if (!name) throw new Error(`user ${i + 1} has no name`);
    if (seen.has(name)) throw new Error(`user ${name} is listed twice`);
    seen.add(name);
    const slot = Number(row.slot);
    if (!Number.isInteger(slot) || slot < 0 || slot >= MAX_USERS) throw new Error(`user ${name}: password slot ${JSON.stringify(row.slot)} is not 0 to ${MAX_USERS - 1}`);
    const password = credentials[`password${slot}`];
    if (!password) throw new Error(`user ${name} has no password: set one in the node's user list`);
    const roles = list<Role>(row.roles, ROLES, [], `user ${name}: role`);
    if (!roles.length) throw new Error(`user ${name} has no role (one of ${ROLES.join(", ")})`);
    return { name, password, roles };
  });
}

function port(v: unknown): number {
  const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : 4840;
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`port must be a whole number from 0 to 65535 (0: any free port), not ${JSON.stringify(v)}`);
  return n;
}

function limits(config: OpcUaServerNodeDef): Partial<OpenScsLimits> {
  const out: Partial<OpenScsLimits> = {};
  for (const k of LIMIT_KEYS) {
    const v = config[k];
    if (v === undefined || v === null || v === "") continue;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > 0xffffffff) throw new Error(`${k} must be a whole number from 1 to 4294967295, not ${JSON.stringify(v)}`);
    out[k] = n;
  }
  return out;
}

/** The session limits of the node's config (timeouts in seconds there, in ms for the server); checked here so a
    bad value stops the start with a clear message. */
export function nodeSessionLimits(config: OpcUaServerNodeDef): OpenScsSessionLimits {
  const out: Partial<OpenScsSessionLimits> = {};
  const fields: Array<[keyof OpenScsSessionLimits, string, number]> = [
    ["maxSessions", "Sessions", 1], ["maxSessionTimeout", "Session timeout ceiling (s)", 1000], ["maxConnections", "Connections", 1], ["handshakeTimeout", "Handshake time (s)", 1000],
  ];
  for (const [k, label, scale] of fields) {
    const v = config[k];
    if (v === undefined || v === null || (typeof v === "string" && v.trim() === "")) continue;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${label} must be a whole number of at least 1, not ${JSON.stringify(v)}`);
    out[k] = n * scale;
  }
  try {
    return sessionLimits(out);
  } catch (err) {
    throw new Error(`session limits: ${(err as Error).message.replace(/(maxSessionTimeout|handshakeTimeout)( must be a whole number from )(\d+) to (\d+)/, (_m, k: string, t: string, lo: string, hi: string) => `${k} (s)${t}${Number(lo) / 1000} to ${Number(hi) / 1000}`)}`);
  }
}

export default function (RED: NodeAPI): void {
  function PssOpcUaServerNode(this: OpcUaServerNode, config: OpcUaServerNodeDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    const credentials = ((node as unknown as { credentials?: Record<string, string> }).credentials ?? {});
    const userDir = (RED.settings as { userDir?: string }).userDir || path.join(os.homedir(), ".node-red");
    // the stores stay open while the server runs, whatever the pool nodes do on a redeploy
    const held: string[] = [];
    let closing = false;

    const start = async (): Promise<OpenScsServer> => {
      if (closing) throw new Error("closed before it started");
      const ids = typeof config.pools === "string" ? config.pools.split(",").map((s) => s.trim()).filter(Boolean) : config.pools ?? [];
      if (!ids.length) throw new Error("no pool is exposed: add at least one pss-pool");
      const exposed: ExposedPool[] = [];
      for (const id of ids) {
        const pool = RED.nodes.getNode(id) as PoolConfigNode | null;
        if (!pool) throw new Error(`pss-pool ${id} does not exist in this flow`);
        if (pool.mode === "remote") throw new Error(`pool ${pool.poolId || id} is remote: only local pools can be exposed`);
        if (pool.mode === "postgres") throw new Error(`pool ${pool.poolId || id} lives in PostgreSQL: only local (SQLite) pools can be exposed over OPC UA for now`);
        const local = pool.local;
        if (!local) throw new Error(`pool ${pool.poolId || id} is not available (see its error)`);
        if (exposed.some((p) => p.poolId === local.poolId && p.dbFile === local.dbFile)) continue;
        const store = acquireStore(local.dbFile);
        held.push(local.dbFile);
        exposed.push({ store, dbFile: local.dbFile, poolId: local.poolId, sidClass: local.sidClass, criteria: local.criteria, maxRequest: local.maxRequest });
      }
      const modes = list<SecurityModeName>(config.modes, SECURITY_MODES, ["SignAndEncrypt"], "security mode");
      const policies = list<SecurityPolicyName>(config.policies, SECURITY_POLICIES, ["Basic256Sha256", "Aes128_Sha256_RsaOaep"], "security policy");
      const anonymousRole = config.anonymousRole ?? "admin";
      if (!ROLES.includes(anonymousRole)) throw new Error(`anonymous role "${anonymousRole}" is unknown (one of ${ROLES.join(", ")})`);
      const users = serverUsers(config.accounts, credentials);
      if (!users.length && config.allowAnonymous !== true) throw new Error("nobody could call the server: add a user, or allow anonymous access (development only)");
      const server = await createOpenScsServer({
        backend: new ExposedPoolsBackend(exposed),
        port: port(config.port),
        host: config.host && config.host.trim() ? config.host.trim() : "127.0.0.1",
        pkiFolder: path.resolve(userDir, config.pkiFolder && config.pkiFolder.trim() ? config.pkiFolder.trim() : DEFAULT_SERVER_PKI),
        security: { modes, policies },
        users,
        allowAnonymous: config.allowAnonymous === true,
        anonymousRoles: [anonymousRole],
        autoAcceptUnknownCertificates: config.autoAcceptUnknownCertificates === true,
        limits: limits(config),
        sessionLimits: nodeSessionLimits(config),
        log: (m: string) => node.warn(m),
      });
      if (config.allowAnonymous === true) node.warn(`anonymous access is on (role ${anonymousRole}): for development only`);
      if (config.autoAcceptUnknownCertificates === true) node.warn("every client certificate is accepted (auto-accept): for development only");
      return server;
    };

    const release = () => {
      for (const f of held.splice(0)) releaseStore(f);
    };

    node.status({ fill: "grey", shape: "ring", text: "starting" });
    // started on the next turn of the event loop: loading the address space takes a few hundred ms of CPU,
    // which should not hold up the start of the rest of the flow
    node.started = new Promise<void>((resolve) => setImmediate(resolve)).then(start).then(
      (server) => {
        if (!closing) node.status({ fill: "green", shape: "dot", text: server.endpointUrl });
        return server;
      },
      (err: Error) => {
        release();
        if (closing) return undefined;
        node.status({ fill: "red", shape: "ring", text: (err as Error & { code?: string }).code ?? "not started" });
        node.error(`OPEN-SCS server not started: ${err.message}`);
        return undefined;
      },
    );

    node.on("close", (_removed: boolean, done: () => void) => {
      closing = true;
      // shutdown resolves when the port is free: the next deploy's server can bind it
      node.started
        .then((server) => server?.shutdown())
        .catch((err: Error) => node.warn(`OPEN-SCS server shutdown: ${err.message}`))
        .then(() => {
          release();
          node.status({});
          done();
        });
    });
  }

  const credentials: Record<string, { type: "password" }> = {};
  for (let i = 0; i < MAX_USERS; i++) credentials[`password${i}`] = { type: "password" };
  RED.nodes.registerType("pss-opcua-server", PssOpcUaServerNode as never, { credentials } as never);
}
