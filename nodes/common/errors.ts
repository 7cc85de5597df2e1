/* Errors that a Catch node receives: Node-RED copies `code` (own property) into msg.error.code. */

export interface ErrorDetail {
  serialNumber?: string;
  field?: string;
  state?: string;
  reason: string;
}

/** Bad input in a message: the node refuses it before touching the store. */
export class InputError extends Error {
  readonly code: string;
  readonly details?: ErrorDetail[];
  constructor(code: string, message: string, details?: ErrorDetail[]) {
    super(message);
    this.name = "InputError";
    this.code = code;
    if (details) this.details = details;
  }
}

/** Any thrown value as an Error with an own `code`, so Catch nodes can branch on msg.error.code. */
export function asNodeError(err: unknown): Error & { code: string } {
  if (err instanceof Error) {
    const e = err as Error & { code?: unknown };
    if (typeof e.code !== "string" || !Object.prototype.hasOwnProperty.call(e, "code")) {
      Object.defineProperty(e, "code", { value: typeof e.code === "string" ? e.code : "InternalError", enumerable: true, writable: true });
    }
    // Node-RED copies an own `cause` into msg.error.cause: the Catch node sees which numbers and why
    const details = (e as { details?: unknown }).details;
    if (Array.isArray(details) && !Object.prototype.hasOwnProperty.call(e, "cause")) {
      Object.defineProperty(e, "cause", { value: { code: (e as { code: string }).code, details }, enumerable: false, writable: true });
    }
    return e as Error & { code: string };
  }
  const e = new Error(String(err)) as Error & { code: string };
  e.code = "InternalError";
  return e;
}

/** A short status text for an error: its code, as an operator sees it on the node. */
export function statusText(err: Error & { code?: string }): string {
  return (err.code ?? "error").slice(0, 32);
}

/** A storage failure (StoreError: PoolBusy, DiskFull, StorageError), not a refusal: always logged, even when a Catch
    node handles it (Node-RED logs only the errors no Catch node takes). */
export function logIfStorageError(node: { error(text: string): void }, err: Error & { code?: string }): void {
  if (err.name === "StoreError") node.error(`${err.code}: ${err.message}`);
}
