/* Content checks ("linters") that the GS1 syntax dictionary names for AI components. We write the
   arithmetic ones and the short code lists (ISO 4217, media types, package types: code-lists.ts) ourselves;
   the country lists, IBAN, coupons, the GMN check pair and percent-encoding go to bwip-js (BWIPP carries
   GS1's reference implementations), which cannot be handed a value holding "(" or ")". */
import type { GS1ErrorCode } from "./errors";
import { hasValidCheckDigit } from "./checkdigit";
import { ISO4217, MEDIA_TYPES, PACKAGE_TYPES } from "./code-lists";

/** The shortest GS1 Company Prefix has four digits (GS1 General Specifications "GS1 Company Prefix"; linters gcppos1/gcppos2). */
export const GCP_MIN_LENGTH = 4;

export interface LintFailure {
  code: GS1ErrorCode;
  reason: string;
  /** offset inside the component */
  offset?: number;
}

type Linter = (v: string) => LintFailure | null;

const fail = (code: GS1ErrorCode, reason: string, offset?: number): LintFailure => (offset === undefined ? { code, reason } : { code, reason, offset });
const num = (s: string) => Number.parseInt(s, 10);

function daysIn(month: number, year: number): number {
  return [31, year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
}

/** YYMMDD; the century follows GS1's sliding window, in which the only century year (2000) is a leap year. */
function yymmdd(v: string, dayZeroAllowed: boolean): LintFailure | null {
  const yy = num(v.slice(0, 2));
  const mm = num(v.slice(2, 4));
  const dd = num(v.slice(4, 6));
  if (mm < 1 || mm > 12) return fail("BadDate", `month ${v.slice(2, 4)} is not 01-12`, 2);
  if (dd === 0) return dayZeroAllowed ? null : fail("BadDate", "day 00 is not allowed here", 4);
  if (dd > daysIn(mm, 2000 + yy)) return fail("BadDate", `day ${v.slice(4, 6)} does not exist in month ${v.slice(2, 4)}`, 4);
  return null;
}

function yyyymmdd(v: string, dayZeroAllowed: boolean): LintFailure | null {
  const yyyy = num(v.slice(0, 4));
  const mm = num(v.slice(4, 6));
  const dd = num(v.slice(6, 8));
  if (mm < 1 || mm > 12) return fail("BadDate", `month ${v.slice(4, 6)} is not 01-12`, 4);
  if (dd === 0) return dayZeroAllowed ? null : fail("BadDate", "day 00 is not allowed here", 6);
  if (dd > daysIn(mm, yyyy)) return fail("BadDate", `day ${v.slice(6, 8)} does not exist in ${v.slice(0, 6)}`, 6);
  return null;
}

const range = (code: GS1ErrorCode, what: string, lo: number, hi: number): Linter => (v) => {
  const k = num(v);
  return k >= lo && k <= hi ? null : fail(code, `${what} ${v} is not ${String(lo).padStart(v.length, "0")}-${String(hi).padStart(v.length, "0")}`);
};

export const LINTERS: Record<string, Linter> = {
  csum: (v) => (hasValidCheckDigit(v) ? null : fail("BadCheckDigit", `check digit ${v[v.length - 1]} is wrong, expected ${expectedCheck(v)}`, v.length - 1)),
  gcppos1: (v) => gcpAt(v, 0),
  gcppos2: (v) => gcpAt(v, 1),
  yymmd0: (v) => yymmdd(v, true),
  yymmdd: (v) => yymmdd(v, false),
  yyyymmd0: (v) => yyyymmdd(v, true),
  yyyymmdd: (v) => yyyymmdd(v, false),
  hh: range("BadTime", "hour", 0, 23),
  mi: range("BadTime", "minute", 0, 59),
  ss: range("BadTime", "second", 0, 59),
  hhmi: (v) => range("BadTime", "hour", 0, 23)(v.slice(0, 2)) ?? (num(v.slice(2, 4)) <= 59 ? null : fail("BadTime", `minute ${v.slice(2, 4)} is not 00-59`, 2)),
  nonzero: (v) => (/^0+$/.test(v) ? fail("ComponentCheckFailed", "must not be zero") : null),
  zero: (v) => (v === "0" ? null : fail("ComponentCheckFailed", "must be 0")),
  winding: (v) => (v === "0" || v === "1" || v === "9" ? null : fail("ComponentCheckFailed", `winding direction ${v} is not 0, 1 or 9`)),
  yesno: (v) => (v === "0" || v === "1" ? null : fail("ComponentCheckFailed", `${v} is not 0 (no) or 1 (yes)`)),
  hyphen: (v) => (v === "-" ? null : fail("ComponentCheckFailed", `${JSON.stringify(v)} is not "-"`)),
  iso5218: (v) => (["0", "1", "2", "9"].includes(v) ? null : fail("ComponentCheckFailed", `${v} is not an ISO/IEC 5218 sex code (0, 1, 2, 9)`)),
  nozeroprefix: (v) => (v[0] === "0" ? fail("ComponentCheckFailed", v.length === 1 ? "must not be 0" : "must not start with 0") : null),
  hasnondigit: (v) => (/^[0-9]*$/.test(v) ? fail("ComponentCheckFailed", "must contain a non-digit") : null),
  pieceoftotal: (v) => {
    const piece = num(v.slice(0, 2));
    const total = num(v.slice(2, 4));
    if (piece === 0 || total === 0) return fail("ComponentCheckFailed", "piece and total must not be 00");
    return piece > total ? fail("ComponentCheckFailed", `piece ${v.slice(0, 2)} is more than total ${v.slice(2, 4)}`) : null;
  },
  iso4217: (v) => (ISO4217.has(v) ? null : fail("ComponentCheckFailed", `${v} is not an ISO 4217 numeric currency code`)),
  mediatype: (v) => (MEDIA_TYPES.has(v) ? null : fail("ComponentCheckFailed", `${v} is not an AIDC media type (01-10, 80-99)`)),
  packagetype: (v) => (PACKAGE_TYPES.has(v) ? null : fail("ComponentCheckFailed", `${JSON.stringify(v)} is not a GS1 PackageTypeCode`)),
  importeridx: (v) => (/^[-0-9A-Z_a-z]$/.test(v) ? null : fail("ComponentCheckFailed", `importer index ${JSON.stringify(v)} is not one of - 0-9 A-Z _ a-z`)),
  latitude: (v) => (num(v) <= 1800000000 ? null : fail("ComponentCheckFailed", "latitude is out of range")),
  longitude: (v) => (num(v) <= 3600000000 ? null : fail("ComponentCheckFailed", "longitude is out of range")),
};

/** A GS1 Company Prefix starts at `at`: at least GCP_MIN_LENGTH digits there. */
function gcpAt(v: string, at: number): LintFailure | null {
  if (v.length < at + GCP_MIN_LENGTH) return fail("ComponentCheckFailed", `is too short to hold a GS1 Company Prefix (at least ${GCP_MIN_LENGTH} digits${at ? " after the first digit" : ""})`, 0);
  for (let i = at; i < at + GCP_MIN_LENGTH; i++) {
    if (v[i] < "0" || v[i] > "9") return fail("ComponentCheckFailed", `does not start${at ? " after its first digit" : ""} with a GS1 Company Prefix: ${JSON.stringify(v[i])} at offset ${i} is not a digit`, i);
  }
  return null;
}

/** base64url (set 64) padding: at most two "=" at the end, and then the whole length a multiple of 3 (linter cset64). */
export function cset64Padding(v: string): LintFailure | null {
  let pads = 0;
  while (pads < v.length && v[v.length - 1 - pads] === "=") pads++;
  if (pads > 2 || (pads > 0 && v.length % 3 !== 0)) return fail("ComponentCheckFailed", `bad base64 padding: ${pads} "=" at the end of ${v.length} characters`, v.length - pads);
  return null;
}

function expectedCheck(v: string): string {
  let sum = 0;
  for (let i = v.length - 2, w = 3; i >= 0; i--, w = 4 - w) sum += (v.charCodeAt(i) - 48) * w;
  return String((10 - (sum % 10)) % 10);
}

/** Delegated linters whose alphabet has no "(" or ")": a value holding one fails them without asking bwip-js. */
export const PAREN_FREE_LINTERS = new Set(["iban", "couponcode", "couponposoffer", "posinseqslash"]);

/** Linters checked through bwip-js (the GS1 reference code lists and the coupon and GMN algorithms live there). */
export const DELEGATED_LINTERS = new Set([
  "iso3166", "iso3166999", "iso3166alpha2", "iban",
  "couponcode", "couponposoffer", "csumalpha", "pcenc", "posinseqslash",
]);

type BwipModule = { toSVG(opts: Record<string, unknown>): string };
let bwip: BwipModule | null | undefined;

/**
 * Ask bwip-js to lint one AI's element string alone (association rules off: we check those).
 * Returns bwip's reason when it refuses, null when it accepts or cannot judge (an AI it does not know).
 */
export function bwipLint(ai: string, value: string): string | null {
  if (bwip === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      bwip = require("bwip-js") as BwipModule;
    } catch {
      bwip = null;
    }
  }
  if (!bwip || value.includes("(") || value.includes(")")) return null; // bwip's bracketed input cannot carry parentheses
  try {
    bwip.toSVG({ bcid: "gs1datamatrix", text: `(${ai})${value}`, lintreqs: false });
    return null;
  } catch (err) {
    const msg = String((err as Error).message ?? err);
    if (/unknown ?AI|unrecogni[sz]ed AI|AIunknown/i.test(msg)) return null;
    return msg.replace(/^bwipp\.[A-Za-z0-9]+#\d+:\s*/, "");
  }
}
