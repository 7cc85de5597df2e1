/* GS1 identifiers: check digits, the AI table, element strings, Digital Link and EPC URIs. No Node-RED here. */
import { GS1Error, type GS1Issue } from "./errors";
import { checkAssociations, readBracketed, readElementString, GS, type AiValue } from "./element";
import { readDigitalLink, toDigitalLink } from "./digital-link";
import { fromEpcUri, toEpcClassUri, toEpcUri, type CompanyPrefix } from "./epc";

export { GS1Error, type GS1Issue, type GS1ErrorCode } from "./errors";
export { CSET82, CSET39, CSET64, DIGITS, ALNUM } from "./charsets";
export { checkDigit, hasValidCheckDigit, isValidGtin, isValidSscc, isValidGln, toGtin14, makeSscc } from "./checkdigit";
export { getAi, listAis, type AiDefinition } from "./ai";
export type { AiComponent } from "./ai-table";
export { toBracketed, toElementString, toHRI, GS, type AiValue } from "./element";
export { toDigitalLink, CANONICAL_DL_STEM, type DigitalLinkOptions } from "./digital-link";
export { toEpcUri, toEpcClassUri, fromEpcUri, type CompanyPrefix } from "./epc";
export { prefixTable, prefixLength, findPrefixLength, parseCompanyPrefixList, parseGcpPrefixFormatList, loadGcpPrefixFormatList, type PrefixTable, type PrefixTableInput } from "./prefix-table";

export interface ParseOptions {
  /** check the dictionary's req=/ex= rules and duplicates (default true). Turn off for a partial carrier. */
  associations?: boolean;
  /** accept deprecated Digital Link convenience names such as /gtin/ and /ser/ (default false, as GS1) */
  permitConvenienceAlphas?: boolean;
}

export type Gs1Form = "bracketed" | "elementString" | "digitalLink";

/** Symbology identifiers of GS1 data (AI element strings) and of plain data that may hold a Digital Link. */
const GS1_SYMBOLOGY = new Set(["]d2", "]C1", "]Q3", "]e0", "]J1"]);
const PLAIN_SYMBOLOGY = new Set(["]d1", "]Q1", "]J0", "]C0"]);

function analyse(text: unknown, options: ParseOptions): { ais: AiValue[]; issues: GS1Issue[]; form?: Gs1Form } {
  const issues: GS1Issue[] = [];
  if (typeof text !== "string") return { ais: [], issues: [{ code: "BadInput", message: `expected a string, got ${text === null ? "null" : typeof text}` }] };
  if (text.length === 0) return { ais: [], issues: [{ code: "EmptyInput", message: "the GS1 data is empty" }] };
  let start = 0;
  let body = text;
  if (text[0] === "]") {
    const sym = text.slice(0, 3);
    if (GS1_SYMBOLOGY.has(sym)) start = 3;
    else if (PLAIN_SYMBOLOGY.has(sym) && /^https?:\/\//i.test(text.slice(3))) body = text.slice(3);
    else return { ais: [], issues: [{ code: "NotGS1Data", position: 0, message: `symbology identifier ${JSON.stringify(sym)} does not announce GS1 data` }] };
  }
  let ais: AiValue[];
  let form: Gs1Form;
  if (/^https?:\/\//i.test(body)) {
    form = "digitalLink";
    const sub: GS1Issue[] = [];
    ais = readDigitalLink(body, sub, { permitConvenienceAlphas: options.permitConvenienceAlphas === true });
    const shift = text.length - body.length;
    for (const i of sub) issues.push(i.position === undefined ? i : { ...i, position: i.position + shift });
  } else if (start === 0 && text[0] === "(") {
    form = "bracketed";
    ais = readBracketed(text, issues);
  } else {
    form = "elementString";
    if (text[start] === GS || text[start] === "^") start++; // leading FNC1 (ASCII GS or the "^" notation)
    if (start >= text.length) return { ais: [], issues: [{ code: "EmptyInput", message: "the GS1 data holds no AI after its prefix" }] };
    if (!/[0-9]/.test(text[start])) {
      return { ais: [], issues: [{ code: "NotGS1Data", position: start, message: `${JSON.stringify(text.slice(0, 40))} is neither bracketed GS1 data, an element string nor a Digital Link URI` }] };
    }
    ais = readElementString(text, start, issues);
  }
  if (issues.length === 0 && options.associations !== false) issues.push(...checkAssociations(ais));
  return { ais, issues, form };
}

/**
 * Parse bracketed GS1 data, an element string (GS separators, optional symbology identifier or FNC1 placeholder)
 * or a Digital Link URI into its AIs, in order. Throws a GS1Error naming the rule, the AI and the position.
 */
export function parse(text: string, options: ParseOptions = {}): AiValue[] {
  const r = analyse(text, options);
  if (r.issues.length) throw new GS1Error(r.issues[0]);
  return r.ais;
}

export interface ValidationResult {
  valid: boolean;
  errors: GS1Issue[];
  /** the AIs read, when the text was readable */
  ais: AiValue[];
  form?: Gs1Form;
}

/** Like parse, but returns every problem found instead of throwing. */
export function validate(text: string, options: ParseOptions = {}): ValidationResult {
  const r = analyse(text, options);
  const out: ValidationResult = { valid: r.issues.length === 0, errors: r.issues, ais: r.ais };
  if (r.form) out.form = r.form;
  return out;
}

/** The value of one AI in a parsed list, or undefined. */
export function valueOf(ais: AiValue[], ai: string): string | undefined {
  return ais.find((e) => e.ai === ai)?.value;
}

/** An EPC URI (pure identity, LGTIN class or SGTIN/SGLN pattern) as a Digital Link URI. */
export function epcToDigitalLink(uri: string, domain?: string): string {
  return toDigitalLink(fromEpcUri(uri), domain);
}

/** A Digital Link URI as an EPC URI: the instance (SGTIN/SSCC/SGLN) when it names one, else the class (LGTIN or SGTIN pattern). */
export function digitalLinkToEpc(uri: string, companyPrefix: CompanyPrefix, options: ParseOptions = {}): string {
  const ais = parse(uri, { associations: false, ...options });
  const has = (ai: string) => ais.some((e) => e.ai === ai);
  if ((has("01") && has("21")) || has("00") || has("414")) return toEpcUri(ais, companyPrefix);
  return toEpcClassUri(ais, companyPrefix);
}
