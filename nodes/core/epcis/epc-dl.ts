/* EPC URNs and GS1 Digital Link URIs -> the constrained canonical Digital Link of the CBV 2.0 event hash
   (CBV 2.0 §8.9 rules 17-18, GS1 TDS 2.x §6-7 for the EPC schemes): every EPC scheme and pattern GS1 defines
   a Digital Link for, any domain replaced by id.gs1.org, query strings dropped, one level of granularity.
   Written here from the TDS rules so that the hash does not move when the gs1 module's Digital Link parser
   tightens its checks: the hash only needs the key values, not a validation. */
import { checkDigit } from "../gs1/checkdigit";

const D = "https://id.gs1.org";

// the event hash's percent-encoding of values (reference implementation: webURIPercentEncoder)
const HASH_ESC = /[!"%&()*+,/:<>?]/g;
export function hashEscape(raw: string): string {
  return raw.replace(HASH_ESC, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

const withCd = (digits: string) => digits + checkDigit(digits);
/** GTIN-14 from an EPC company prefix and an indicator+item reference */
const gtin = (cp: string, ir: string) => withCd(ir[0] + cp + ir.slice(1));

type Conv = (p: string[]) => string | undefined;

/** EPC pure identities (urn:epc:id:<scheme>:...) and patterns/classes, by scheme: the fields between dots. */
const ID: Record<string, [number, Conv]> = {
  sgtin: [3, ([cp, ir, s]) => (cp.length + ir.length === 13 ? `/01/${gtin(cp, ir)}/21/${hashEscape(decode(s))}` : undefined)],
  sscc: [2, ([cp, sr]) => (cp.length + sr.length === 17 ? `/00/${withCd(sr[0] + cp + sr.slice(1))}` : undefined)],
  sgln: [3, ([cp, lr, e]) => (cp.length + lr.length === 12 ? (decode(e) === "0" ? `/414/${withCd(cp + lr)}` : `/414/${withCd(cp + lr)}/254/${hashEscape(decode(e))}`) : undefined)],
  grai: [3, ([cp, at, s]) => (cp.length + at.length === 12 ? `/8003/0${withCd(cp + at)}${hashEscape(decode(s))}` : undefined)],
  giai: [2, ([cp, ar]) => `/8004/${cp}${hashEscape(decode(ar))}`],
  gsrn: [2, ([cp, sr]) => (cp.length + sr.length === 17 ? `/8018/${withCd(cp + sr)}` : undefined)],
  gsrnp: [2, ([cp, sr]) => (cp.length + sr.length === 17 ? `/8017/${withCd(cp + sr)}` : undefined)],
  gdti: [3, ([cp, dt, s]) => (cp.length + dt.length === 12 ? `/253/${withCd(cp + dt)}${hashEscape(decode(s))}` : undefined)],
  sgcn: [3, ([cp, ct, s]) => (cp.length + ct.length === 12 ? `/255/${withCd(cp + ct)}${hashEscape(decode(s))}` : undefined)],
  cpi: [3, ([cp, ref, s]) => `/8010/${cp}${hashEscape(decode(ref))}/8011/${s}`],
  ginc: [2, ([cp, ref]) => `/401/${cp}${hashEscape(decode(ref))}`],
  gsin: [2, ([cp, ref]) => (cp.length + ref.length === 16 ? `/402/${withCd(cp + ref)}` : undefined)],
  itip: [5, ([cp, ir, pos, of, s]) => (cp.length + ir.length === 13 ? `/8006/${gtin(cp, ir)}${pos}${of}/21/${hashEscape(decode(s))}` : undefined)],
  upui: [3, ([cp, ir, tpx]) => (cp.length + ir.length === 13 ? `/01/${gtin(cp, ir)}/235/${hashEscape(decode(tpx))}` : undefined)],
  pgln: [2, ([cp, pr]) => (cp.length + pr.length === 12 ? `/417/${withCd(cp + pr)}` : undefined)],
};

/** Class-level patterns (urn:epc:idpat:<scheme>:... ending in *) and classes (urn:epc:class:lgtin). */
const PAT: Record<string, [number, Conv]> = {
  sgtin: [2, ([cp, ir]) => (cp.length + ir.length === 13 ? `/01/${gtin(cp, ir)}` : undefined)],
  grai: [2, ([cp, at]) => (cp.length + at.length === 12 ? `/8003/0${withCd(cp + at)}` : undefined)],
  gdti: [2, ([cp, dt]) => (cp.length + dt.length === 12 ? `/253/${withCd(cp + dt)}` : undefined)],
  sgcn: [2, ([cp, ct]) => (cp.length + ct.length === 12 ? `/255/${withCd(cp + ct)}` : undefined)],
  cpi: [2, ([cp, ref]) => `/8010/${cp}${hashEscape(decode(ref))}`],
  itip: [4, ([cp, ir, pos, of]) => (cp.length + ir.length === 13 ? `/8006/${gtin(cp, ir)}${pos}${of}` : undefined)],
  upui: [2, ([cp, ir]) => (cp.length + ir.length === 13 ? `/01/${gtin(cp, ir)}` : undefined)],
};

const DIGITS = /^[0-9]*$/;

/** The canonical Digital Link of an EPC URN, or undefined when it is not a GS1 EPC the hash converts. */
export function epcUrnToDigitalLink(urn: string): string | undefined {
  const m = /^urn:epc:(id|idpat|class):([a-z]+):(.*)$/.exec(urn);
  if (!m) return undefined;
  const [, kind, scheme, body] = m;
  if (kind === "class") {
    const c = /^([0-9]{6,12})\.([0-9]{1,7})\.(.+)$/.exec(body);
    if (scheme !== "lgtin" || !c || c[1].length + c[2].length !== 13) return undefined;
    return `${D}/01/${gtin(c[1], c[2])}/10/${hashEscape(decode(c[3]))}`;
  }
  const table = kind === "id" ? ID : PAT;
  const entry = table[scheme];
  if (!entry) return undefined;
  const [n, conv] = entry;
  const parts = body.split(".");
  if (kind === "idpat") {
    if (parts[parts.length - 1] !== "*") return undefined;
    parts.pop();
  }
  // the last field (serial, extension) may itself hold dots only in schemes whose last field is free text
  const fields = parts.length > n ? [...parts.slice(0, n - 1), parts.slice(n - 1).join(".")] : parts;
  if (fields.length !== n) return undefined;
  if (!DIGITS.test(fields[0]) || fields[0].length < 6 || fields[0].length > 12) return undefined;
  const tail = conv(fields);
  return tail === undefined ? undefined : D + tail;
}

/** Digital Link path names that stand for an AI (GS1 Digital Link 1.1 convenience aliases). */
const ALIAS: Record<string, string> = {
  gtin: "01", itip: "8006", cpv: "22", lot: "10", ser: "21", sscc: "00", gln: "414", party: "417", glnx: "254", gdti: "253",
  gcn: "255", ginc: "401", gsin: "402", grai: "8003", giai: "8004", cpid: "8010", cpsn: "8011", gsrnp: "8017", gsrn: "8018",
};
const PRIMARY = new Set(["00", "01", "253", "255", "401", "402", "414", "417", "8003", "8004", "8006", "8010", "8013", "8017", "8018"]);
/** the one qualifier kept per primary key, finest first (CBV 2.0 rule 18) */
const KEEP: Record<string, string[]> = { "01": ["21", "10", "235"], "414": ["254"], "8006": ["21"], "8010": ["8011"] };

/** The canonical form of an http(s) GS1 Digital Link URI, or undefined when the URI is not one. */
export function digitalLinkToCanonical(uri: string): string | undefined {
  const m = /^https?:\/\/[^/?#]+((?:\/[^?#]*)?)/.exec(uri);
  if (!m) return undefined;
  const segs = m[1].split("/").filter((s) => s !== "");
  const ai = (s: string) => (/^[0-9]{2,4}$/.test(s) ? s : ALIAS[s]);
  // the first position from which the rest of the path is (AI, value) pairs with a primary key first
  for (let i = 0; i + 1 < segs.length; i++) {
    if (!PRIMARY.has(ai(segs[i]) ?? "") || (segs.length - i) % 2 !== 0) continue;
    const pairs: [string, string][] = [];
    let ok = true;
    for (let j = i; j < segs.length; j += 2) {
      const a = ai(segs[j]);
      if (!a) {
        ok = false;
        break;
      }
      pairs.push([a, decode(segs[j + 1])]);
    }
    if (!ok) continue;
    const [key, value] = pairs[0];
    const get = (q: string) => pairs.find(([a]) => a === q)?.[1];
    const keyValue = key === "01" && /^[0-9]{8,13}$/.test(value) ? value.padStart(14, "0") : value;
    let out = `${D}/${key}/${hashEscape(keyValue)}`;
    for (const q of KEEP[key] ?? []) {
      const v = get(q);
      if (v !== undefined) {
        out += `/${q}/${hashEscape(v)}`;
        break;
      }
    }
    return out;
  }
  return undefined;
}
