/* Serial numbers -> EPCIS identifiers (EPC pure identity URIs or Digital Link URIs), GLNs -> location URIs,
   and any of them -> the constrained canonical Digital Link the event hash needs. SGTIN/SSCC conversions are
   the gs1 module's; SGLN/PGLN/GDTI/LGTIN are written here because gs1 covers SGTIN and SSCC only. */
import * as gs1 from "../gs1";
import { EpcisError } from "./errors";
import { epcUrnToDigitalLink, digitalLinkToCanonical } from "./epc-dl";

type AiValue = gs1.AiValue;

export type IdentifierForm = "epc" | "digitalLink";

/** How serial numbers become identifiers. */
export interface IdentifierOptions {
  /** "epc" (urn:epc:id:..., the default, what OPEN-SCS annex A and EPCIS 1.2 partners expect) or "digitalLink" */
  identifiers?: IdentifierForm;
  /** GS1 Company Prefix length for EPC URIs: one number, or per GTIN/SSCC/GLN key; the fallback when prefixTable has no entry */
  companyPrefixLength?: number | ((key: string) => number | undefined);
  /**
   * GS1 Company Prefix lengths per identifier, looked up by the key's own digits (longest prefix wins):
   * { "0614141": 7, "401234567": 9 }, [{ prefix, length }], or a table from gs1.loadGcpPrefixFormatList (GS1's
   * gcpprefixformatlist.xml). So a GTIN and an SSCC of different company prefixes each get theirs.
   */
  prefixTable?: gs1.PrefixTableInput;
  /** Digital Link domain (default https://id.gs1.org) */
  digitalLinkDomain?: string;
  /** GTIN of bare serial numbers, per pool, when the record's context carries no `gtin` */
  gtinByPool?: Record<string, string>;
  /** GTIN of bare serial numbers when neither the record nor gtinByPool gives one */
  gtin?: string;
  /** your own resolution: the AIs of a serial number (01+21 or 00), or a finished URI */
  resolve?: (serialNumber: string, context: Record<string, string>, poolId?: string) => AiValue[] | string | undefined;
}

// a table given as { prefix: length } is checked and indexed once per options object
const TABLES = new WeakMap<object, gs1.PrefixTable>();

function tableOf(o: IdentifierOptions): gs1.PrefixTable | undefined {
  const input = o.prefixTable;
  if (input === undefined) return undefined;
  if (typeof input !== "object" || input === null) throw new EpcisError("BadOption", "prefixTable must be { prefix: length }, [{ prefix, length }] or a table from gs1.loadGcpPrefixFormatList");
  let t = TABLES.get(input);
  if (!t) {
    try {
      t = gs1.prefixTable(input);
    } catch (err) {
      throw new EpcisError("BadOption", `prefixTable: ${(err as Error).message}`);
    }
    TABLES.set(input, t);
  }
  return t;
}

/** The company prefix length of a key: the prefix table first (per identifier), then companyPrefixLength. */
function prefixLength(o: IdentifierOptions, key: gs1.AiValue): number {
  const table = tableOf(o);
  if (table) {
    let n: number | undefined;
    try {
      n = gs1.findPrefixLength(key, table);
    } catch (err) {
      throw new EpcisError("BadOption", `prefixTable: ${(err as Error).message}`);
    }
    // no entry: the single length (if any) still applies
    if (n !== undefined) return n;
  }
  const c = o.companyPrefixLength;
  const n = typeof c === "function" ? c(key.value) : c;
  if (n === undefined) {
    const how = table ? `the company prefix table has no entry for (${key.ai}) ${key.value}: add its GS1 Company Prefix to prefixTable` : `set prefixTable (prefix -> length, or GS1's gcpprefixformatlist.xml) or companyPrefixLength`;
    throw new EpcisError("MissingCompanyPrefixLength", `EPC URIs need the GS1 Company Prefix length of ${key.value}: ${how}, or use identifiers: "digitalLink"`);
  }
  if (!Number.isInteger(n) || n < 6 || n > 12) throw new EpcisError("BadOption", `companyPrefixLength for ${key.value} must be an integer 6-12, got ${n}`);
  return n;
}

