/* pss-pool: the config node that says where a pool lives. Local mode: a SQLite file (by default in the
   Node-RED user directory), one open store per file shared by every node that uses it. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { EventEmitter } from "events";
import type { NodeAPI, Node, NodeDef } from "../common/red";
import { acquireStore, releaseStore } from "../common/stores";
import { LocalPoolBackend } from "../common/local-backend";
import type { PoolBackend } from "../common/pool-backend";
import { openPoolStore, type AuditQuery, type AuditRecord, type SqlitePoolStore } from "../core/store";
import type { Dict } from "../common/args";

export interface PoolNodeDef extends NodeDef {
  mode?: "local" | "remote";
  dbFile?: string;
  poolId?: string;
  sidClass?: string;
  criteria?: Array<{ key: string; value: string }> | string;
  guardPolicy?: "strict" | "record";
  lowThreshold?: number | string;
  maxRequest?: number | string;
}

export interface LowPoolInfo {
  poolId: string;
  available: number;
  threshold: number;
}

export interface PoolConfigNode extends Node {
  poolId: string;
  /** the pool's SID class (pss-label builds identifiers with it) */
  sidClass?: string;
  /** the audit log of the pool's file, streamed over a connection of its own (a long export never holds up the
      pool's writers; WAL gives the reader a snapshot); throws PoolUnavailable when the pool has none here */
  auditRecords?(q?: AuditQuery): IterableIterator<AuditRecord>;
  /** the backend, or the reason the pool could not be opened */
  getBackend(): PoolBackend;
  events: EventEmitter;
}

export const DEFAULT_DB = path.join("serialflow", "serialflow.db");

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

function* readAudit(file: string, q: AuditQuery | undefined): Generator<AuditRecord> {
  const reader = openPoolStore(file);
  try {
    yield* reader.auditRecords(q);
  } finally {
    reader.close();
  }
}

export default function (RED: NodeAPI): void {
  function PssPoolNode(this: PoolConfigNode, config: PoolNodeDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    node.events = new EventEmitter();
    node.events.setMaxListeners(0); // one "low" listener per function node that uses this pool, however many
    node.poolId = (config.poolId || "POOL1").trim();
    let backend: PoolBackend | undefined;
    let failure: Error | undefined;
    let dbFile: string | undefined;
    let onLow: ((info: LowPoolInfo) => void) | undefined;
    let store: SqlitePoolStore | undefined;

    const userDir = (RED.settings as { userDir?: string }).userDir || path.join(os.homedir(), ".node-red");
    try {
      if ((config.mode ?? "local") !== "local") {
        throw new Error(`pool mode "${config.mode}" is not available in this version: use a local pool file`);
      }
      dbFile = path.resolve(userDir, config.dbFile && config.dbFile.trim() ? config.dbFile.trim() : DEFAULT_DB);
      fs.mkdirSync(path.dirname(dbFile), { recursive: true });
      store = acquireStore(dbFile);
      const criteria = { ...parseCriteria(config.criteria), PoolID: node.poolId };
      const maxRequest = intOr(config.maxRequest, 10000) || 10000;
      const existing = store.getPool(node.poolId);
      const sidClass = (config.sidClass || "GS1-SGTIN").trim();
      node.sidClass = sidClass;
      if (!existing) {
        store.createPool({
          poolId: node.poolId,
          sidClass,
          selectionCriteria: criteria,
          guardPolicy: config.guardPolicy === "record" ? "record" : "strict",
          lowThreshold: intOr(config.lowThreshold, 0),
          maxRequest,
        });
      } else if (existing.sidClass !== sidClass) {
        releaseStore(dbFile);
        dbFile = undefined;
        store = undefined;
        throw new Error(`pool ${node.poolId} already exists in this file with SID class ${existing.sidClass}, not ${sidClass}`);
      }
      backend = new LocalPoolBackend(store, node.poolId, criteria, maxRequest);
      onLow = (info: LowPoolInfo) => {
        if (info.poolId === node.poolId) node.events.emit("low", info);
      };
      store.on("low", onLow as never);
    } catch (err) {
      failure = err instanceof Error ? err : new Error(String(err));
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

    node.on("close", (_removed: boolean, done: () => void) => {
      try {
        if (dbFile && store) {
          if (onLow) store.off("low", onLow);
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
