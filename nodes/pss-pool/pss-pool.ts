/* pss-pool: the config node that says where a pool lives. Local mode: a SQLite file (by default in the
   Node-RED user directory), one open store per file shared by every node that uses it. Remote mode: a pool
   on another OPEN-SCS server, reached over OPC UA (RemotePoolBackend); the function nodes cannot tell. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { EventEmitter } from "events";
import type { NodeAPI, NodeDef } from "../common/red";
import { acquireStore, releaseStore } from "../common/stores";
import { LocalPoolBackend } from "../common/local-backend";
import { RemotePoolBackend } from "../common/remote-backend";
import type { PoolBackend } from "../common/pool-backend";
import type { LowPoolInfo, PoolConfigNode } from "../common/pool-config";
import { openPoolStore, CUSTOM_SID_CLASS, type AuditQuery, type AuditRecord, type SerialRule, type SqlitePoolStore } from "../core/store";
import type { Dict } from "../common/args";

export interface PoolNodeDef extends NodeDef {
  mode?: "local" | "remote";
  dbFile?: string;
  poolId?: string;
  sidClass?: string;
  /** SID class "custom" only: a regular expression the whole serial number matches */
  serialPattern?: string;
  /** SID class "custom" only: "12" or "8-20" */
  serialLength?: string | number;
  criteria?: Array<{ key: string; value: string }> | string;
  guardPolicy?: "strict" | "record";
  lowThreshold?: number | string;
  maxRequest?: number | string;
  /** remote mode: the OPEN-SCS server, e.g. opc.tcp://site-server:4840 */
  endpointUrl?: string;
  securityMode?: "SignAndEncrypt" | "Sign" | "None";
  securityPolicy?: "Basic256Sha256" | "Aes128_Sha256_RsaOaep" | "Aes256_Sha256_RsaPss";
  /** remote mode: the client's PKI folder (relative to the user directory) */
  pkiFolder?: string;
  /** remote mode: a file with the server's certificate (DER or PEM) to trust */
  serverCertificate?: string;
  /** remote mode, development only: trust any server certificate */
  autoAcceptServerCertificate?: boolean;
  /** local mode: how long a call retries (asynchronously) while another process holds the file locked; default 10 s */
  busyWaitMs?: number | string;
}

export const DEFAULT_DB = path.join("serialflow", "serialflow.db");
/** the client PKI of remote pools, in the Node-RED user directory */
export const DEFAULT_CLIENT_PKI = path.join("serialflow", "opcua-client-pki");

export function parseCriteria(raw: PoolNodeDef["criteria"]): Dict {
  const out: Dict = {};
  let list: unknown = raw;
  if (typeof raw === "string") {
    if (raw.trim() === "") return out;
    list = JSON.parse(raw);
  }
  if (Array.isArray(list)) {
    for (const kv of list) {
      if (kv && typeof kv.key === "string" && kv.key && typeof kv.value === "string") out[kv.key] = kv.value;
    }
  } else if (list && typeof list === "object") {
    for (const [k, v] of Object.entries(list as Record<string, unknown>)) if (typeof v === "string") out[k] = v;
  }
  return out;
}

function intOr(v: unknown, fallback: number): number {
  const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN;
  return Number.isInteger(n) && n >= 0 ? n : fallback;
}

/** A custom pool's serial rule from the node's pattern and length ("12" or "8-20"); undefined for a known class. */
export function serialRuleOf(config: Pick<PoolNodeDef, "sidClass" | "serialPattern" | "serialLength">, sidClass: string): SerialRule | undefined {
  if (sidClass.toLowerCase() !== CUSTOM_SID_CLASS) return undefined;
  const pattern = (config.serialPattern ?? "").trim();
  const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(String(config.serialLength ?? ""));
  if (!pattern || !m) throw new Error(`a custom SID class needs its own serial pattern (a regular expression) and length (e.g. 12 or 8-20); got pattern ${JSON.stringify(pattern)}, length ${JSON.stringify(config.serialLength ?? "")}`);
  return { pattern, minLength: Number(m[1]), maxLength: Number(m[2] ?? m[1]) };
}

