/* The narrow interface the OPEN-SCS method handlers call (OpenScsBackend), and its implementation over the
   pool store contract (nodes/core/store). Typed structurally (StoreLike) so this layer depends only on the
   contract's names, not on the store's implementation. */
import type { LabelCollection } from "./codecs";
import { SqlitePoolStore, PssError, StoreError } from "../store";
import { aggregationFor } from "../aggregation";
import { importEpcisDocument } from "../epcis/importer";

export type Dict = Record<string, string>;
export type RequestTarget = "Unassigned" | "Unallocated" | "Allocated";
export type ReturnTarget = "Unallocated" | "Allocated";
export type PushTarget = "Unallocated" | "Allocated" | "Encoded";
/** The PSS events the event manager's methods report (store contract names). */
export type EventName =
  | "sn_invalidating" | "sn_encoding" | "label_inspecting" | "label_sampling" | "label_scrapping"
  | "commissioning" | "inspecting" | "shipping" | "decommissioning" | "destroying";

export interface SNCollectionOut {
  id: string;
  description: string;
  /** a SerialNumber state name (Unassigned, Unallocated, ...) */
  state: string;
  associatedPoolId: string;
  serialNumbers: string[];
}

export interface RequestResult {
  /** "NoError" or "InsufficientSerialNumbers" */
  returnStatus: string;
  snCollection: SNCollectionOut;
  returnedRequestToken: string;
}

export interface AggregationElementIn {
  parent: string;
  parentProperties: Dict;
  children: string[];
  childCollection: LabelCollection;
}

export interface SidClassInfo {
  sidClassId: string;
  sidClassOwner: string;
  syntaxSpecification: string;
  allowedCharacterSet: string;
  sidClassDescription?: string;
  intendedUse?: string;
}

/** What the server needs from a pool, whatever holds it. Business refusals throw an error whose `code` is a
    ReturnStatus name or a store guard code; the server turns them into ReturnStatus values. */
export interface OpenScsBackend {
  request(target: RequestTarget, args: { snCollectionId: string; count: number; snFormat: string; poolSelectionCriteria: Dict; requestToken: string; actor: string }): Promise<RequestResult>;
  returnSerialNumbers(target: ReturnTarget, args: { snCollection: { id: string; serialNumbers: string[] }; poolSelectionCriteria: Dict; snFormat: string; actor: string }): Promise<{ returnStatus: string }>;
  pushTo(target: PushTarget, args: { snCollection: { id: string; serialNumbers: string[] }; poolSelectionCriteria: Dict; snFormat: string; actor: string }): Promise<{ returnStatus: string }>;
  applyEvent(event: EventName, args: { serialNumbers: string[]; snFormat: string; labelCollection?: LabelCollection; context: Dict; actor: string }): Promise<{ returnStatus: string }>;
  aggregate(event: "packing" | "unpacking", args: { elements: AggregationElementIn[]; parentSnFormat: string; packedElementSnFormat: string; context: Dict; actor: string }): Promise<{ returnStatus: string }>;
  /** an EPCIS document uploaded through EPCISStream; resolves once it is accepted */
  acceptEpcis(document: Buffer, args: { options: Dict; actor: string }): Promise<{ returnStatus: string }>;
  /** the pools exposed: their selection criteria and SID classes (fills the managers' properties) */
  describe(): { pools: Array<{ poolId: string; sidClass: string; selectionCriteria: Dict; maxRequest?: number }> };
}

/** The part of the store contract this adapter uses (names as in PoolStore, nodes/core/store/index.ts). */
export interface StoreLike {
  listPools(): Array<{ poolId: string; sidClass: string; selectionCriteria?: Dict; maxRequest?: number }>;
  request(target: RequestTarget, args: { poolSelectionCriteria?: Dict; snCollectionId?: string; count: number; snFormat?: string; requestToken?: string; actor?: string; context?: Dict }): {
    returnStatus: string;
    snCollection: { id: string; description: string; state: string; associatedPoolId: string; serialNumbers: string[] };
    returnedRequestToken: string;
  };
  returnSerialNumbers(target: ReturnTarget, args: { snCollection: { id: string; serialNumbers: string[] }; poolSelectionCriteria?: Dict; snFormat?: string; actor?: string; context?: Dict }): { returnStatus: string };
  pushTo(target: PushTarget, args: { snCollection: { id: string; serialNumbers: string[] }; poolSelectionCriteria?: Dict; snFormat?: string; actor?: string; context?: Dict }): { returnStatus: string };
  applyEvent(event: string, args: {
    serialNumbers: string[]; snFormat?: string; context?: Dict; actor?: string; poolId?: string;
    labelCollection?: { id?: string; description?: string; properties?: Dict; labels?: Array<{ id: string; properties?: Dict }> };
  }): { returnStatus: string; applied: number; anomalies: number };
  /** The SerialFlow pool file behind a view of it (aggregation and the EPCIS inbox need the file itself), with the
   *  pools the view may touch (undefined: all). A SqlitePoolStore is its own file. */
  poolFile?(): { store: SqlitePoolStore; pools?: readonly string[] };
}

