/* One open store per SQLite file, shared by every pss-pool node that names that file in this process,
   closed when the last of them closes (redeploy, removal, shutdown). */
import * as path from "path";
import { openPoolStore, type SqlitePoolStore } from "../core/store";

interface Entry {
  store: SqlitePoolStore;
  refs: number;
}

const open = new Map<string, Entry>();

/** the longest synchronous wait of one try on a locked pool file in Node-RED (ms) */
export const NODE_BUSY_TIMEOUT_MS = 100;

export function acquireStore(file: string): SqlitePoolStore {
  const key = path.resolve(file);
  const hit = open.get(key);
  if (hit) {
    hit.refs++;
    return hit.store;
  }
  // a short busy wait: better-sqlite3 waits synchronously, so a locked file would freeze Node-RED; the backend
  // retries with setTimeout instead (retryBusy)
  const store = openPoolStore(key, { busyTimeoutMs: NODE_BUSY_TIMEOUT_MS });
  open.set(key, { store, refs: 1 });
  return store;
}

export function releaseStore(file: string): void {
  const key = path.resolve(file);
  const hit = open.get(key);
  if (!hit) return;
  hit.refs--;
  if (hit.refs <= 0) {
    open.delete(key);
    hit.store.close();
  }
}

/** Files open right now, for tests that check that redeploys leave no handle behind. */
export function openStoreFiles(): string[] {
  return [...open.keys()];
}
