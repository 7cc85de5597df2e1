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
  | "PreflightFailed"
  | "InvalidDocument" // a received EPCIS document that does not pass the reader's checks (problems lists them)
  | "ImportRefused"; // a received document whose events the pool refuses (problems lists them, nothing applied)

/** One finding of the EPCIS reader or importer, naming the event and the field. */
export interface EventProblem {
  /** 0-based index of the event in the document's eventList (-1: the document itself) */
  index: number;
  /** the event's eventID when it has one */
  eventID?: string;
  /** the field concerned, e.g. "epcList[2]", "bizStep" */
  field: string;
  message: string;
  /** importer refusals: the code of the refusal (a ReturnStatus or guard reason) and the serial numbers concerned */
  code?: string;
  serialNumbers?: string[];
}

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
  /** InvalidDocument / ImportRefused: every problem found, per event */
  readonly problems?: EventProblem[];
  constructor(code: EpcisErrorCode, message: string, faults?: PreflightFault[], problems?: EventProblem[]) {
    super(message);
    this.name = "EpcisError";
    this.code = code;
    if (faults && faults.length) this.faults = faults;
    if (problems && problems.length) this.problems = problems;
  }
}

/** "A, B, C and 7 more" for messages. */
export function listSome(items: readonly string[], first = 5): string {
  const shown = items.slice(0, first).join(", ");
  return items.length > first ? `${shown} and ${items.length - first} more` : shown;
}

/** "event 2 (urn:uuid:...) bizStep: ..." */
export function describeProblem(p: EventProblem): string {
  const where = p.index < 0 ? "document" : `event ${p.index}${p.eventID ? ` (${p.eventID})` : ""}`;
  return `${where} ${p.field}: ${p.message}`;
}
