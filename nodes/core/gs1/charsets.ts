/** GS1 character set 82 (GS1 General Specifications figure 7.11-1): the set of AIs such as 10, 21, 91-99. */
export const CSET82 = "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";
/** GS1 character set 39 (AI 8010 CPID). */
export const CSET39 = "#-/0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
/** base64url, the alphabet of AI 8030 (padding "=" is allowed at the end). */
export const CSET64 = "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz=";
export const DIGITS = "0123456789";
export const ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

function table(chars: string): Uint8Array {
  const t = new Uint8Array(128);
  for (let i = 0; i < chars.length; i++) t[chars.charCodeAt(i)] = 1;
  return t;
}
const T82 = table(CSET82);
const T39 = table(CSET39);
const T64 = table(CSET64);
const TN = table(DIGITS);
const T64NOPAD = table(CSET64.replace("=", ""));

export type CsetType = "N" | "X" | "Y" | "Z";
const TABLES: Record<CsetType | "Z64", Uint8Array> = { N: TN, X: T82, Y: T39, Z: T64, Z64: T64NOPAD };
export const CSET_NAMES: Record<CsetType, string> = { N: "digits", X: "GS1 character set 82", Y: "GS1 character set 39", Z: "base64url (set 64)" };

/** Index of the first character not in the set, or -1. */
export function firstOutside(value: string, type: CsetType | "Z64"): number {
  const t = TABLES[type];
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 128 || t[c] !== 1) return i;
  }
  return -1;
}

export function isDigits(s: string): boolean {
  return s.length > 0 && firstOutside(s, "N") < 0;
}
