/* What a pss-pool config node offers the nodes that name it. The pss-pool node (nodes/pss-pool) implements it;
   every other node and nodes/common see only this interface, so no node folder imports another's. */
import type { EventEmitter } from "events";
import type { Node } from "./red";
import type { Dict } from "./args";
import type { PoolBackend } from "./pool-backend";
import type { AuditQuery, AuditRecord } from "../core/store";

/** What a pss-opcua-server node needs to expose a local pool. */
export interface LocalPoolInfo {
  dbFile: string;
  poolId: string;
  sidClass: string;
  criteria: Dict;
  maxRequest: number;
}

/** The payload of the pool node's "low" and "level" events. */
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
  /** the stored properties of a label collection (lot, expiry, ...) by id: pss-epcis finds a commissioning's lot/expiry there */
  labelCollectionProperties?(id: string): Record<string, string> | undefined;
  /** the GTIN of each pool of the pool's file, from its stored selection criteria (GTIN/gtin/01): pss-epcis gives a
      bare serial its own pool's GTIN (units, and serialized cases of a case-GTIN pool) */
  gtinsByPool?(): Record<string, string>;
  mode: "local" | "remote" | "postgres";
  /** local mode: where the pool lives (undefined in remote mode or when the pool could not be opened) */
  local?: LocalPoolInfo;
  /** the backend, or the reason the pool could not be opened */
  getBackend(): PoolBackend;
  /** why the pool could not be opened (a file that is not a pool file, a locked file, ...), shown red by its users */
  failure?: Error;
  /** "low" and "level" (LowPoolInfo); a pool that opens in the background (postgres mode) also emits "failure"
   *  (the Error, also in `failure`) when it cannot be opened, and "ready" once it is open (again) */
  events: EventEmitter;
}