const toDict = (kvs: Array<{ key: string; value: string }> | undefined): Dict => {
  const d: Dict = {};
  for (const kv of kvs ?? []) d[kv.key] = kv.value;
  return d;
};

/** The store's view of a LabelCollection (its label and collection properties as plain objects). */
export function labelCollectionForStore(lc: LabelCollection): { id?: string; description?: string; properties?: Dict; labels: Array<{ id: string; properties?: Dict }> } {
  return {
    id: lc.id || undefined,
    description: lc.description || undefined,
    properties: lc.labelCollectionProperties ? toDict(lc.labelCollectionProperties) : undefined,
    labels: lc.labelCollection.map((l) => ({ id: l.id, properties: toDict(l.labelProperties) })),
  };
}

/**
 * The storage faults the server tells apart (faultStatus in server/status.ts) carry the store contract's StoreError
 * codes, whatever the engine. The store gives them for what fails inside its transactions; a SQLite error met
 * outside one (a read) is translated here: the file locked (SQLITE_BUSY, SQLITE_LOCKED, "database is locked") is
 * PoolBusy, the disk full (SQLITE_FULL, SQLITE_IOERR_WRITE, "database or disk is full") DiskFull, with the SQLite
 * message and code kept; anything else is returned as it is.
 */
export function storageFault(err: unknown): unknown {
  if (err instanceof StoreError || err instanceof PssError) return err;
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === "string" ? e.code : "";
  const message = typeof e?.message === "string" ? e.message : "";
  if (/^SQLITE_(FULL|IOERR_WRITE)/.test(code) || /database or disk is full/i.test(message)) return new StoreError("DiskFull", message || code, code || undefined);
  if (/^SQLITE_(BUSY|LOCKED)/.test(code) || /database is locked/i.test(message)) return new StoreError("PoolBusy", message || code, code || undefined);
  return err;
}

/** Runs one backend call; a SQLite error it meets comes out as the store contract's StoreError (storageFault). */
export async function storageCall<T>(call: () => T | Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw storageFault(err);
  }
}

const EPCIS_INBOX_SCHEMA = `CREATE TABLE IF NOT EXISTS epcis_inbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  time TEXT NOT NULL,
  actor TEXT NOT NULL,
  options TEXT NOT NULL,
  document BLOB NOT NULL
)`;

/** OpenScsBackend over a local pool store: each call is one store transaction (a savepoint of a group commit when the
 *  pool file is known: concurrent OPC UA calls share durable commits); a storage fault is a StoreError. */
export class StoreBackend implements OpenScsBackend {
  /** the pool file behind the store (the store itself, or the file a view of some of its pools stands for) */
  private readonly file: { store: SqlitePoolStore; pools?: readonly string[] } | undefined;

  constructor(private readonly store: StoreLike) {
    this.file = store instanceof SqlitePoolStore ? { store } : store.poolFile?.();
    // the hierarchy tables exist from the start, so a refused first aggregation call leaves the file as it was
    if (this.file) {
      aggregationFor(this.file.store);
      this.file.store.db.exec(EPCIS_INBOX_SCHEMA);
    }
  }

  /** The EPCIS documents accepted through EPCISStream (CloseAndCommit), oldest first. They wait in the pool file
   *  (table epcis_inbox), and their events are applied to the pool (see importEpcisDocument). */
  epcisInbox(): Array<{ id: number; document: Buffer; options: Dict; actor: string; time: string }> {
    if (!this.file) return [];
    const rows = this.file.store.db.prepare("SELECT id, time, actor, options, document FROM epcis_inbox ORDER BY id").all() as Array<{ id: number; time: string; actor: string; options: string; document: Buffer }>;
    return rows.map((r) => ({ id: r.id, time: r.time, actor: r.actor, options: JSON.parse(r.options) as Dict, document: r.document }));
  }

  /** Refuses serial numbers of a pool the view does not expose (numbers unknown to the file are left to the rules). */
  private exposedOnly(values: readonly string[], method: string): void {
    const f = this.file;
    if (!f?.pools) return;
    const bad: Array<{ serialNumber: string; reason: string }> = [];
    for (const v of values) {
      const info = f.store.getSerialNumber(v);
      if (info && !f.pools.includes(info.poolId)) bad.push({ serialNumber: v, reason: "not in an exposed pool" });
    }
    if (bad.length) throw new PssError("UnknownSerialNumber", `${method}: ${bad.map((b) => b.serialNumber).slice(0, 3).join(", ")}${bad.length > 3 ? ` and ${bad.length - 3} more` : ""} not in an exposed pool`, bad);
  }

  /** A PSS call: group-committed with the concurrent calls on the same pool file (SqlitePoolStore.grouped), answered
   *  once durable; without a pool file behind the store, one call at a time. */
  private pss<T>(call: () => T): Promise<T> {
    const f = this.file;
    return storageCall(() => (f ? f.store.grouped(call) : call()));
  }

