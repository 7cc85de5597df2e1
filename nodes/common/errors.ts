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

/** A refusal as Node-RED shows it: a String (the debug sidebar prints a string as text, where an Error becomes a
    collapsed object), beginning with one sentence in plain words that fits the sidebar's 80-character line, then the
    core's full message when it says more (the Catch node reads the whole text in msg.error.message). Its own `code`
    and `cause` are copied by Node-RED into msg.error (cause: { code, details, serialNumbers }). Pass it to done(). */
export type Refusal = String & { code: string; cause: { code: string; details?: ErrorDetail[]; serialNumbers?: string[]; rule?: string } };

const short = (sn: string) => (sn.length > 20 ? `${sn.slice(0, 10)}…` : sn);

/** The sentence for an error, e.g. "LabelsEncodingEvent refused: 0pX0… is Encoded, it needs Allocated". */
export function plainWords(e: Error & { code: string; details?: unknown }, what: string): string {
  const verb = e.code === "InternalError" ? "failed" : "refused";
  const details = Array.isArray(e.details) ? (e.details as ErrorDetail[]).filter((d) => d && typeof d.serialNumber === "string") : [];
  if (details.length) {
    const d = details[0];
    const more = details.length > 1 ? ` (and ${details.length - 1} more)` : "";
    const why = String(d.reason ?? "").replace(/^[a-z_]+ from [A-Za-z]+: /, "");
    const needs = /needs a serial number in (.+)$/.exec(why);
    if (d.state) return `${what} ${verb}: ${short(d.serialNumber as string)}${more} is ${d.state}, ${needs ? `it needs ${needs[1]}` : why}`;
    return `${what} ${verb}: ${short(d.serialNumber as string)}${more}: ${why}`;
  }
  const own = e.message.startsWith(`${what}: `) ? e.message.slice(what.length + 2) : e.message;
  return `${what} ${verb}: ${own}`;
}

export function readableError(e: Error & { code: string; details?: unknown; rule?: unknown }, what: string): Refusal {
  const sentence = plainWords(e, what);
  const own = e.message.startsWith(`${what}: `) ? e.message.slice(what.length + 2) : e.message;
  const full = sentence.endsWith(own) ? sentence : `${sentence} — ${e.message}`;
  const r = new String(full) as Refusal;
  const details = Array.isArray(e.details) ? (e.details as ErrorDetail[]) : undefined;
  const prior = (e as { cause?: unknown }).cause;
  const cause: Refusal["cause"] = prior && typeof prior === "object" && !(prior instanceof Error) ? { ...(prior as Refusal["cause"]), code: e.code } : { code: e.code };
  if (details) {
    cause.details = details;
    cause.serialNumbers = details.map((d) => d.serialNumber).filter((s): s is string => typeof s === "string");
  }
  if (typeof e.rule === "string") cause.rule = e.rule;
  Object.defineProperty(r, "code", { value: e.code, enumerable: true });
  Object.defineProperty(r, "cause", { value: cause, enumerable: true });
  return r;
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
