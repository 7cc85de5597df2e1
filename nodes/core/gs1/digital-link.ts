/* GS1 Digital Link URIs (GS1 Digital Link standard 1.x, rules from the syntax dictionary's dlpkey and "?" flag).
   Written here rather than with digital-link.js: that package pulls an unmaintained single-author check-digit
   package and an ABNF engine, and we need our own error codes and positions anyway. */
import { checkValue, getAi, type AiDefinition } from "./ai";
import { checkList, type AiValue } from "./element";
import { GS1Error, type GS1Issue, showChar } from "./errors";

export const CANONICAL_DL_STEM = "https://id.gs1.org";

/**
 * Convenience alphas (deprecated path names such as /gtin/): the GS1 Syntax Engine's list. Refused unless
 * the caller permits them (`permitConvenienceAlphas`), as GS1's reference parser does by default.
 */
const ALPHAS: Record<string, string> = {
  cpid: "8010", cpsn: "8011", cpv: "22", gcn: "255", gdti: "253", giai: "8004", ginc: "401", gln: "414", glnx: "254",
  gmn: "8013", grai: "8003", gsin: "402", gsrn: "8018", gsrnp: "8017", gtin: "01", itip: "8006", lot: "10",
  party: "417", refno: "8020", ser: "21", srin: "8019", sscc: "00",
};

