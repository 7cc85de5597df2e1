/** The rule an input broke. Each code names one rule, so callers can branch on it. */
export type GS1ErrorCode =
  | "BadInput" // not a string, or an argument of the wrong shape
  | "EmptyInput"
  | "NotGS1Data" // a symbology identifier for non-GS1 data, or text in no GS1 form
  | "BadBracketSyntax"
  | "UnknownAI"
  | "ControlCharacter"
  | "NonAsciiCharacter"
  | "IllegalCharacter" // ASCII, but outside the AI's character set (82, 39 or 64)
  | "NotNumeric"
  | "ValueTooShort"
  | "ValueTooLong"
  | "MissingSeparator"
  | "UnexpectedSeparator"
  | "BadCheckDigit"
  | "BadDate"
  | "BadTime"
  | "ComponentCheckFailed" // any other linter of the syntax dictionary (rule in `rule`)
  | "DuplicateAI"
  | "MissingRequiredAI"
  | "ExclusiveAIs"
  | "BadDigitalLink"
  | "DigitalLinkTruncated"
  | "DigitalLinkNoPrimaryKey"
  | "DigitalLinkBadQualifier"
  | "DigitalLinkBadAttribute"
  | "DigitalLinkQualifierInQuery" // a key qualifier of the path's key given as a query attribute
  | "DigitalLinkBadEncoding"
  | "DigitalLinkZeroSuppressedGtin"
  | "BadEpcUri"
  | "EpcUnsupported"
  | "BadCompanyPrefix";

export interface GS1Issue {
  code: GS1ErrorCode;
  message: string;
  ai?: string;
  /** 0-based index in the text given to parse/validate, where known */
  position?: number;
  /** the syntax-dictionary linter that failed, for ComponentCheckFailed and its kin */
  rule?: string;
}

export class GS1Error extends Error {
  readonly code: GS1ErrorCode;
  readonly ai?: string;
  readonly position?: number;
  readonly rule?: string;
  constructor(issue: GS1Issue) {
    super(issue.message);
    this.name = "GS1Error";
    this.code = issue.code;
    if (issue.ai !== undefined) this.ai = issue.ai;
    if (issue.position !== undefined) this.position = issue.position;
    if (issue.rule !== undefined) this.rule = issue.rule;
  }
  toIssue(): GS1Issue {
    const i: GS1Issue = { code: this.code, message: this.message };
    if (this.ai !== undefined) i.ai = this.ai;
    if (this.position !== undefined) i.position = this.position;
    if (this.rule !== undefined) i.rule = this.rule;
    return i;
  }
}

/** Show one character so a message is readable even for control and non-ASCII characters. */
export function showChar(ch: string): string {
  const cp = ch.codePointAt(0) as number;
  const hex = "U+" + cp.toString(16).toUpperCase().padStart(4, "0");
  return cp >= 0x21 && cp <= 0x7e ? `"${ch}" (${hex})` : hex;
}
