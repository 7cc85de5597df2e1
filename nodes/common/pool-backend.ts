/* What a PSS function node needs from a pool, whatever the pool is: a local SQLite store, or a remote
   OPEN-SCS server reached over OPC UA. Asynchronous so that both fit; the function nodes see only this. */
import type { Dict } from "./args";
import type { BatchReport, ReconcileResult, CollectionArgs as StoreCollectionArgs, EventArgs as StoreEventArgs, LabelCollectionIn, PushTarget, RequestTarget, ReturnTarget } from "../core/store";

export type { RequestTarget, PushTarget, ReturnTarget } from "../core/store";

export interface SNCollectionOut {
  id: string;
  description: string;
  state: string;
  associatedPoolId: string;
  serialNumbers: string[];
}

export interface RequestArgs {
  count: number;
  snCollectionId?: string;
  snFormat?: string;
  poolSelectionCriteria?: Dict;
  requestToken?: string;
  context?: Dict;
}

export interface RequestResult {
  returnStatus: string;
  snCollection: SNCollectionOut;
  returnedRequestToken: string;
}

/** The store's argument shapes; the actor travels separately, as the third argument of every backend call. */
export type CollectionArgs = Omit<StoreCollectionArgs, "actor">;
export type { LabelCollectionIn };
export type EventArgs = Omit<StoreEventArgs, "actor" | "poolId">;

export interface AggregationElementIn {
  parent: string;
  parentProperties?: Dict;
  children: string[];
  childCollection?: LabelCollectionIn;
}

export interface AggregationArgs {
  elements: AggregationElementIn[];
  parentSnFormat?: string;
  packedElementSnFormat?: string;
  context?: Dict;
}

export interface GuardResult {
  allowed: Array<{ serialNumber: string; state: string; to?: string }>;
  refused: Array<{ serialNumber: string; state?: string; reason: string }>;
}

export interface PoolStatus {
  poolId: string;
  counts: Record<string, number>;
  available: number;
  threshold: number;
}

/** One audit record as the sidebar shows it: at most a few of its serial numbers, and how many it holds. */
export interface RecentEvent {
  seq: number;
  time: string;
  actor: string;
  event: string;
  fromState?: string;
  toState?: string;
  method?: string;
  anomaly: boolean;
  count: number;
  serialNumbers: string[];
}

export interface PoolBackend {
  /** the largest page one request may return (MaxSNRequestable for a remote pool) */
  readonly maxPage: number;
  request(target: RequestTarget, args: RequestArgs, actor: string): Promise<RequestResult>;
  returnSerialNumbers(target: ReturnTarget, args: CollectionArgs, actor: string): Promise<{ returnStatus: string }>;
  pushTo(target: PushTarget, args: CollectionArgs, actor: string): Promise<{ returnStatus: string }>;
  applyEvent(event: string, args: EventArgs, actor: string): Promise<{ returnStatus: string; applied: number; anomalies: number }>;
  aggregate(event: "packing" | "unpacking", args: AggregationArgs, actor: string): Promise<{ returnStatus: string }>;
  checkEvent(event: string, serialNumbers: string[]): Promise<GuardResult>;
  status(): Promise<PoolStatus>;
  /** the newest audit records of this pool, newest first (the editor's Serialization sidebar); optional */
  recentEvents?(limit: number): Promise<RecentEvent[]>;
  /** the properties stored with each serial number (an authority's crypto tail 91/92, ...); optional; unknown numbers
      are left out */
  serialProperties?(serialNumbers: string[]): Promise<Record<string, Record<string, string>>>;
  /** pool administration (pss-pool-admin): generate numbers with the pool's SID class generator */
  generate(count: number, actor: string, onProgress?: (done: number, total: number) => void): Promise<{ added: number }>;
  /** pool administration: load an authority file (one code per line) for the pool's SID class */
  importText(text: string, actor: string, onProgress?: (done: number, total: number) => void): Promise<{ added: number }>;
  /** pool administration: stranded numbers (Allocated/Encoded) listed, and settled when `apply`, with the batch
      report; optional (a local pool only) */
  reconcile?(options: { olderThanMs?: number; apply: boolean }, actor: string): Promise<{ result: ReconcileResult; report: BatchReport }>;
}
