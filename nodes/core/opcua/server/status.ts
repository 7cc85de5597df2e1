/* How an OPEN-SCS call ends: a PSS rule refusal becomes a ReturnStatus (call status Good), any other error an
   OPC UA Bad_ status. */
import { Variant, DataType, StatusCodes, StatusCode } from "node-opcua";
import { RETURN_STATUS_NAMES, returnStatusValue } from "../model";

/** The method families; a refusal's ReturnStatus depends on the family of the method refused. */
export type Family = "pool" | "label" | "sid" | "sn" | "aggregation";

/** The codes of PSS rule refusals that are not ReturnStatus names: the store's state guards and identity rules,
    the aggregation rules, the SID class checks. Only these, and the ReturnStatus names, become a ReturnStatus;
    any other error (a locked or full database, an I/O error, a bug) is a Bad_ status and is logged. */
export const PSS_REFUSAL_CODES: ReadonlySet<string> = new Set([
  // store guards and identity rules (nodes/core/store/errors.ts)
  "TransitionForbidden", "UnknownSerialNumber", "DuplicateInBatch", "DuplicateSerialNumber", "UnknownPool",
  "InvalidSerialNumber", "InvalidContext", "TokenExpired", "WrongCollection",
  // aggregation rules (nodes/core/aggregation)
  "InvalidArgument", "Cycle", "EmptyParent", "NotAParent", "NotInParent", "NotTopLevel", "ParentInProgress",
  "AlreadyPacked", "AlreadyInProgress", "CapacityExceeded", "InvalidParent", "MixingRefused", "WrongChildLevel",
  "WrongParentLevel", "WrongParentPool", "AggregationUnavailable",
  // SID class checks of a serial number (nodes/core/sid)
  "BadSerial", "NotGS1",
]);

/** The ReturnStatus for an error the backend threw, or null when it is not a PSS rule refusal. */
export function refusalStatus(err: unknown, family: Family): string | null {
  const code = (err as { code?: unknown })?.code;
  if (typeof code !== "string") return null;
  if (RETURN_STATUS_NAMES.includes(code) && code !== "Undefined" && code !== "NoError") return code;
  // every rule of the store (PssError) is a refusal, whatever its code; storage faults are StoreError, not PssError
  const ruleError = (err as Error).name === "PssError" && code !== "StoreClosed" && code !== "NotAPoolFile";
  if (!PSS_REFUSAL_CODES.has(code) && !ruleError) return null;
  switch (code) {
    case "TokenExpired":
      return "InvalidRequestToken";
    case "UnknownPool":
      return "InvalidSelectionCriteria";
    case "InvalidSerialNumber":
    case "BadSerial":
    case "NotGS1":
      return "InvalidSerialNumbersFormat";
  }
  // a state guard or identity refusal (TransitionForbidden, UnknownSerialNumber, DuplicateInBatch, ...)
  switch (family) {
    case "pool":
      return "InvalidSerialNumberCollection";
    case "label":
      return "UnableToAcceptLabelEvents";
    case "sid":
    case "aggregation":
      return "UnableToAcceptSIDEvents";
    case "sn":
      return "UnableToAcceptSerialNumberEvents";
  }
}

/** The OPC UA status for an error that is not a PSS refusal, by the store contract's codes (StoreError; the backend
    turns its engine's errors into them, see storageFault in ../backend.ts): the pool busy or locked by another
    process (PoolBusy: Bad_ResourceUnavailable, try again later), the disk full (DiskFull, or the system's ENOSPC /
    EDQUOT: Bad_OutOfMemory, call maintenance), a closed store (StoreClosed: Bad_ResourceUnavailable); the pool's
    database unreachable or its connection broken during the call (ConnectionLost, rolled back: Bad_NoCommunication,
    try again later) or broken while committing (ConnectionLost with inDoubt: Bad_CommunicationError, the call
    committed whole or not at all: look before repeating it); a setting to fix (AuthenticationFailed, TlsFailed,
    SchemaTooNew: Bad_ConfigurationError, call maintenance); anything else Bad_InternalError. */
export function faultStatus(err: unknown): StatusCode {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return StatusCodes.BadInternalError;
  if (/^(ENOSPC|EDQUOT)$/.test(code) || /DiskFull|StoreFull/i.test(code)) return StatusCodes.BadOutOfMemory;
  if (/Busy|Locked|StoreClosed/i.test(code)) return StatusCodes.BadResourceUnavailable;
  if (code === "ConnectionLost") return (err as { inDoubt?: unknown }).inDoubt === true ? StatusCodes.BadCommunicationError : StatusCodes.BadNoCommunication;
  if (code === "AuthenticationFailed" || code === "TlsFailed" || code === "SchemaTooNew") return StatusCodes.BadConfigurationError;
  return StatusCodes.BadInternalError;
}

/** A ReturnStatus output argument (Int32). */
export const returnStatus = (name: string): Variant => new Variant({ dataType: DataType.Int32, value: returnStatusValue(name) });
