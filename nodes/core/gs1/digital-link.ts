/* GS1 Digital Link URIs (GS1 Digital Link standard 1.x, rules from the syntax dictionary's dlpkey and "?" flag).
   Written here rather than with digital-link.js: that package pulls an unmaintained single-author check-digit
   package and an ABNF engine, and we need our own error codes and positions anyway. */
import { checkValue, getAi, type AiDefinition } from "./ai";
import { checkList, type AiValue } from "./element";
import { GS1Error, type GS1Issue, showChar } from "./errors";

export const CANONICAL_DL_STEM = "https://id.gs1.org";

/** Deprecated alphabetic path names that GS1 still parses. */
const ALIASES: Record<string, string> = {
  gtin: "01", itip: "8006", cpv: "22", lot: "10", ser: "21", sscc: "00", gln: "414", glnx: "254",
  party: "417", gdti: "253", ginc: "401", gsin: "402", grai: "8003", giai: "8004", cpid: "8010",
  cpsn: "8011", gmn: "8013", gsrnp: "8017", gsrn: "8018", srin: "8019", gcn: "255", tpx: "235",
};

const KEEP = new Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!'()*,:;");

/** Percent-encode a value for a path segment or query value; "&", "/", "?", "+", "%", "=" and the like are escaped. */
export function dlEscape(v: string): string {
  let s = "";
  for (const ch of v) s += KEEP.has(ch) ? ch : Buffer.from(ch, "utf8").reduce((acc, b) => acc + "%" + b.toString(16).toUpperCase().padStart(2, "0"), "");
  return s;
}

function decode(raw: string, at: number, issues: GS1Issue[], query: boolean): string | null {
  const s = query ? raw.replace(/\+/g, " ") : raw;
  try {
    return decodeURIComponent(s);
  } catch {
    const m = /%(?![0-9A-Fa-f]{2})/.exec(s);
    const p = at + (m ? m.index : 0);
    issues.push({ code: "DigitalLinkBadEncoding", position: p, message: `bad percent-encoding in ${JSON.stringify(raw)} at position ${p}` });
    return null;
  }
}

function keyDef(seg: string): AiDefinition | undefined {
  const ai = ALIASES[seg] ?? seg;
  const d = /^[0-9]{2,4}$/.test(ai) ? getAi(ai) : undefined;
  return d && d.dlKey ? d : undefined;
}

function aiOf(seg: string): string {
  return ALIASES[seg] ?? seg;
}

/** Is `qs` (in order) a subsequence of one alternative qualifier sequence of the key? */
function qualifiersFit(key: AiDefinition, qs: string[]): boolean {
  return (key.dlKey ?? [[]]).some((alt) => {
    let k = 0;
    for (const q of qs) {
      while (k < alt.length && alt[k] !== q) k++;
      if (k === alt.length) return false;
      k++;
    }
    return true;
  });
}