function* readAudit(file: string, q: AuditQuery | undefined): Generator<AuditRecord> {
  const reader = openPoolStore(file);
  try {
    yield* reader.auditRecords(q);
  } finally {
    reader.close();
  }
}

/** The backend of a remote pool: endpoint, security and trust from the node, user and password from its credentials. */
function remoteBackend(config: PoolNodeDef, userDir: string, credentials: { user?: string; password?: string }): RemotePoolBackend {
  const endpointUrl = (config.endpointUrl ?? "").trim();
  if (!/^opc\.tcp:\/\/[^/\s]+/.test(endpointUrl)) throw new Error(`the remote pool needs an OPC UA endpoint URL such as opc.tcp://127.0.0.1:4840, not ${JSON.stringify(endpointUrl)}`);
  const pkiFolder = path.resolve(userDir, config.pkiFolder && config.pkiFolder.trim() ? config.pkiFolder.trim() : DEFAULT_CLIENT_PKI);
  let trustServerCertificate: Buffer | undefined;
  if (config.serverCertificate && config.serverCertificate.trim()) {
    const file = path.resolve(userDir, config.serverCertificate.trim());
    const raw = fs.readFileSync(file);
    const pem = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(raw.toString("latin1"));
    trustServerCertificate = pem ? Buffer.from(pem[1].replace(/\s+/g, ""), "base64") : raw;
  }
  const mode = config.securityMode ?? "SignAndEncrypt";
  const user = credentials.user && credentials.user.trim() ? credentials.user.trim() : undefined;
  const criteria = parseCriteria(config.criteria);
  const poolId = (config.poolId ?? "").trim();
  if (poolId) criteria.PoolID = poolId;
  return new RemotePoolBackend({
    endpointUrl,
    user,
    password: user === undefined ? undefined : credentials.password ?? "",
    security: { mode, policy: mode === "None" ? undefined : config.securityPolicy ?? "Basic256Sha256" },
    pkiFolder,
    trustServerCertificate,
    autoAcceptServerCertificate: config.autoAcceptServerCertificate === true,
    poolSelectionCriteria: criteria,
    label: poolId || endpointUrl,
    fallbackPage: intOr(config.maxRequest, 10000) || 10000,
    applicationName: "SerialFlow remote pool",
  });
}