/** The AIs behind a serial number as stored: a GS1 string (bracketed, element string, Digital Link), an EPC URI, an SSCC, or a bare serial with a GTIN from the context/options. */
export function aisOf(serialNumber: string, context: Record<string, string>, poolId: string | undefined, o: IdentifierOptions): AiValue[] | string {
  if (o.resolve) {
    const r = o.resolve(serialNumber, context, poolId);
    if (r !== undefined) return r;
  }
  if (typeof serialNumber !== "string" || serialNumber.length === 0) throw new EpcisError("UnresolvedIdentifier", `serial number ${JSON.stringify(serialNumber)} is not a non-empty string`);
  if (serialNumber.startsWith("urn:epc:")) return gs1.fromEpcUri(serialNumber);
  // a bare serial may itself start with "(" (GS1 set 82): only "(NN)" opens bracketed GS1 data
  if (/^(\([0-9]{2,4}\)|\][A-Za-z][0-9]|https?:\/\/)/.test(serialNumber) || serialNumber.includes(gs1.GS)) {
    const v = gs1.validate(serialNumber, { associations: false });
    if (v.valid) return keyAis(v.ais, serialNumber);
    throw new EpcisError("UnresolvedIdentifier", `serial number ${JSON.stringify(serialNumber)} looks like GS1 data but does not parse: ${v.errors[0].message}`);
  }
  if (/^[0-9]{18}$/.test(serialNumber) && gs1.isValidSscc(serialNumber)) return [{ ai: "00", value: serialNumber }];
  // an element string without separators (01...21... as scanned), e.g. an imported code
  if (/^01[0-9]{14}21/.test(serialNumber)) {
    const v = gs1.validate(serialNumber, { associations: false });
    if (v.valid) return keyAis(v.ais, serialNumber);
  }
  const gtin = context.gtin ?? (poolId !== undefined ? o.gtinByPool?.[poolId] : undefined) ?? o.gtin;
  if (!gtin) throw new EpcisError("UnresolvedIdentifier", `serial number ${JSON.stringify(serialNumber)}${poolId ? ` of pool ${poolId}` : ""} has no GTIN: put gtin in the event context, or give gtinByPool/gtin in the options`);
  const ais = [{ ai: "01", value: gtin.length === 14 ? gtin : gs1.toGtin14(gtin) }, { ai: "21", value: serialNumber }];
  try {
    gs1.toBracketed(ais);
  } catch (err) {
    throw new EpcisError("UnresolvedIdentifier", `serial number ${JSON.stringify(serialNumber)} with GTIN ${gtin}: ${(err as Error).message}`);
  }
  return ais;
}

function keyAis(ais: AiValue[], text: string): AiValue[] {
  const gtin = ais.find((a) => a.ai === "01");
  const serial = ais.find((a) => a.ai === "21");
  const sscc = ais.find((a) => a.ai === "00");
  if (gtin && serial) return [gtin, serial];
  if (sscc) return [sscc];
  throw new EpcisError("UnresolvedIdentifier", `${JSON.stringify(text)} carries neither (01)+(21) nor (00): it identifies no instance`);
}

/** The identifier URI of a serial number in the chosen form. */
export function identifierOf(serialNumber: string, context: Record<string, string>, poolId: string | undefined, o: IdentifierOptions): string {
  const r = aisOf(serialNumber, context, poolId, o);
  if (typeof r === "string") return r;
  return aisToUri(r, o);
}

export function aisToUri(ais: AiValue[], o: IdentifierOptions): string {
  if ((o.identifiers ?? "epc") === "digitalLink") return gs1.toDigitalLink(ais, o.digitalLinkDomain);
  const key = ais.find((a) => a.ai === "01") ?? ais.find((a) => a.ai === "00") ?? ais[0];
  return gs1.toEpcUri(ais, prefixLength(o, key));
}

/** A location: a GLN (13 digits, optionally "GLN.extension" or { gln, extension }) or a URI kept as given. */
export type LocationSpec = string | { gln: string; extension?: string };

// the same few locations recur in every event: remember their URIs per options object
const LOCATIONS = new WeakMap<IdentifierOptions, Map<string, string>>();

export function locationUri(spec: LocationSpec, o: IdentifierOptions, what: string): string {
  if (typeof spec !== "string") return locationUriOf(spec, o, what);
  let m = LOCATIONS.get(o);
  if (!m) LOCATIONS.set(o, (m = new Map()));
  let uri = m.get(spec);
  if (uri === undefined) {
    uri = locationUriOf(spec, o, what);
    if (m.size < 1000) m.set(spec, uri);
  }
  return uri;
}