/** Characters allowed anywhere in a URI (RFC 3986 unreserved, reserved and "%"). */
const URI_CHARS = new Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#[]@!$&'()*+,;=%");
/** URI characters that have no place in a Digital Link host (user info, IPv6 zone identifiers "%25", sub-delimiters). */
const BAD_HOST_CHARS = /[_~?#@!$&'()*+,;=%]/;

export interface DigitalLinkOptions {
  /** accept the deprecated convenience alphas (/gtin/, /ser/, ...) in the path (default false, as GS1) */
  permitConvenienceAlphas?: boolean;
}

/** URI unreserved characters: every other byte of a value is percent-encoded (GS1 Digital Link: set 82 reserved characters). */
const KEEP = new Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~");

/** Percent-encode a value for a path segment or query value: everything but the URI unreserved characters is escaped. */
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

/** The AI a path segment names: digits of a known AI, or (when permitted) a convenience alpha. */
function segAi(seg: string, o: DigitalLinkOptions): AiDefinition | undefined {
  if (o.permitConvenienceAlphas && seg.length >= 3 && seg.length <= 5 && !/^[0-9]/.test(seg) && Object.hasOwn(ALPHAS, seg)) return getAi(ALPHAS[seg]);
  return /^[0-9]{2,4}$/.test(seg) ? getAi(seg) : undefined;
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

/** Is [key, ...qs] a key-qualifier sequence the dictionary's dlpkey allows? */
function validSequence(key: AiDefinition, qs: string[]): boolean {
  return qualifiersFit(key, qs) && new Set(qs).size === qs.length;
}

/**
 * Read a Digital Link URI into AIs: primary key, key qualifiers, then the query's data attributes in order.
 * Rules of the GS1 Digital Link standard as GS1's reference parser applies them: the primary key is the
 * rightmost key of the path (what precedes it is the URI stem), qualifiers follow in the dictionary's order,
 * no trailing slash, no AI twice, no key qualifier in the query, only "?" attributes in the query.
 */
export function readDigitalLink(uri: string, issues: GS1Issue[], o: DigitalLinkOptions = {}): AiValue[] {
  for (let i = 0; i < uri.length; i++) {
    const c = uri.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) {
      issues.push({ code: c >= 0x7f ? "NonAsciiCharacter" : "ControlCharacter", position: i, message: `${showChar(uri[i])} at position ${i} is not allowed in a Digital Link URI (percent-encode it)` });
      return [];
    }
    if (!URI_CHARS.has(uri[i])) {
      issues.push({ code: "BadDigitalLink", position: i, message: `${showChar(uri[i])} at position ${i} is not allowed in a URI (percent-encode it)` });
      return [];
    }
  }
  const m = /^(https?):\/\/([^/?#]*)([^?#]*)(\?[^#]*)?(#.*)?$/i.exec(uri);
  if (!m || !/^(http|https|HTTP|HTTPS)$/.test(m[1])) {
    issues.push({ code: "BadDigitalLink", position: 0, message: `${JSON.stringify(uri.slice(0, 60))} is not an http(s) URI with a host (the scheme must be all lower or all upper case)` });
    return [];
  }
  const hostAt = m[1].length + 3;
  const host = m[2];
  const badHost = host.search(BAD_HOST_CHARS);
  if (host.length === 0 || badHost >= 0) {
    const p = hostAt + Math.max(badHost, 0);
    const why = host.length === 0 ? "the URI has no host" : host[badHost] === "%" ? `"%" at position ${p} is not allowed in the host (an IPv6 zone identifier has no place in a Digital Link)` : `${showChar(host[badHost])} at position ${p} is not allowed in the host`;
    issues.push({ code: "BadDigitalLink", position: p, message: `${JSON.stringify(uri.slice(0, 80))}: ${why}` });
    return [];
  }
  const pathStart = hostAt + host.length;
  const path = m[3];
  if (path.length > 1 && path.endsWith("/")) {
    const p = pathStart + path.length - 1;
    issues.push({ code: "BadDigitalLink", position: p, message: `Digital Link path ends with "/" at position ${p}: a trailing slash after the last path element is not allowed` });
    return [];
  }
  const segs: Array<{ s: string; at: number }> = [];
  let at = pathStart + 1;
  for (const s of path.split("/").slice(1)) {
    segs.push({ s, at });
    at += s.length + 1;
  }
  // walk /AI/value pairs back from the end: the first primary key met is the rightmost; the rest is the stem
  let start = -1;
  for (let i = segs.length - 2; i >= 0; i -= 2) {
    const def = segAi(segs[i].s, o);
    if (!def) break;
    if (def.dlKey) {
      start = i;
      break;
    }
  }
  if (start < 0) {
    const last = segs[segs.length - 1];
    const lastDef = last ? segAi(last.s, o) : undefined;
    if (lastDef) {
      issues.push({ code: "DigitalLinkTruncated", ai: lastDef.ai, position: last.at, message: `Digital Link path ends with AI (${lastDef.ai}) at position ${last.at} and no value after it: the URI is truncated` });
    } else {
      const alpha = o.permitConvenienceAlphas ? undefined : segs.find((g) => Object.hasOwn(ALPHAS, g.s));
      const hint = alpha ? ` (convenience names such as /${alpha.s}/ are refused unless permitConvenienceAlphas is set)` : "";
      issues.push({ code: "DigitalLinkNoPrimaryKey", position: pathStart, message: `no GS1 primary key (such as /01/<GTIN> or /00/<SSCC>) in the path of ${JSON.stringify(uri.slice(0, 80))}${hint}` });
    }
    return [];
  }
  const key = segAi(segs[start].s, o) as AiDefinition;
  const out: AiValue[] = [];
  const quals: string[] = [];
  for (let i = start; i < segs.length; i += 2) {
    const def = segAi(segs[i].s, o) as AiDefinition;
    const ai = def.ai;
    if (i > start) {
      quals.push(ai);
      if (!validSequence(key, quals)) {
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
      if (eq < 0 || !/^[0-9]+$/.test(k)) continue; // non-GS1 query parameters (linkType, context, ...) are not data
      const def = getAi(k);
      if (!def) {
        issues.push({ code: "UnknownAI", ai: k, position: at0, message: `query key ${k} at position ${at0} is not a GS1 Application Identifier` });
        return out;
      }
      let value = decode(pair.slice(eq + 1), at0 + k.length + 1, issues, true);
      if (value === null) return out;
      // a GTIN-8/12/13 given as a query attribute is padded to 14 digits, as GS1's reference parser does
      if (k === "01" && /^[0-9]+$/.test(value) && [8, 12, 13].includes(value.length)) value = value.padStart(14, "0");
      if (out.some((e) => e.ai === k)) {
        issues.push({ code: "DuplicateAI", ai: k, position: at0, message: `AI (${k}) at position ${at0} appears twice in the Digital Link: an AI may be given once, in the path or in the query` });
        return out;
      }
      if (!def.dlAttr) {
        issues.push({ code: "DigitalLinkBadAttribute", ai: k, position: at0, message: `AI (${k}) at position ${at0} is not allowed as a Digital Link data attribute` });
        return out;
      }
      const pathAis = out.slice(0, 1 + quals.length).map((e) => e.ai);
      for (let j = 1; j <= pathAis.length; j++) {
        const trial = [...pathAis.slice(1, j), k, ...pathAis.slice(j)];
        if (validSequence(key, trial)) {
          issues.push({ code: "DigitalLinkQualifierInQuery", ai: k, position: at0, message: `AI (${k}) at position ${at0} is a key qualifier of (${key.ai}): it belongs in the path (/${[key.ai, ...trial].join("/…/")}/…), not in the query` });
          return out;
        }
      }
      issues.push(...checkValue(def, value, at0 + k.length + 1));
      out.push({ ai: k, value });
    }
  }
  return out;
}

/**
 * Format AIs as a Digital Link URI: the first primary key in the list, its qualifiers in the canonical
 * order, every other AI as a query attribute, those of predefined length first, each group in the order given
 * (as GS1's reference generator). An AI repeated with the same value is written once; with another value it
 * is refused (DuplicateAI). `domain` may carry a path prefix.
 */
export function toDigitalLink(ais: AiValue[], domain: string = CANONICAL_DL_STEM): string {
  checkList(ais);
  if (typeof domain !== "string" || domain.length === 0) throw new GS1Error({ code: "BadInput", message: "toDigitalLink needs a domain such as https://id.gs1.org" });
  let stem = /^https?:\/\//.test(domain) ? domain : "https://" + domain;
  stem = stem.replace(/\/+$/, "");
  if (!/^https?:\/\/[^/?#\s]+(\/[^?#\s]*)?$/.test(stem)) throw new GS1Error({ code: "BadInput", message: `${JSON.stringify(domain)} is not a usable Digital Link domain` });
  const once: AiValue[] = [];
  for (const e of ais) {
    const prev = once.find((x) => x.ai === e.ai);
    if (!prev) once.push(e);
    else if (prev.value !== e.value) throw new GS1Error({ code: "DuplicateAI", ai: e.ai, message: `AI (${e.ai}) appears twice with different values ${JSON.stringify(prev.value)} and ${JSON.stringify(e.value)}: a Digital Link carries each AI once` });
  }
  const keyIndex = once.findIndex((e) => getAi(e.ai)?.dlKey);
  if (keyIndex < 0) throw new GS1Error({ code: "DigitalLinkNoPrimaryKey", message: `none of ${ais.map((e) => `(${e.ai})`).join("")} is a Digital Link primary key` });
  const key = getAi(once[keyIndex].ai) as AiDefinition;
  const alts = key.dlKey ?? [[]];
  const present = new Set(once.map((e) => e.ai));
  const alt = alts.reduce((best, a) => (a.filter((q) => present.has(q)).length > best.filter((q) => present.has(q)).length ? a : best), alts[0]);
  let uri = `${stem}/${key.ai}/${dlEscape(once[keyIndex].value)}`;
  for (const q of alt) {
    const e = once.find((x) => x.ai === q);
    if (e) uri += `/${q}/${dlEscape(e.value)}`;
  }
  const attrs = once.filter((e, i) => i !== keyIndex && !alt.includes(e.ai));
  for (const e of attrs) {
    const def = getAi(e.ai) as AiDefinition;
    if (!def.dlAttr) throw new GS1Error({ code: "DigitalLinkBadAttribute", ai: e.ai, message: `AI (${e.ai}) can be neither a qualifier of (${key.ai}) here nor a Digital Link data attribute` });
  }
  const ordered = [...attrs.filter((e) => !(getAi(e.ai) as AiDefinition).fnc1Required), ...attrs.filter((e) => (getAi(e.ai) as AiDefinition).fnc1Required)];
  return ordered.length ? `${uri}?${ordered.map((e) => `${e.ai}=${dlEscape(e.value)}`).join("&")}` : uri;
}
