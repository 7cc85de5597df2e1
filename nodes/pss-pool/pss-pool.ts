/* pss-pool: the config node that says where a pool lives. Local mode: a SQLite file (by default in the
   Node-RED user directory), one open store per file shared by every node that uses it. Remote mode: a pool
   on another OPEN-SCS server, reached over OPC UA (RemotePoolBackend). PostgreSQL mode: a pool in a schema of a
   PostgreSQL database that many Node-RED instances share (PgPoolBackend over the PostgreSQL engine); the function
   nodes cannot tell. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { EventEmitter } from "events";
import type { NodeAPI, NodeDef } from "../common/red";
import { acquireStore, releaseStore } from "../common/stores";
import { LocalPoolBackend } from "../common/local-backend";
import { RemotePoolBackend } from "../common/remote-backend";
import { PgPoolBackend } from "../common/pg-backend";
import type { PoolBackend } from "../common/pool-backend";
import type { LowPoolInfo, PoolConfigNode } from "../common/pool-config";
import { openPoolStore, CUSTOM_SID_CLASS, PssError, type AuditQuery, type AuditRecord, type Pool, type SerialRule, type SqlitePoolStore } from "../core/store";
import { PgPoolEngine, redactUrl, type PgEngineOptions, type PgPoolDef } from "../core/store/pg";
import type { Dict } from "../common/args";

export interface PoolNodeDef extends NodeDef {
  mode?: "local" | "remote" | "postgres";
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
  /** postgres mode: postgres://user@host:port/database, without a password (that is a credential) */
  pgUrl?: string;
  /** postgres mode: the schema that holds the pool tables; default "serialflow" */
  pgSchema?: string;
  /** postgres mode: connect over TLS, the server's certificate checked */
  pgTls?: boolean;
  /** postgres mode, with TLS: a file (PEM) of the CA that signed the server's certificate, relative to the user
   *  directory; empty: the system's CAs */
  pgCaFile?: string;
}

export const DEFAULT_DB = path.join("serialflow", "serialflow.db");
export const DEFAULT_PG_SCHEMA = "serialflow";
/** postgres mode: connections one pool node keeps to the server at most (Node-RED instances x pools add up) */
export const PG_MAX_CONNECTIONS = 5;
/** postgres mode: how long opening a connection may take before the call fails (ConnectionLost) */
export const PG_CONNECT_TIMEOUT_MS = 10_000;
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

/** The engine settings of a PostgreSQL pool: URL (no password in it), schema, TLS from the node, the password from
 *  its credentials. Throws a message an operator can act on. */
