import { GS1Error } from "./errors";
import { isDigits } from "./charsets";

/** The GS1 mod-10 check digit of the digits before it (weights 3,1,3,... from the right). */
export function checkDigit(digits: string): string {
  if (typeof digits !== "string" || !isDigits(digits)) {
    throw new GS1Error({ code: "NotNumeric", message: `checkDigit needs a string of digits, got ${JSON.stringify(digits)}` });
  }
  let sum = 0;
  for (let i = digits.length - 1, w = 3; i >= 0; i--, w = 4 - w) sum += (digits.charCodeAt(i) - 48) * w;
  return String((10 - (sum % 10)) % 10);
}

/** True when the last digit is the GS1 check digit of the others. */
export function hasValidCheckDigit(digits: string): boolean {
  return typeof digits === "string" && digits.length >= 2 && isDigits(digits) && checkDigit(digits.slice(0, -1)) === digits[digits.length - 1];
}

/** GTIN-8, -12, -13 or -14 with a correct check digit. */
export function isValidGtin(gtin: string): boolean {
  return typeof gtin === "string" && [8, 12, 13, 14].includes(gtin.length) && hasValidCheckDigit(gtin);
}
export function isValidSscc(sscc: string): boolean {
  return typeof sscc === "string" && sscc.length === 18 && hasValidCheckDigit(sscc);
}
export function isValidGln(gln: string): boolean {
  return typeof gln === "string" && gln.length === 13 && hasValidCheckDigit(gln);
}

/** A GTIN-8/12/13 padded to the 14 digits that AI (01) carries. */
export function toGtin14(gtin: string): string {
  if (!isValidGtin(gtin)) throw new GS1Error({ code: "BadCheckDigit", ai: "01", message: `${JSON.stringify(gtin)} is not a GTIN-8/12/13/14 with a correct check digit` });
  return gtin.padStart(14, "0");
}

/**
 * Build an SSCC-18: extension digit, GS1 Company Prefix, serial reference (zero-padded to fill 16 digits), check digit.
 */
export function makeSscc(companyPrefix: string, extensionDigit: number | string, serialReference: number | bigint | string): string {
  const ext = String(extensionDigit);
  if (!/^[0-9]$/.test(ext)) throw new GS1Error({ code: "BadInput", ai: "00", message: `SSCC extension digit must be one digit 0-9, got ${JSON.stringify(extensionDigit)}` });
  if (typeof companyPrefix !== "string" || !/^[0-9]{4,12}$/.test(companyPrefix)) {
    throw new GS1Error({ code: "BadCompanyPrefix", ai: "00", message: `GS1 Company Prefix must be 4 to 12 digits, got ${JSON.stringify(companyPrefix)}` });
  }
  const ref = String(serialReference);
  const width = 16 - companyPrefix.length;
  if (!/^[0-9]+$/.test(ref) || ref.length > width) {
    throw new GS1Error({ code: "ValueTooLong", ai: "00", message: `SSCC serial reference ${JSON.stringify(ref)} must be at most ${width} digits with a ${companyPrefix.length}-digit company prefix` });
  }
  const body = ext + companyPrefix + ref.padStart(width, "0");
  return body + checkDigit(body);
}
