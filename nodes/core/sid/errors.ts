/** The rule a SID class, generator or import broke. */
export type SidErrorCode =
  | "UnknownSidClass"
  | "BadGeneratorSpec"
  | "GuessProbabilityTooHigh" // random space too small for the intended volume (EU FMD: 1 in 10,000)
  | "AuthorityIssued" // the regulator or its operator issues these numbers: import them, never generate
  | "RandomisationRequired" // the regulation requires randomised serial numbers
  | "GeneratorIncompatible" // the generator would produce serials the SID class refuses
  | "RangeExhausted"
  | "BadSerial"
  | "NotGS1" // a non-GS1 class asked for a GS1 form
  | "ImportEmpty"
  | "ImportMalformedLine"
  | "ImportDuplicate";

/** One bad line of an import file. */
export interface ImportProblem {
  code: "ImportMalformedLine" | "ImportDuplicate";
  line: number;
  /** the line as written (the code or serial number) */
  text: string;
  /** "line 7: ..." as in the error message */
  message: string;
}

export class SidError extends Error {
  readonly code: SidErrorCode;
  readonly sidClassId?: string;
  /** 1-based line of an import file (the first bad one) */
  readonly line?: number;
  /** an import's bad lines, each with its line number, its text and why (the first MAX_IMPORT_PROBLEMS) */
  readonly problems?: ImportProblem[];
  constructor(code: SidErrorCode, message: string, extra: { sidClassId?: string; line?: number; problems?: ImportProblem[] } = {}) {
    super(message);
    this.name = "SidError";
    this.code = code;
    if (extra.sidClassId !== undefined) this.sidClassId = extra.sidClassId;
    if (extra.line !== undefined) this.line = extra.line;
    if (extra.problems !== undefined) this.problems = extra.problems;
  }
}
