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
  | "StoreClosed";

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