  request(target: RequestTarget, a: { snCollectionId: string; count: number; snFormat: string; poolSelectionCriteria: Dict; requestToken: string; actor: string }): Promise<RequestResult> {
    return this.pss(() => {
      const r = this.store.request(target, {
        poolSelectionCriteria: a.poolSelectionCriteria,
        snCollectionId: a.snCollectionId || undefined,
        count: a.count,
        snFormat: a.snFormat,
        requestToken: a.requestToken || undefined,
        actor: a.actor,
      });
      return { returnStatus: r.returnStatus, snCollection: r.snCollection, returnedRequestToken: r.returnedRequestToken ?? "" };
    });
  }

  returnSerialNumbers(target: ReturnTarget, a: { snCollection: { id: string; serialNumbers: string[] }; poolSelectionCriteria: Dict; snFormat: string; actor: string }): Promise<{ returnStatus: string }> {
    return this.pss(() => ({ returnStatus: this.store.returnSerialNumbers(target, a).returnStatus }));
  }

  pushTo(target: PushTarget, a: { snCollection: { id: string; serialNumbers: string[] }; poolSelectionCriteria: Dict; snFormat: string; actor: string }): Promise<{ returnStatus: string }> {
    return this.pss(() => ({ returnStatus: this.store.pushTo(target, a).returnStatus }));
  }

  applyEvent(event: EventName, a: { serialNumbers: string[]; snFormat: string; labelCollection?: LabelCollection; context: Dict; actor: string }): Promise<{ returnStatus: string }> {
    return this.pss(() => {
      const r = this.store.applyEvent(event, {
        serialNumbers: a.serialNumbers,
        snFormat: a.snFormat,
        labelCollection: a.labelCollection ? labelCollectionForStore(a.labelCollection) : undefined,
        context: a.context,
        actor: a.actor,
      });
      return { returnStatus: r.returnStatus };
    });
  }

  aggregate(event: "packing" | "unpacking", a: { elements: AggregationElementIn[]; parentSnFormat: string; packedElementSnFormat: string; context: Dict; actor: string }): Promise<{ returnStatus: string }> {
    return storageCall(() => {
      // the aggregation core checks every rule (commissioned, not packed elsewhere, no cycle, ...) and writes the
      // hierarchy with one audit record per parent, all in one transaction
      const elements = a.elements.map((e) => ({ parent: e.parent, children: e.children, properties: e.parentProperties }));
      if (!this.file) {
        throw Object.assign(new Error("aggregation needs the SerialFlow SQLite pool store, which keeps the hierarchy"), { code: "AggregationUnavailable" });
      }
      this.exposedOnly(elements.flatMap((e) => [e.parent, ...e.children]), event === "packing" ? "AggregationPackingEvent" : "AggregationUnpackingEvent");
      const agg = aggregationFor(this.file.store);
      const r = event === "packing" ? agg.pack(elements, { actor: a.actor, context: a.context }) : agg.unpackMany(elements, { actor: a.actor, context: a.context });
      return { returnStatus: r.returnStatus };
    });
  }

  acceptEpcis(document: Buffer, a: { options: Dict; actor: string }): Promise<{ returnStatus: string }> {
    return storageCall(() => {
      // durable before NoError goes back: an acknowledged document survives a restart, so a store with no pool file
      // behind it refuses the document rather than hold it in memory
      if (!this.file) throw Object.assign(new Error("EPCIS documents need a SerialFlow pool file to be kept and applied"), { code: "EpcisUnavailable" });
      const time = new Date().toISOString();
      const { store, pools } = this.file;
      const db = store.db;
      // kept and applied in one transaction: a refused document (EpcisError InvalidDocument / ImportRefused,
      // problems per event) is neither kept nor applied; eventContext PoolID / SSCCPoolID / unsupported steer the import
      const poolId = a.options["context.PoolID"] || (pools ? pools[0] : store.selectPool(undefined).poolId);
      const ssccPool = a.options["context.SSCCPoolID"];
      for (const p of [poolId, ssccPool]) {
        if (p && pools && !pools.includes(p)) throw new PssError("InvalidSelectionCriteria", `EPCISStream: pool ${p} is not exposed by this server`);
      }
      store.transaction(() => {
        const r = importEpcisDocument(store, document, { poolId, ...(ssccPool ? { logisticPoolId: ssccPool } : {}), unsupported: a.options["context.unsupported"] === "skip" ? "skip" : "refuse", actor: a.actor });
        // a document received again (every event applied before) changes nothing, not even the inbox
        if (r.duplicates < r.events) db.prepare("INSERT INTO epcis_inbox (time, actor, options, document) VALUES (?, ?, ?, ?)").run(time, a.actor, JSON.stringify(a.options), document);
      }, { actor: a.actor });
      return { returnStatus: "NoError" };
    });
  }

  describe(): { pools: Array<{ poolId: string; sidClass: string; selectionCriteria: Dict; maxRequest?: number }> } {
    return { pools: this.store.listPools().map((p) => ({ poolId: p.poolId, sidClass: p.sidClass, selectionCriteria: p.selectionCriteria ?? {}, maxRequest: p.maxRequest })) };
  }
}