export default function (RED: NodeAPI): void {
  function PssPoolNode(this: PoolConfigNode, config: PoolNodeDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    node.events = new EventEmitter();
    node.events.setMaxListeners(0); // one "low" listener per function node that uses this pool, however many
    // a remote pool may be selected by criteria alone; a local one always has an id
    node.poolId = (config.poolId ?? "").trim() || (config.mode === "remote" ? "" : "POOL1");
    let backend: PoolBackend | undefined;
    let failure: Error | undefined;
    let dbFile: string | undefined;
    let onLow: ((info: LowPoolInfo) => void) | undefined;
    let onLevel: ((info: LowPoolInfo & { low: boolean }) => void) | undefined;
    let store: SqlitePoolStore | undefined;

    const userDir = (RED.settings as { userDir?: string }).userDir || path.join(os.homedir(), ".node-red");
    node.mode = config.mode === "remote" ? "remote" : "local";
    let remote: RemotePoolBackend | undefined;
    try {
      if (config.mode !== undefined && config.mode !== "local" && config.mode !== "remote") {
        throw new Error(`pool mode "${config.mode}" is unknown: use "local" (a SQLite file) or "remote" (an OPEN-SCS server)`);
      }
      if (node.mode === "remote") {
        remote = remoteBackend(config, userDir, (node as unknown as { credentials?: { user?: string; password?: string } }).credentials ?? {});
        backend = remote;
        // connect at once, so the status shows a wrong address or password before the first message
        remote.connect().then(
          () => node.status({ fill: "green", shape: "dot", text: `connected: ${config.endpointUrl}` }),
          (err: Error & { code?: string }) => {
            node.status({ fill: "red", shape: "ring", text: err.code ?? "not connected" });
            node.warn(`pool ${node.poolId || config.endpointUrl}: ${err.message} (the next call tries again)`);
          },
        );
      } else {
        dbFile = path.resolve(userDir, config.dbFile && config.dbFile.trim() ? config.dbFile.trim() : DEFAULT_DB);
        fs.mkdirSync(path.dirname(dbFile), { recursive: true });
        store = acquireStore(dbFile);
        const criteria = { ...parseCriteria(config.criteria), PoolID: node.poolId };
        const maxRequest = intOr(config.maxRequest, 10000) || 10000;
        const existing = store.getPool(node.poolId);
        const sidClass = (config.sidClass || "GS1-SGTIN").trim();
        node.sidClass = sidClass;
        const settings = {
          selectionCriteria: criteria,
          guardPolicy: config.guardPolicy === "record" ? "record" as const : "strict" as const,
          lowThreshold: intOr(config.lowThreshold, 0),
          maxRequest,
        };
        try {
          const serialRule = serialRuleOf(config, sidClass);
          if (!existing) store.createPool({ poolId: node.poolId, sidClass, serialRule, ...settings });
          else {
            // the node's settings are the pool's: a redeploy that changes them is an audited pool update
            const r = store.updatePool(node.poolId, { sidClass, serialRule, ...settings }, { actor: `node-red:${node.id}` });
            if (r.changed.length) node.log(`pool ${node.poolId}: updated ${r.changed.join(", ")} (audited)`);
          }
        } catch (err) {
          releaseStore(dbFile);
          dbFile = undefined;
          store = undefined;
          throw err;
        }
        backend = new LocalPoolBackend(store, node.poolId, criteria, maxRequest, intOr(config.busyWaitMs, 10_000));
        node.local = { dbFile, poolId: node.poolId, sidClass, criteria, maxRequest };
        onLow = (info: LowPoolInfo) => {
          if (info.poolId === node.poolId) node.events.emit("low", info);
        };
        store.on("low", onLow as never);
        // after every commit on the pool, low or not: nodes that show "pool low" clear it after a top-up
        onLevel = (info: LowPoolInfo & { low: boolean }) => {
          if (info.poolId === node.poolId) node.events.emit("level", info);
        };
        store.on("level", onLevel as never);
      }
    } catch (err) {
      failure = err instanceof Error ? err : new Error(String(err));
      node.status({ fill: "red", shape: "ring", text: (failure as Error & { code?: string }).code ?? "refused" });
      node.failure = failure;
      node.error(`pool ${node.poolId}: ${failure.message}`);
    }

    node.getBackend = () => {
      if (backend) return backend;
      const e = new Error(`pool ${node.poolId} is not available: ${failure?.message ?? "not configured"}`) as Error & { code: string };
      e.code = "PoolUnavailable";
      throw e;
    };

    node.auditRecords = (q?: AuditQuery) => {
      if (store && dbFile) return readAudit(dbFile, q);
      const e = new Error(`pool ${node.poolId} has no audit log here: ${failure?.message ?? "not configured"}`) as Error & { code: string };
      e.code = "PoolUnavailable";
      throw e;
    };

    node.labelCollectionProperties = (id: string) => (store ? store.labelCollectionProperties(id) : undefined);

    node.gtinsByPool = () => {
      const out: Record<string, string> = {};
      if (!store) return out;
      for (const p of store.listPools()) {
        const g = ["GTIN", "gtin", "01"].map((k) => p.selectionCriteria[k]).find((v) => typeof v === "string" && v !== "");
        if (g !== undefined) out[p.poolId] = g;
      }
      return out;
    };

    node.on("close", (_removed: boolean, done: () => void) => {
      if (remote) {
        // the session closes before the next deploy's pool connects
        const r = remote;
        remote = undefined;
        backend = undefined;
        node.events.removeAllListeners();
        r.close().then(() => done(), () => done());
        return;
      }
      try {
        if (dbFile && store) {
          if (onLow) store.off("low", onLow);
          if (onLevel) store.off("level", onLevel);
          releaseStore(dbFile);
        }
      } finally {
        store = undefined;
        node.events.removeAllListeners();
        backend = undefined;
        done();
      }
    });
  }

  RED.nodes.registerType("pss-pool", PssPoolNode as never, {
    credentials: { user: { type: "text" }, password: { type: "password" } },
  } as never);
}
