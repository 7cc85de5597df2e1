/* EPC URNs and GS1 Digital Link URIs -> the constrained canonical Digital Link of the CBV 2.0 event hash
   (CBV 2.0 §8.9 rules 17-18; GS1 TDS 2.x for the EPC schemes; GS1 Digital Link 1.x for the path). Follows the
   reference implementation's documented decisions (RalphTro/epcis-event-hash-generator, dl_normaliser):
   - every EPC scheme and class pattern with a Digital Link equivalent is converted; a URN that does not have
     the scheme's exact syntax (lengths, character set) is hashed as it stands;
   - an EPC URN's percent-escapes are kept as they are and ! ( ) * + , : are percent-encoded on top;
   - a Digital Link gets id.gs1.org, loses its query string, its CPV (22) and its lot when a serial is present,
     GTINs padded to 14 digits, convenience names (/gtin/, /ser/, ...) replaced by AIs; one whose result does
     not have the constrained syntax (e.g. a percent-escaped value) is hashed as it stands.
   Written here from those rules so the hash does not move when the gs1 module's own Digital Link parser
   tightens its validation: the hash needs the key values, not a verdict on them. */
import { checkDigit } from "../gs1/checkdigit";

const D = "https://id.gs1.org";

/** Percent-encodes the characters EPC URIs allow but Digital Link values may not carry raw. */
export function webEscape(s: string): string {
  return s.replace(/[!()*+,:]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
}

const withCd = (digits: string) => digits + checkDigit(digits);
const gtinOf = (cp: string, ir: string) => withCd(ir[0] + cp + ir.slice(1));

// TDS 2.x EPC URI characters: a percent-escape of an allowed character, or a character allowed raw
const EPC_CHAR = "(?:%2[125-9A-Fa-f]|%3[0-9A-Fa-f]|%4[1-9A-Fa-f]|%5[0-9AaFf]|%6[1-9A-Fa-f]|%7[0-9Aa]|[!')(*+,.0-9:;=A-Za-z_-])";
const CPI_CHAR = "(?:%2[3dfDF]|%3[0-9]|%4[1-9A-Fa-f]|%5[0-9Aa]|[0-9A-Z-])";
const chars = (cls: string, min: number, max: number) => new RegExp(`^${cls}{${min},${max}}$`);
const digits = (n: number) => new RegExp(`^[0-9]{${n}}$`);

/** "cp.ref" with cp 6-12 digits and cp+ref = total digits */
function split(cp: string, ref: string, total: number): boolean {
  return /^[0-9]{6,12}$/.test(cp) && /^[0-9]*$/.test(ref) && cp.length + ref.length === total;
}

/** The canonical Digital Link of an EPC URN, or undefined when it is not a GS1 EPC of exact syntax. */
export function epcUrnToDigitalLink(urn: string): string | undefined {
  let m: RegExpExecArray | null;
  if ((m = /^urn:epc:id:(sgtin|upui):([0-9]+)\.([0-9]+)\.(.+)$/.exec(urn))) {
    const [, scheme, cp, ir, s] = m;
    if (!split(cp, ir, 13) || !chars(EPC_CHAR, 1, scheme === "sgtin" ? 20 : 28).test(s)) return undefined;
    return `${D}/01/${gtinOf(cp, ir)}/${scheme === "sgtin" ? "21" : "235"}/${webEscape(s)}`;
  }
  if ((m = /^urn:epc:id:sscc:([0-9]+)\.([0-9]+)$/.exec(urn))) {
    const [, cp, sr] = m;
    return split(cp, sr, 17) ? `${D}/00/${withCd(sr[0] + cp + sr.slice(1))}` : undefined;
  }
  if ((m = /^urn:epc:id:sgln:([0-9]+)\.([0-9]*)\.(.+)$/.exec(urn))) {
    const [, cp, lr, ext] = m;
    if (!split(cp, lr, 12) || !chars(EPC_CHAR, 1, 20).test(ext)) return undefined;
    return ext === "0" ? `${D}/414/${withCd(cp + lr)}` : `${D}/414/${withCd(cp + lr)}/254/${webEscape(ext)}`;
  }
  if ((m = /^urn:epc:id:(grai|gdti|sgcn):([0-9]+)\.([0-9]*)\.(.*)$/.exec(urn))) {
    const [, scheme, cp, ref, s] = m;
    if (!split(cp, ref, 12)) return undefined;
    const ok = scheme === "grai" ? chars(EPC_CHAR, 1, 16).test(s) : scheme === "gdti" ? chars(EPC_CHAR, 0, 19).test(s) : /^[0-9]{1,12}$/.test(s);
    if (!ok) return undefined;
    const key = withCd(cp + ref);
    if (scheme === "grai") return `${D}/8003/0${withCd("0" + cp + ref).slice(1)}${webEscape(s)}`;
    return scheme === "gdti" ? `${D}/253/${key}${webEscape(s)}` : `${D}/255/${key}${s}`;
  }
  if ((m = /^urn:epc:id:(giai|ginc):([0-9]+)\.(.+)$/.exec(urn))) {
    const [, scheme, cp, ref] = m;
    if (!/^[0-9]{6,12}$/.test(cp) || !chars(EPC_CHAR, 1, 30 - cp.length).test(ref)) return undefined;
    return `${D}/${scheme === "giai" ? "8004" : "401"}/${cp}${webEscape(ref)}`;
  }
  if ((m = /^urn:epc:id:(gsrn|gsrnp|gsin|pgln):([0-9]+)\.([0-9]*)$/.exec(urn))) {
    const [, scheme, cp, ref] = m;
    const total = { gsrn: 17, gsrnp: 17, gsin: 16, pgln: 12 }[scheme] as number;
    if (!split(cp, ref, total)) return undefined;
    return `${D}/${{ gsrn: "8018", gsrnp: "8017", gsin: "402", pgln: "417" }[scheme]}/${withCd(cp + ref)}`;
  }
  if ((m = /^urn:epc:id:cpi:([0-9]+)\.(.+)\.([0-9]{1,12})$/.exec(urn))) {
    const [, cp, ref, s] = m;
    if (!/^[0-9]{6,12}$/.test(cp) || !chars(CPI_CHAR, 1, 30 - cp.length).test(ref)) return undefined;
    return `${D}/8010/${webEscape(cp + ref)}/8011/${s}`;
  }
  if ((m = /^urn:epc:id:itip:([0-9]+)\.([0-9]+)\.([0-9]{2})\.([0-9]{2})\.(.+)$/.exec(urn))) {
    const [, cp, ir, pos, of, s] = m;
    if (!split(cp, ir, 13) || !chars(EPC_CHAR, 1, 20).test(s)) return undefined;
    return `${D}/8006/${gtinOf(cp, ir)}${pos}${of}/21/${webEscape(s)}`;
  }
  if ((m = /^urn:epc:class:lgtin:([0-9]+)\.([0-9]+)\.(.+)$/.exec(urn))) {
    const [, cp, ir, lot] = m;
    if (!split(cp, ir, 13) || !chars(EPC_CHAR, 1, 20).test(lot)) return undefined;
    return `${D}/01/${gtinOf(cp, ir)}/10/${webEscape(lot)}`;
  }
  if ((m = /^urn:epc:idpat:(sgtin|upui):([0-9]+)\.([0-9]+)\.\*$/.exec(urn))) {
    return split(m[2], m[3], 13) ? `${D}/01/${gtinOf(m[2], m[3])}` : undefined;
  }
  if ((m = /^urn:epc:idpat:(grai|gdti|sgcn):([0-9]+)\.([0-9]*)\.\*$/.exec(urn))) {
    const [, scheme, cp, ref] = m;
    if (!split(cp, ref, 12)) return undefined;
    if (scheme === "grai") return `${D}/8003/${withCd("0" + cp + ref)}`;
    return `${D}/${scheme === "gdti" ? "253" : "255"}/${withCd(cp + ref)}`;
  }
  if ((m = /^urn:epc:idpat:cpi:([0-9]+)\.(.+)\.\*$/.exec(urn))) {
    const [, cp, ref] = m;
    if (!/^[0-9]{6,12}$/.test(cp) || !chars(CPI_CHAR, 1, 30 - cp.length).test(ref)) return undefined;
    return `${D}/8010/${webEscape(cp + ref)}`;
  }
  if ((m = /^urn:epc:idpat:itip:([0-9]+)\.([0-9]+)\.([0-9]{2})\.([0-9]{2})\.\*$/.exec(urn))) {
    return split(m[1], m[2], 13) ? `${D}/8006/${gtinOf(m[1], m[2])}${m[3]}${m[4]}` : undefined;
  }
  return undefined;
}

const KEYS = ["01", "gtin", "8006", "itip", "8010", "cpid", "414", "gln", "417", "party", "8017", "gsrnp", "8018", "gsrn", "255", "gcn", "00", "sscc", "253", "gdti", "401", "ginc", "402", "gsin", "8003", "grai", "8004", "giai"];
const ALIASES: Array<[string, string]> = [
  ["gtin", "01"], ["itip", "8006"], ["cpid", "8010"], ["gln", "414"], ["party", "417"], ["gsrnp", "8017"], ["gsrn", "8018"], ["gcn", "255"], ["sscc", "00"],
  ["gdti", "253"], ["ginc", "401"], ["gsin", "402"], ["grai", "8003"], ["giai", "8004"], ["cpv", "22"], ["lot", "10"], ["ser", "21"],
];
// the order in which the primary key is looked for when the domain is replaced
const DOMAIN_KEYS = ["00", "01", "253", "255", "401", "402", "414", "417", "8003", "8004", "8006", "8010", "8017", "8018"];
// the characters a constrained canonical Digital Link value may hold raw
const V = "[\"'\\-.0-9;-?A-Z_a-z]";
const ESC = (s: string) => s.replace(/[.]/g, "\\.").replace(/\//g, "\\/");
const CANON = `^${ESC(D)}\\/`;
const SYNTAX = [
  `00\\/\\d{18}`, `01\\/\\d{14}\\/21\\/${V}{0,20}`, `01\\/\\d{14}\\/10\\/${V}{0,20}`, `01\\/\\d{14}`, `01\\/\\d{14}\\/235\\/${V}{0,28}`,
  `253\\/\\d{13}${V}{0,17}`, `255\\/\\d{13}\\d{0,12}`, `401\\/${V}{0,30}`, `402\\/\\d{17}`, `414\\/\\d{13}`, `414\\/\\d{13}\\/254\\/${V}{0,20}`, `417\\/\\d{13}`,
  `8003\\/\\d{14}${V}{0,16}`, `8004\\/${V}{0,30}`, `8006\\/\\d{18}\\/21\\/${V}{0,20}`, `8006\\/\\d{18}\\/10\\/${V}{0,20}`, `8006\\/\\d{18}`,
  `8010\\/[#\\-\\/0-9A-Z]{0,30}\\/8011\\/\\d{0,12}`, `8010\\/[#\\-\\/0-9A-Z]{0,30}`, `8017\\/\\d{18}`, `8018\\/\\d{18}`,
].map((p) => new RegExp(`${CANON}${p}$`));

/** The constrained canonical form of an http(s) GS1 Digital Link URI, or undefined when the URI is not one. */
export function digitalLinkToCanonical(uri: string): string | undefined {
  const pathPart = uri.replace(/[?#].*$/, "");
  if (!/^https?:\/\//.test(uri) || !new RegExp(`\\/(${KEYS.join("|")})\\/\\d{4}[^/]+`).test(pathPart.replace(/^https?:\/\/[^/]*/, ""))) return undefined;
  let u = uri.includes("?") ? uri.slice(0, uri.indexOf("?")) : uri;
  for (const [alias, ai] of ALIASES) u = u.split(`/${alias}/`).join(`/${ai}/`);
  if (!new RegExp(`${CANON}(01|8006|8010|414|417|8017|8018|255|00|253|401|402|8003|8004)\\/\\d{4}`).test(u)) {
    for (const k of DOMAIN_KEYS) {
      const at = u.indexOf(`/${k}/`);
      if (at >= 0) {
        u = D + u.slice(at);
        break;
      }
    }
  }
  // GTIN-8/12/13 -> GTIN-14
  const g = new RegExp(`${CANON}01\\/(\\d+)`).exec(u);
  if (g && !/^\d{14}/.test(g[1])) {
    const pad = /^\d{13}/.test(g[1]) ? "0" : /^\d{12}/.test(g[1]) ? "00" : /^\d{8}/.test(g[1]) ? "000000" : "";
    u = u.split("/01/").join(`/01/${pad}`);
  }
  // the CPV (22) is not part of the identity at this level
  const cpv = new RegExp(`${CANON}(8006\\/\\d{18}|01\\/\\d{14})\\/22\\/([\\/"'\\-.0-9;-?A-Z_a-z]{0,20})$`).exec(u);
  if (cpv) {
    const after = u.slice(u.indexOf("/22/") + 4);
    u = u.slice(0, u.indexOf("/22/")) + (after.includes("/") ? after.slice(after.indexOf("/")) : "");
  }
  // the finest level only: a serial makes the lot redundant
  if (new RegExp(`${CANON}(8006\\/\\d{18}|01\\/\\d{14})\\/10\\/${V}{0,20}\\/21\\/${V}{0,20}$`).test(u)) {
    const after = u.slice(u.indexOf("/10/") + 4);
    u = u.slice(0, u.indexOf("/10/")) + after.slice(after.indexOf("/"));
  }
  return SYNTAX.some((r) => r.test(u)) ? u : undefined;
}
