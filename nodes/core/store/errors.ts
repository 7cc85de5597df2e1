/* The one error class of the store: a business refusal or bad input, with a code naming the rule broken. */

export interface PssErrorDetail {
  serialNumber: string;
  state?: string;
  reason: string;
}

/** Codes that are not ReturnStatus names: guard and input rules of the store. */
export type StoreErrorCode =
  | "TransitionForbidden"
  | "UnknownSerialNumber"
  | "DuplicateInBatch"
  | "DuplicateSerialNumber"
  | "InvalidCount"
  | "UnknownPool"
  | "PoolExists"
  | "InvalidPool"
  | "InvalidSerialNumber"
  | "InvalidEvent"
  | "InvalidContext"
  | "InvalidImportFile"
  | "TokenExpired"
  | "WrongCollection"
  | "StoreClosed"
  | "NotAPoolFile"
  | "InvalidArgument"
  | "CopyRefused"
  | "CopyConflict";

export class PssError extends Error {
  /** a ReturnStatus name (business refusal) or a StoreErrorCode */
  readonly code: string;
  /** per serial number: which ones, in which state, and why */
  readonly details?: PssErrorDetail[];
  /** a finer rule under `code`, e.g. "TokenExpired" under InvalidRequestToken */
  readonly rule?: string;

  constructor(code: string, message: string, details?: PssErrorDetail[], rule?: string) {
    super(message);
    this.name = "PssError";
    this.code = code;
    if (details && details.length) this.details = details;
    if (rule) this.rule = rule;
  }
}

/** "A, B, C and 7 more": the first few items of a list for a message. */
export function listSome(items: readonly string[], first = 5): string {
  const shown = items.slice(0, first).map((s) => JSON.stringify(s)).join(", ");
  return items.length > first ? `${shown} and ${items.length - first} more` : shown;
}

/** Codes of StoreError: the storage failed, no PSS rule was broken. ConnectionLost, SchemaTooNew,
 *  AuthenticationFailed and TlsFailed come from the PostgreSQL engine (nodes/core/store/pg): the database connection
 *  broke during a call (or the server cannot be reached), the database's schema was migrated by a newer SerialFlow
 *  than this one, the server refused the user or password, or the TLS connection could not be set up (the server
 *  has no TLS, or its certificate is not trusted). The last two are settings to fix, not to retry. */
export type StorageErrorCode = "PoolBusy" | "DiskFull" | "StorageError" | "ConnectionLost" | "SchemaTooNew" | "AuthenticationFailed" | "TlsFailed";

/**
 * A failure of the storage under the pool (file locked by another process, disk full, I/O error, corrupt file),
 * never a business refusal: OPC UA answers it with a Bad_ status, a node with done(err) and this code. Nothing was
 * changed (the transaction rolled back).
 */
export class StoreError extends Error {
  readonly code: StorageErrorCode;
  /** the SQLite result code behind it (SQLITE_BUSY, SQLITE_FULL, SQLITE_IOERR_WRITE, ...) */
  readonly sqliteCode?: string;
  /** the PostgreSQL SQLSTATE or the socket error code behind it (57P01, 08006, ECONNREFUSED, ...) */
  readonly pgCode?: string;
  /** PostgreSQL: the connection broke while COMMIT was under way, so the call may have committed (nothing is half
   *  written either way: the transaction committed whole or not at all) */
  readonly inDoubt?: boolean;

  constructor(code: StorageErrorCode, message: string, sqliteCode?: string, pg?: { pgCode?: string; inDoubt?: boolean }) {
    super(message);
    this.name = "StoreError";
    this.code = code;
    if (sqliteCode) this.sqliteCode = sqliteCode;
    if (pg?.pgCode) this.pgCode = pg.pgCode;
    if (pg?.inDoubt) this.inDoubt = true;
  }
}

/** A SQLite error as a StoreError (PoolBusy, DiskFull or StorageError); anything else is returned as it is. */
export function asStoreError(err: unknown, file: string): unknown {
  if (err instanceof StoreError || err instanceof PssError) return err;
  const code = (err as { code?: unknown })?.code;
  if (typeof code !== "string" || !code.startsWith("SQLITE_")) return err;
  const msg = (err as Error).message;
  if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")) {
    return new StoreError("PoolBusy", `the pool file ${file} is locked by another connection or process (${code}); nothing was changed, try again`, code);
  }
  if (code === "SQLITE_FULL") return new StoreError("DiskFull", `the pool file ${file} cannot grow: the disk (or the file's size limit) is full (${code}: ${msg}); nothing was changed`, code);
  return new StoreError("StorageError", `the pool file ${file} failed: ${code}: ${msg}; nothing was changed`, code);
}

/**
 * Runs `fn` (one store call: one transaction, rolled back when it fails) and, while the file is locked by another
 * process, tries again after a growing pause (setTimeout: the event loop keeps running) until `maxWaitMs` have passed;
 * then fails with PoolBusy. Open the store with a short busyTimeoutMs, so that each try blocks only that long.
 */
export async function retryBusy<T>(fn: () => T, options: { file: string; maxWaitMs?: number }): Promise<T> {
  const max = options.maxWaitMs ?? 10_000;
  const start = Date.now();
  let delay = 10;
  for (;;) {
    try {
      return fn();
    } catch (raw) {
      const err = asStoreError(raw, options.file);
      if (!(err instanceof StoreError && err.code === "PoolBusy")) throw err;
      const waited = Date.now() - start;
      if (waited >= max) throw new StoreError("PoolBusy", `${err.message} (still locked after ${(waited / 1000).toFixed(1)} s of retries)`, err.sqliteCode);
      await new Promise((r) => setTimeout(r, Math.min(delay, max - waited)));
      delay = Math.min(delay * 2, 250);
    }
  }
}