function locationUriOf(spec: LocationSpec, o: IdentifierOptions, what: string): string {
  let gln: string;
  let ext = "0";
  if (typeof spec === "object" && spec !== null) {
    gln = spec.gln;
    if (spec.extension !== undefined && spec.extension !== "") ext = spec.extension;
  } else if (typeof spec === "string" && /^[0-9]{13}(\.[!-~]{1,20})?$/.test(spec)) {
    const dot = spec.indexOf(".");
    gln = dot < 0 ? spec : spec.slice(0, dot);
    if (dot >= 0) ext = spec.slice(dot + 1);
  } else if (typeof spec === "string" && /^[a-z][a-z0-9+.-]*:\S+$/i.test(spec)) {
    return spec;
  } else throw new EpcisError("BadLocation", `${what} ${JSON.stringify(spec)} is neither a 13-digit GLN (optionally GLN.extension) nor a URI`);
  if (!gs1.isValidGln(gln)) throw new EpcisError("BadLocation", `${what} GLN ${JSON.stringify(gln)} is not 13 digits with a valid check digit`);
  if ((o.identifiers ?? "epc") === "digitalLink") {
    const stem = (o.digitalLinkDomain ?? gs1.CANONICAL_DL_STEM).replace(/\/+$/, "");
    return ext === "0" ? `${stem}/414/${gln}` : `${stem}/414/${gln}/254/${encodeURIComponent(ext)}`;
  }
  const cp = prefixLength(o, { ai: "414", value: gln });
  return `urn:epc:id:sgln:${gln.slice(0, cp)}.${gln.slice(cp, 12)}.${epcEscape(ext)}`;
}

/** A party (source/destination): a GLN as pgln / Digital Link 417, or a URI kept. */
export function partyUri(spec: string, o: IdentifierOptions, what: string): string {
  if (/^[a-z][a-z0-9+.-]*:\S+$/i.test(spec)) return spec;
  if (!/^[0-9]{13}$/.test(spec) || !gs1.isValidGln(spec)) throw new EpcisError("BadLocation", `${what} ${JSON.stringify(spec)} is neither a GLN nor a URI`);
  if ((o.identifiers ?? "epc") === "digitalLink") return `${(o.digitalLinkDomain ?? gs1.CANONICAL_DL_STEM).replace(/\/+$/, "")}/417/${spec}`;
  const cp = prefixLength(o, { ai: "417", value: spec });
  return `urn:epc:id:pgln:${spec.slice(0, cp)}.${spec.slice(cp, 12)}`;
}

const EPC_ESC: Record<string, string> = { '"': "%22", "%": "%25", "&": "%26", "/": "%2F", "<": "%3C", ">": "%3E", "?": "%3F" };
function epcEscape(s: string): string {
  return s.replace(/["%&/<>?]/g, (c) => EPC_ESC[c]);
}

/**
 * The constrained canonical GS1 Digital Link of an identifier (CBV 2.0 event hash rules 17-18): EPC URIs of
 * every GS1 scheme and class pattern converted, custom domains replaced by id.gs1.org, query strings dropped,
 * finest key level only. Anything that is not a GS1 identifier comes back unchanged.
 */
export function canonicalDigitalLink(uri: string): string {
  if (uri.startsWith("urn:epc:")) return epcUrnToDigitalLink(uri) ?? uri;
  if (/^https?:\/\//.test(uri)) return digitalLinkToCanonical(uri) ?? uri;
  return uri;
}

/** The serial number a person knows an identifier by: the serial of an SGTIN, the SSCC, else the URI. */
export function serialOfUri(uri: string): string {
  try {
    const ais = uri.startsWith("urn:epc:id:") ? gs1.fromEpcUri(uri) : /^https?:\/\//.test(uri) ? gs1.parse(uri, { associations: false }) : null;
    if (ais) return gs1.valueOf(ais, "21") ?? gs1.valueOf(ais, "00") ?? uri;
  } catch {
    /* not an SGTIN/SSCC: the URI names it */
  }
  return uri;
}

/** Is this identifier a logistic unit (SSCC)? */
export function isSscc(uri: string): boolean {
  return uri.startsWith("urn:epc:id:sscc:") || /^https?:\/\/[^/]+(\/.*)?\/00\/[0-9]{18}$/.test(uri);
}
