/* EPC URIs (GS1 EPC Tag Data Standard, TDS): pure identities for SGTIN, SSCC and SGLN, the LGTIN class URI and
   the SGTIN/SGLN pattern (idpat) URIs of class-level data. */
import { checkDigit } from "./checkdigit";
import { checkList, type AiValue } from "./element";
import { GS1Error } from "./errors";
import { assertValue } from "./ai";
import { prefixLength, type PrefixTableInput } from "./prefix-table";

// TDS table of characters that are percent-escaped in an EPC URI component (serial, lot, GLN extension)
const EPC_ESC: Record<string, string> = { '"': "%22", "%": "%25", "&": "%26", "/": "%2F", "<": "%3C", ">": "%3E", "?": "%3F" };
const esc = (v: string) => v.replace(/["%&/<>?]/g, (c) => EPC_ESC[c]);

/** A company prefix length: one number for every key, or a table (prefix -> length, or GS1's gcpprefixformatlist). */
export type CompanyPrefix = number | PrefixTableInput;

function checkPrefixLength(n: number): void {
  if (!Number.isInteger(n) || n < 6 || n > 12) throw new GS1Error({ code: "BadCompanyPrefix", message: `GS1 Company Prefix length must be an integer 6-12 for an EPC URI, got ${n}` });
}

function lengthFor(cp: CompanyPrefix, key: AiValue): number {
  const n = typeof cp === "number" ? cp : prefixLength(key, cp);
  checkPrefixLength(n);
  return n;
}

const get = (ais: AiValue[], ai: string) => ais.find((e) => e.ai === ai)?.value;

function sgtinParts(gtin: string, n: number): [string, string] {
  return [gtin.slice(1, 1 + n), gtin[0] + gtin.slice(1 + n, 13)];
}

/**
 * urn:epc:id:sgtin:… from (01)+(21), urn:epc:id:sscc:… from (00), urn:epc:id:sgln:… from (414) [+ (254)].
 * The company prefix length is not in the data: give it, as one number or as a table looked up per key
 * (so a GTIN and an SSCC of different company prefixes each get theirs).
 */
export function toEpcUri(ais: AiValue[], companyPrefix: CompanyPrefix): string {
  checkList(ais);
  if (typeof companyPrefix === "number") checkPrefixLength(companyPrefix);
  const gtin = get(ais, "01");
  const serial = get(ais, "21");
  const sscc = get(ais, "00");
  const gln = get(ais, "414");
  if (gtin !== undefined && serial !== undefined) {
    const [cp, item] = sgtinParts(gtin, lengthFor(companyPrefix, { ai: "01", value: gtin }));
    return `urn:epc:id:sgtin:${cp}.${item}.${esc(serial)}`;
  }
  if (sscc !== undefined) {
    const n = lengthFor(companyPrefix, { ai: "00", value: sscc });
    return `urn:epc:id:sscc:${sscc.slice(1, 1 + n)}.${sscc[0]}${sscc.slice(1 + n, 17)}`;
  }
  if (gln !== undefined) {
    const n = lengthFor(companyPrefix, { ai: "414", value: gln });
    return `urn:epc:id:sgln:${gln.slice(0, n)}.${gln.slice(n, 12)}.${esc(get(ais, "254") ?? "0")}`;
  }
  throw new GS1Error({ code: "EpcUnsupported", message: `an EPC pure identity URI needs (01) with (21) for an SGTIN, (00) for an SSCC or (414) for an SGLN; got ${ais.map((e) => `(${e.ai})`).join("")}` });
}

/**
 * The class-level EPC URI of a product: urn:epc:class:lgtin:CP.IR.LOT from (01)+(10) (TDS EPC Class URI), or the
 * pattern urn:epc:idpat:sgtin:CP.IR.* from (01) alone (every serial of the GTIN, TDS pattern URI).
 */
export function toEpcClassUri(ais: AiValue[], companyPrefix: CompanyPrefix): string {
  checkList(ais);
  const gtin = get(ais, "01");
  if (gtin === undefined) throw new GS1Error({ code: "EpcUnsupported", message: `a class-level EPC URI needs (01); got ${ais.map((e) => `(${e.ai})`).join("")}` });
  const [cp, item] = sgtinParts(gtin, lengthFor(companyPrefix, { ai: "01", value: gtin }));
  const lot = get(ais, "10");
  return lot !== undefined ? `urn:epc:class:lgtin:${cp}.${item}.${esc(lot)}` : `urn:epc:idpat:sgtin:${cp}.${item}.*`;
}

function unescape(uri: string, raw: string, ai: string): string {
  if (/%(?![0-9A-Fa-f]{2})/.test(raw)) throw new GS1Error({ code: "BadEpcUri", ai, message: `${uri}: bad percent-escape in ${JSON.stringify(raw)}` });
  let v: string;
  try {
    v = decodeURIComponent(raw);
  } catch {
    throw new GS1Error({ code: "BadEpcUri", ai, message: `${uri}: the percent-escapes of ${JSON.stringify(raw)} are not valid UTF-8` });
  }
  assertValue(ai, v);
  return v;
}

function gtinOf(uri: string, cp: string, item: string): string {
  if (cp.length + item.length !== 13) throw new GS1Error({ code: "BadEpcUri", message: `${uri}: company prefix and indicator+item reference must total 13 digits, got ${cp.length + item.length}` });
  const body = item[0] + cp + item.slice(1);
  return body + checkDigit(body);
}

function glnOf(uri: string, cp: string, loc: string): string {
  if (cp.length + loc.length !== 12) throw new GS1Error({ code: "BadEpcUri", message: `${uri}: company prefix and location reference must total 12 digits, got ${cp.length + loc.length}` });
  return cp + loc + checkDigit(cp + loc);
}

/**
 * The AIs behind an EPC URI, check digits recomputed: pure identities (urn:epc:id:sgtin/sscc/sgln), the LGTIN class
 * (urn:epc:class:lgtin -> (01)+(10)) and the SGTIN/SGLN patterns whose key part is complete (urn:epc:idpat:sgtin:CP.IR.*
 * -> (01), urn:epc:idpat:sgln:CP.LR.* -> (414)). A pattern with no complete key (CP.*.*) is EpcUnsupported.
 */
export function fromEpcUri(uri: string): AiValue[] {
  if (typeof uri !== "string") throw new GS1Error({ code: "BadInput", message: "fromEpcUri needs a string" });
  let m = /^urn:epc:(id|idpat):sgtin:([0-9]{6,12})\.([0-9]+)\.(.+)$/.exec(uri);
  if (m) {
    const [, kind, cp, item, ser] = m;
    const gtin = gtinOf(uri, cp, item);
    if (kind === "idpat" && ser === "*") return [{ ai: "01", value: gtin }];
    return [{ ai: "01", value: gtin }, { ai: "21", value: unescape(uri, ser, "21") }];
  }
  m = /^urn:epc:class:lgtin:([0-9]{6,12})\.([0-9]+)\.(.+)$/.exec(uri);
  if (m) return [{ ai: "01", value: gtinOf(uri, m[1], m[2]) }, { ai: "10", value: unescape(uri, m[3], "10") }];
  m = /^urn:epc:(id|idpat):sscc:([0-9]{6,12})\.([0-9]+)$/.exec(uri);
  if (m) {
    const [, , cp, ref] = m;
    if (cp.length + ref.length !== 17) throw new GS1Error({ code: "BadEpcUri", position: 16, message: `${uri}: company prefix and extension+serial reference must total 17 digits, got ${cp.length + ref.length}` });
    const body = ref[0] + cp + ref.slice(1);
    return [{ ai: "00", value: body + checkDigit(body) }];
  }
  m = /^urn:epc:(id|idpat):sgln:([0-9]{6,12})\.([0-9]*)\.(.+)$/.exec(uri);
  if (m) {
    const [, kind, cp, loc, ext] = m;
    const gln = glnOf(uri, cp, loc);
    if ((kind === "idpat" && ext === "*") || ext === "0") return [{ ai: "414", value: gln }];
    return [{ ai: "414", value: gln }, { ai: "254", value: unescape(uri, ext, "254") }];
  }
  if (/^urn:epc:idpat:[a-z]+:/.test(uri)) {
    throw new GS1Error({ code: "EpcUnsupported", message: `${uri}: this pattern URI names no complete GS1 key (only urn:epc:idpat:sgtin:CP.IR.*, sgln:CP.LR.* and wildcard-free patterns map to AIs)` });
  }
  throw new GS1Error({ code: "BadEpcUri", position: 0, message: `${JSON.stringify(uri.slice(0, 80))} is not an SGTIN, SSCC or SGLN EPC URI, an LGTIN class URI or an SGTIN/SGLN pattern URI` });
}