export function pgOptions(config: PoolNodeDef, userDir: string, credentials: { password?: string }): PgEngineOptions {
  const url = (config.pgUrl ?? "").trim();
  const example = "postgres://serialflow@127.0.0.1:5432/pools";
  if (!/^postgres(ql)?:\/\/\S+$/.test(url)) throw new Error(`the PostgreSQL pool needs a URL such as ${example}, not ${JSON.stringify(redactUrl(url))}`);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`the PostgreSQL URL ${JSON.stringify(redactUrl(url))} is not a URL: write it as ${example}`);
  }
  if (u.password !== "") {
    throw new Error("the PostgreSQL URL holds a password: remove it from the URL (the flow file would keep it in clear text) and type it in the node's Password field, which Node-RED keeps with its credentials");
  }
  if (u.hostname === "") throw new Error(`the PostgreSQL URL names no server: write it as ${example}`);
  const schema = (config.pgSchema ?? "").trim() || DEFAULT_PG_SCHEMA;
  let ssl: PgEngineOptions["ssl"];
  if (config.pgTls === true) {
    const caFile = (config.pgCaFile ?? "").trim();
    if (caFile) {
      const file = path.resolve(userDir, caFile);
      let ca: string;
      try {
        ca = fs.readFileSync(file, "utf8");
      } catch (err) {
        throw new Error(`cannot read the CA file ${file} for the PostgreSQL TLS connection: ${(err as Error).message}`);
      }
      if (!/-----BEGIN CERTIFICATE-----/.test(ca)) throw new Error(`the CA file ${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
      ssl = { rejectUnauthorized: true, ca };
    } else {
      ssl = { rejectUnauthorized: true };
    }
  }
  const password = typeof credentials.password === "string" && credentials.password !== "" ? credentials.password : undefined;
  return {
    connectionString: url,
    schema,
    ...(password !== undefined ? { password } : {}),
    ...(ssl ? { ssl } : {}),
    pool: { max: PG_MAX_CONNECTIONS, connectionTimeoutMillis: PG_CONNECT_TIMEOUT_MS, application_name: "serialflow-node-red" },
    migrate: true,
  };
}

/** How a stored PostgreSQL pool differs from the settings of the node ([] when it does not). */
export function pgPoolDifferences(stored: Pool, def: PgPoolDef): string[] {
  const out: string[] = [];
  const q = (v: unknown) => JSON.stringify(v);
  if (stored.sidClass.toLowerCase() !== def.sidClass.toLowerCase()) out.push(`SID class ${stored.sidClass} (node: ${def.sidClass})`);
  const rule = (r: SerialRule | undefined) => (r ? `${r.pattern} ${r.minLength}-${r.maxLength}` : "none");
  if (rule(stored.serialRule) !== rule(def.serialRule)) out.push(`serial rule ${rule(stored.serialRule)} (node: ${rule(def.serialRule)})`);
  if (stored.guardPolicy !== (def.guardPolicy ?? "strict")) out.push(`state guard ${stored.guardPolicy} (node: ${def.guardPolicy ?? "strict"})`);
  if (stored.lowThreshold !== (def.lowThreshold ?? 0)) out.push(`low threshold ${stored.lowThreshold} (node: ${def.lowThreshold ?? 0})`);
  if (stored.maxRequest !== (def.maxRequest ?? 10_000)) out.push(`max per request ${stored.maxRequest} (node: ${def.maxRequest ?? 10_000})`);
  // PoolID selects the pool by its id whether or not its criteria hold it (a pool made with the command-line tool)
  const mine = { ...(def.selectionCriteria ?? {}) };
  if (stored.selectionCriteria.PoolID === undefined && mine.PoolID === stored.poolId) delete mine.PoolID;
  const canon = (c: Record<string, string>) => q(Object.keys(c).sort().map((k) => [k, c[k]]));
  if (canon(stored.selectionCriteria) !== canon(mine)) out.push(`selection criteria ${canon(stored.selectionCriteria)} (node: ${canon(mine)})`);
  return out;
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
    node.mode = config.mode === "remote" ? "remote" : config.mode === "postgres" ? "postgres" : "local";
    let remote: RemotePoolBackend | undefined;
    /** postgres mode: closes the engine (and its pool-low listener); set once the mode is set up */
    let closePg: (() => Promise<void>) | undefined;
    /**
     * postgres mode: the engine is opened (migrations applied) and the pool created when the schema lacks it, in the
     * background; until then calls wait for it. A failure (server unreachable, wrong password, a pool with other
     * settings) becomes `failure`, shown red by the pool's users (event "failure"), and every call fails with it;
     * the next call tries to open again, and a success clears the failure (event "ready").
     */
    function postgresMode(cfg: PoolNodeDef, dir: string): { backend: PgPoolBackend; close: () => Promise<void> } {
      const options = pgOptions(cfg, dir, (node as unknown as { credentials?: { password?: string } }).credentials ?? {});
      const criteria = { ...parseCriteria(cfg.criteria), PoolID: node.poolId };
      const maxRequest = intOr(cfg.maxRequest, 10000) || 10000;
      const sidClass = (cfg.sidClass || "GS1-SGTIN").trim();
      node.sidClass = sidClass;
      const def: PgPoolDef = {
        poolId: node.poolId,
        sidClass,
        serialRule: serialRuleOf(cfg, sidClass),
        selectionCriteria: criteria,
        guardPolicy: cfg.guardPolicy === "record" ? "record" : "strict",
        lowThreshold: intOr(cfg.lowThreshold, 0),
        maxRequest,
      };
      const where = `${redactUrl(options.connectionString as string)} schema ${JSON.stringify(options.schema)}`;
      const actor = `node-red:${node.id}`;
      let engine: PgPoolEngine | undefined;
      let opening: Promise<PgPoolEngine> | undefined;
      let stopLow: (() => Promise<void>) | undefined;
      let closed = false;
      let lastMessage = "";

      const ensurePool = async (e: PgPoolEngine): Promise<void> => {
        for (let attempt = 0; ; attempt++) {
          const stored = (await e.pools()).find((p) => p.poolId === def.poolId);
          if (stored) {
            const diff = pgPoolDifferences(stored, def);
            if (diff.length) {
              throw new PssError("PoolSettingsDiffer", `pool ${def.poolId} in ${where} has other settings than this node: ${diff.join("; ")}. The pool is shared and the PostgreSQL engine cannot change a pool's settings yet: set this node to the pool's settings; nothing was changed`);
            }
            return;
          }
          try {
            await e.createPool(def, { actor });
            node.log(`pool ${def.poolId}: created in ${where} (audited)`);
            return;
          } catch (err) {
            // another Node-RED instance created it meanwhile: compare with its settings
            if (!(err instanceof PssError && err.code === "PoolExists") || attempt > 0) throw err;
          }
        }
      };

      const fail = (err: unknown): Error => {
        const e = (err instanceof Error ? err : new Error(String(err))) as Error & { code?: string };
        if (!e.message.startsWith(`pool ${node.poolId}`)) e.message = `pool ${node.poolId} (PostgreSQL ${where}): ${e.message}`;
        if (typeof e.code !== "string") Object.assign(e, { code: "PoolUnavailable" });
        failure = e;
        node.failure = e;
        node.status({ fill: "red", shape: "ring", text: e.code ?? "not connected" });
        if (e.message !== lastMessage) node.error(e.message);
        lastMessage = e.message;
        node.events.emit("failure", e);
        return e;
      };

      const open = (): Promise<PgPoolEngine> => {
        if (engine) return Promise.resolve(engine);
        if (closed) return Promise.reject(Object.assign(new Error(`pool ${node.poolId} is closed (redeployed or removed)`), { code: "PoolUnavailable" }));
        opening ??= (async () => {
          const e = await PgPoolEngine.open(options);
          try {
            await ensurePool(e);
            stopLow = await e.onPoolLow((info) => {
              if (info.pool !== node.poolId) return;
              const low: LowPoolInfo = { poolId: info.pool, available: info.free, threshold: info.threshold };
              node.events.emit("low", low);
              node.events.emit("level", { ...low, low: true });
            }, { onError: (err) => node.warn(`pool ${node.poolId}: ${err.message} (pool-low notifications resume when it reconnects)`) });
            if (closed) throw Object.assign(new Error(`pool ${node.poolId} was closed while it opened`), { code: "PoolUnavailable" });
          } catch (err) {
            await e.close().catch(() => undefined);
            throw err;
          }
          engine = e;
          if (failure) node.log(`pool ${node.poolId}: connected to ${where} again`);
          failure = undefined;
          node.failure = undefined;
          lastMessage = "";
          node.status({ fill: "green", shape: "dot", text: `${node.poolId} @ PostgreSQL` });
          node.events.emit("ready");
          return e;
        })().catch((err) => {
          opening = undefined;
          throw closed ? err : fail(err);
        });
        return opening;
      };

      /** after a call that can raise the free count: "level" (and "low" while still under the threshold) */
      const freed = () => {
        const e = engine;
        if (!e || !(def.lowThreshold! > 0)) return;
        e.available(def.poolId).then((available) => {
          const info: LowPoolInfo = { poolId: def.poolId, available, threshold: def.lowThreshold! };
          const low = available < info.threshold;
          if (low) node.events.emit("low", info);
          node.events.emit("level", { ...info, low });
        }, () => undefined);
      };

      node.status({ fill: "yellow", shape: "ring", text: "connecting" });
      // open at once, so that a wrong address or password shows before the first message
      open().catch(() => undefined);
      const b = new PgPoolBackend(open, { poolId: node.poolId, criteria, maxPage: maxRequest, onFreed: freed });
      return {
        backend: b,
        close: async () => {
          closed = true;
          const pending = opening;
          if (pending) await pending.catch(() => undefined);
          const e = engine;
          engine = undefined;
          const s = stopLow;
          stopLow = undefined;
          if (s) await s().catch(() => undefined);
          if (e) await e.close().catch(() => undefined);
        },
      };
    }

    try {
      if (config.mode !== undefined && config.mode !== "local" && config.mode !== "remote" && config.mode !== "postgres") {
        throw new Error(`pool mode "${config.mode}" is unknown: use "local" (a SQLite file), "remote" (an OPEN-SCS server) or "postgres" (a PostgreSQL database)`);
      }
      if (node.mode === "postgres") {
        const pg = postgresMode(config, userDir);
        backend = pg.backend;
        closePg = pg.close;
      } else if (node.mode === "remote") {
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
      const why = node.mode === "postgres" ? "it lives in PostgreSQL, whose audit log the EPCIS export does not read yet (use a local pool, or serialflow audit verify --pg)" : failure?.message ?? "not configured";
      const e = new Error(`pool ${node.poolId} has no audit log here: ${why}`) as Error & { code: string };
      e.code = "PoolUnavailable";
      throw e;
    };

    node.labelCollectionProperties = (id: string) => (store ? store.labelCollectionProperties(id) : undefined);

    node.gtinsByPool = () => {
      const out: Record<string, string> = {};
      if (node.mode === "postgres") {
        // its own pool only: the schema's other pools belong to other lines
        const c = parseCriteria(config.criteria);
        const g = ["GTIN", "gtin", "01"].map((k) => c[k]).find((v) => typeof v === "string" && v !== "");
        if (g !== undefined) out[node.poolId] = g;
        return out;
      }
      if (!store) return out;
      for (const p of store.listPools()) {
        const g = ["GTIN", "gtin", "01"].map((k) => p.selectionCriteria[k]).find((v) => typeof v === "string" && v !== "");
        if (g !== undefined) out[p.poolId] = g;
      }
      return out;
    };

    node.on("close", (_removed: boolean, done: () => void) => {
      if (closePg) {
        // the engine's connections close before the next deploy's pool opens its own
        const c = closePg;
        closePg = undefined;
        backend = undefined;
        node.events.removeAllListeners();
        c().then(() => done(), () => done());
        return;
      }
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
