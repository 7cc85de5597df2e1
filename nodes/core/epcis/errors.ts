/* The one error class of the EPCIS exporter: a code naming the rule broken, and the faults found. */

export type EpcisErrorCode =
  | "BadInput" // not an event or record of the expected shape
  | "UnknownEvent" // not one of the 16 PSS events
  | "UnresolvedIdentifier" // a serial number that cannot become an EPC or Digital Link URI
  | "MissingCompanyPrefixLength" // EPC URIs need the GS1 Company Prefix length
  | "MissingParent" // packing/unpacking without context.parent
  | "BadLocation" // readPoint/bizLocation/source/destination that is neither a GLN nor a URI
  | "BadTime" // eventTime that is not an ISO 8601 date-time
  | "BadExpiry" // expiry that is neither YYMMDD nor YYYY-MM-DD
  | "BadOption"
  | "PreflightFailed";

/** One finding of the pre-flight checks. */
export interface PreflightFault {
  /** the check that failed */
  check: "NotCommissioned" | "IncompleteHierarchy" | "CountMismatch" | "AlreadyPacked" | "NotInParent" | "MissingLotOrExpiry" | "EventAfterDestroyed" | "DuplicateCommissioning";
  message: string;
  /** the serial numbers concerned (serial part of an SGTIN, the SSCC, or the identifier itself) */
  serialNumbers: string[];
  /** the identifiers (URIs) concerned, as they appear in the document */
  identifiers: string[];
  /** index of the offending event in the sequence checked (0-based) */
  eventIndex: number;
}

export class EpcisError extends Error {
  readonly code: EpcisErrorCode;
  /** PreflightFailed: every fault found */
  readonly faults?: PreflightFault[];
  constructor(code: EpcisErrorCode, message: string, faults?: PreflightFault[]) {
    super(message);
    this.name = "EpcisError";
    this.code = code;
    if (faults && faults.length) this.faults = faults;
  }
}

/** "A, B, C and 7 more" for messages. */
export function listSome(items: readonly string[], first = 5): string {
  const shown = items.slice(0, first).join(", ");
  return items.length > first ? `${shown} and ${items.length - first} more` : shown;
}
