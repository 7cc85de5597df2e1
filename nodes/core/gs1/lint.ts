/* Content checks ("linters") that the GS1 syntax dictionary names for AI components. We write the
   arithmetic ones ourselves; code-list checks (ISO 3166/4217, IBAN, package types, coupons, GMN check
   pair, ...) go to bwip-js, which carries GS1's reference tables, so we never keep a stale copy. */
import type { GS1ErrorCode } from "./errors";
import { hasValidCheckDigit } from "./checkdigit";

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
  gcppos1: (v) => (v.length >= 2 && /^[0-9]{2}/.test(v) ? null : fail("ComponentCheckFailed", "does not start with a numeric GS1 Company Prefix")),
  gcppos2: (v) => (v.length >= 3 && /^.[0-9]{2}/.test(v) ? null : fail("ComponentCheckFailed", "does not hold a numeric GS1 Company Prefix after its first digit")),
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
  nozeroprefix: (v) => (v.length > 1 && v[0] === "0" ? fail("ComponentCheckFailed", "must not start with 0") : null),
  hasnondigit: (v) => (/^[0-9]*$/.test(v) ? fail("ComponentCheckFailed", "must contain a non-digit") : null),
  pieceoftotal: (v) => {
    const piece = num(v.slice(0, 2));
    const total = num(v.slice(2, 4));
    if (piece === 0 || total === 0) return fail("ComponentCheckFailed", "piece and total must not be 00");
    return piece > total ? fail("ComponentCheckFailed", `piece ${v.slice(0, 2)} is more than total ${v.slice(2, 4)}`) : null;
  },
  latitude: (v) => (num(v) <= 1800000000 ? null : fail("ComponentCheckFailed", "latitude is out of range")),
  longitude: (v) => (num(v) <= 3600000000 ? null : fail("ComponentCheckFailed", "longitude is out of range")),
};

function expectedCheck(v: string): string {
  let sum = 0;
  for (let i = v.length - 2, w = 3; i >= 0; i--, w = 4 - w) sum += (v.charCodeAt(i) - 48) * w;
  return String((10 - (sum % 10)) % 10);
}

/** Linters checked through bwip-js (the GS1 reference code lists and the coupon and GMN algorithms live there). */
export const DELEGATED_LINTERS = new Set([
  "iso3166", "iso3166999", "iso3166alpha2", "iso4217", "iban", "packagetype", "mediatype",
  "couponcode", "couponposoffer", "csumalpha", "importeridx", "pcenc", "posinseqslash",
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