/** Read a Digital Link URI into AIs: primary key, key qualifiers, then the query's data attributes in order. */
export function readDigitalLink(uri: string, issues: GS1Issue[]): AiValue[] {
  const m = /^(https?):\/\/([^/?#]+)([^?#]*)(\?[^#]*)?(#.*)?$/i.exec(uri);
  if (!m || !/^(http|https|HTTP|HTTPS)$/.test(m[1])) {
    issues.push({ code: "BadDigitalLink", position: 0, message: `${JSON.stringify(uri.slice(0, 60))} is not an http(s) URI with a host (the scheme must be all lower or all upper case)` });
    return [];
  }
  for (let i = 0; i < uri.length; i++) {
    const c = uri.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) {
      issues.push({ code: c >= 0x7f ? "NonAsciiCharacter" : "ControlCharacter", position: i, message: `${showChar(uri[i])} at position ${i} is not allowed in a Digital Link URI (percent-encode it)` });
      return [];
    }
  }
  const pathStart = m[1].length + 3 + m[2].length;
  const path = m[3];
  const segs: Array<{ s: string; at: number }> = [];
  let at = pathStart + 1;
  for (const s of path.split("/").slice(1)) {
    segs.push({ s, at });
    at += s.length + 1;
  }
  if (segs.length && segs[segs.length - 1].s === "") segs.pop();
  let start = -1;
  let truncated = -1;
  for (let i = 0; i < segs.length; i++) {
    if (!keyDef(segs[i].s)) continue;
    if ((segs.length - i) % 2 === 0) {
      start = i;
      break;
    }
    if (truncated < 0) truncated = i;
  }
  if (start < 0) {
    if (truncated >= 0) {
      const last = segs[segs.length - 1];
      issues.push({ code: "DigitalLinkTruncated", ai: aiOf(last.s), position: last.at, message: `Digital Link path ends with AI (${aiOf(last.s)}) at position ${last.at} and no value after it: the URI is truncated` });
    } else {
      issues.push({ code: "DigitalLinkNoPrimaryKey", position: pathStart, message: `no GS1 primary key (such as /01/<GTIN> or /00/<SSCC>) in the path of ${JSON.stringify(uri.slice(0, 80))}` });
    }
    return [];
  }
  const key = keyDef(segs[start].s) as AiDefinition;
  const out: AiValue[] = [];
  const quals: string[] = [];
  for (let i = start; i < segs.length; i += 2) {
    const ai = aiOf(segs[i].s);
    const def = getAi(ai);
    if (!def) {
      issues.push({ code: "UnknownAI", ai, position: segs[i].at, message: `AI (${ai}) at position ${segs[i].at} is not a GS1 Application Identifier` });
      return out;
    }
    if (i > start) {
      quals.push(ai);
      if (!qualifiersFit(key, quals)) {
        const alts = (key.dlKey ?? [[]]).map((a) => (a.length ? a.join(",") : "none")).join(" or ");
        issues.push({ code: "DigitalLinkBadQualifier", ai, position: segs[i].at, message: `AI (${ai}) at position ${segs[i].at} is not a key qualifier of (${key.ai}) in this order (allowed, in order: ${alts})` });
        return out;
      }
    }
    const raw = segs[i + 1];
    const value = decode(raw.s, raw.at, issues, false);
    if (value === null) return out;
    if (ai === "01" && /^[0-9]+$/.test(value) && [8, 12, 13].includes(value.length)) {
      issues.push({ code: "DigitalLinkZeroSuppressedGtin", ai, position: raw.at, message: `AI (01) at position ${raw.at}: a Digital Link GTIN must have 14 digits, got ${value.length} (pad it with leading zeros)` });
      return out;
    }
    issues.push(...checkValue(def, value, raw.at));
    out.push({ ai, value });
  }
  if (m[4]) {
    let qat = pathStart + path.length + 1;
    for (const pair of m[4].slice(1).split("&")) {
      const eq = pair.indexOf("=");
      const k = eq < 0 ? pair : pair.slice(0, eq);
      const at0 = qat;
      qat += pair.length + 1;
      if (!/^[0-9]+$/.test(k)) continue; // non-GS1 query parameters (linkType, context, ...) are not data
      const def = getAi(k);
      if (!def) {
        issues.push({ code: "UnknownAI", ai: k, position: at0, message: `query key ${k} at position ${at0} is not a GS1 Application Identifier` });
        continue;
      }
      if (!def.dlAttr) {
        issues.push({ code: "DigitalLinkBadAttribute", ai: k, position: at0, message: `AI (${k}) at position ${at0} is not allowed as a Digital Link data attribute` });
        continue;
      }
      const value = decode(eq < 0 ? "" : pair.slice(eq + 1), at0 + k.length + 1, issues, true);
      if (value === null) continue;
      issues.push(...checkValue(def, value, at0 + k.length + 1));
      out.push({ ai: k, value });
    }
  }
  return out;
}

/**
 * Format AIs as a Digital Link URI: the first primary key in the list, its qualifiers in the canonical
 * order, every other AI as a query attribute in the order given. `domain` may carry a path prefix.
 */
export function toDigitalLink(ais: AiValue[], domain: string = CANONICAL_DL_STEM): string {
  checkList(ais);
  if (typeof domain !== "string" || domain.length === 0) throw new GS1Error({ code: "BadInput", message: "toDigitalLink needs a domain such as https://id.gs1.org" });
  let stem = /^https?:\/\//.test(domain) ? domain : "https://" + domain;
  stem = stem.replace(/\/+$/, "");
  if (!/^https?:\/\/[^/?#\s]+(\/[^?#\s]*)?$/.test(stem)) throw new GS1Error({ code: "BadInput", message: `${JSON.stringify(domain)} is not a usable Digital Link domain` });
  const keyIndex = ais.findIndex((e) => getAi(e.ai)?.dlKey);
  if (keyIndex < 0) throw new GS1Error({ code: "DigitalLinkNoPrimaryKey", message: `none of ${ais.map((e) => `(${e.ai})`).join("")} is a Digital Link primary key` });
  const key = getAi(ais[keyIndex].ai) as AiDefinition;
  const alts = key.dlKey ?? [[]];
  const present = new Set(ais.map((e) => e.ai));
  const alt = alts.reduce((best, a) => (a.filter((q) => present.has(q)).length > best.filter((q) => present.has(q)).length ? a : best), alts[0]);
  let uri = `${stem}/${key.ai}/${dlEscape(ais[keyIndex].value)}`;
  for (const q of alt) {
    const e = ais.find((x) => x.ai === q);
    if (e) uri += `/${q}/${dlEscape(e.value)}`;
  }
  const attrs: string[] = [];
  ais.forEach((e, i) => {
    if (i === keyIndex || alt.includes(e.ai)) return;
    const def = getAi(e.ai) as AiDefinition;
    if (!def.dlAttr) throw new GS1Error({ code: "DigitalLinkBadAttribute", ai: e.ai, message: `AI (${e.ai}) can be neither a qualifier of (${key.ai}) here nor a Digital Link data attribute` });
    attrs.push(`${e.ai}=${dlEscape(e.value)}`);
  });
  return attrs.length ? `${uri}?${attrs.join("&")}` : uri;
}
