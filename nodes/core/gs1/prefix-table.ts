/* GS1 Company Prefix length table. A GTIN, SSCC or GLN does not say where its company prefix ends, but an EPC URI
   must: the length comes from the company's own master data or from GS1's published prefix format list
   (gcpprefixformatlist.xml: <entry prefix="..." gcpLength="..."/>, longest prefix wins). */
import * as fs from "fs";
import { GS1Error } from "./errors";
import type { AiValue } from "./element";

export interface PrefixTable {
  /** the GS1 Company Prefix length of a key whose company prefix starts the given digits, or undefined */
  lengthOf(digits: string): number | undefined;
  /** number of prefixes in the table */
  readonly size: number;
}

/** A table as given by a user: a ready table, { prefix: length } or [{ prefix, length }]. */
export type PrefixTableInput = PrefixTable | Record<string, number> | Array<{ prefix: string; length: number }>;

class LongestPrefixTable implements PrefixTable {
  private readonly byPrefix = new Map<string, number>();
  private maxLen = 0;
  constructor(entries: Array<{ prefix: string; length: number }>, source: string) {
    for (const { prefix, length } of entries) {
      if (typeof prefix !== "string" || !/^[0-9]{1,12}$/.test(prefix)) throw new GS1Error({ code: "BadCompanyPrefix", message: `${source}: prefix ${JSON.stringify(prefix)} is not 1-12 digits` });
      if (!Number.isInteger(length) || length < 0 || length > 12) throw new GS1Error({ code: "BadCompanyPrefix", message: `${source}: company prefix length ${JSON.stringify(length)} for prefix ${prefix} is not an integer 0-12` });
      const prev = this.byPrefix.get(prefix);
      if (prev !== undefined && prev !== length) throw new GS1Error({ code: "BadCompanyPrefix", message: `${source}: prefix ${prefix} is listed with lengths ${prev} and ${length}` });
      this.byPrefix.set(prefix, length);
      this.maxLen = Math.max(this.maxLen, prefix.length);
    }
  }
  get size(): number {
    return this.byPrefix.size;
  }
  lengthOf(digits: string): number | undefined {
    for (let n = Math.min(this.maxLen, digits.length); n >= 1; n--) {
      const len = this.byPrefix.get(digits.slice(0, n));
      if (len !== undefined) return len;
    }
    return undefined;
  }
}

function isTable(t: unknown): t is PrefixTable {
  return typeof t === "object" && t !== null && typeof (t as PrefixTable).lengthOf === "function";
}

/** A company prefix table from { "0614141": 7, ... } or [{ prefix: "0614141", length: 7 }, ...]. */
export function prefixTable(input: PrefixTableInput): PrefixTable {
  if (isTable(input)) return input;
  if (Array.isArray(input)) return new LongestPrefixTable(input, "prefix table");
  if (typeof input !== "object" || input === null) throw new GS1Error({ code: "BadInput", message: "a company prefix table is { prefix: length } or [{ prefix, length }]" });
  return new LongestPrefixTable(Object.entries(input).map(([prefix, length]) => ({ prefix, length })), "prefix table");
}

/** "0614141:7, 401234567:9" (also "=", ";" or new lines between entries) -> { prefix: length }; a wrong entry is BadCompanyPrefix, named. */
export function parseCompanyPrefixList(text: string): Record<string, number> {
  if (typeof text !== "string") throw new GS1Error({ code: "BadInput", message: "company prefixes: expected text such as 0614141:7, 401234567:9" });
  const table: Record<string, number> = {};
  for (const item of text.split(/[,;\n]+/).map((t) => t.trim()).filter(Boolean)) {
    const m = /^([0-9]{4,12})\s*[:=]\s*([0-9]{1,2})$/.exec(item);
    if (!m) throw new GS1Error({ code: "BadCompanyPrefix", message: `company prefixes: ${JSON.stringify(item)} is not prefix:length (e.g. 0614141:7)` });
    const n = Number(m[2]);
    if (n < 6 || n > 12) throw new GS1Error({ code: "BadCompanyPrefix", message: `company prefixes: ${item}: a GS1 Company Prefix length is 6 to 12` });
    if (table[m[1]] !== undefined && table[m[1]] !== n) throw new GS1Error({ code: "BadCompanyPrefix", message: `company prefixes: ${m[1]} is listed with lengths ${table[m[1]]} and ${n}` });
    table[m[1]] = n;
  }
  return table;
}

const ATTR = /([A-Za-z_:][-\w:.]*)\s*=\s*("([^"]*)"|'([^']*)')/g;

/** Read GS1's gcpprefixformatlist.xml (its <entry prefix="..." gcpLength="..."/> elements). */
export function parseGcpPrefixFormatList(xml: string, source = "GCP prefix format list"): PrefixTable {
  if (typeof xml !== "string") throw new GS1Error({ code: "BadInput", message: `${source}: expected XML text` });
  if (!/<GCPPrefixFormatList[\s>]/.test(xml)) throw new GS1Error({ code: "BadInput", message: `${source}: no <GCPPrefixFormatList> element: not GS1's gcpprefixformatlist.xml` });
  const entries: Array<{ prefix: string; length: number }> = [];
  const el = /<entry\b([^>]*?)\/?>/g;
  let m: RegExpExecArray | null;
  while ((m = el.exec(xml))) {
    const attrs: Record<string, string> = {};
    let a: RegExpExecArray | null;
    ATTR.lastIndex = 0;
    while ((a = ATTR.exec(m[1]))) attrs[a[1]] = a[3] ?? a[4];
    const line = xml.slice(0, m.index).split("\n").length;
    if (attrs.prefix === undefined || attrs.gcpLength === undefined || !/^[0-9]+$/.test(attrs.gcpLength)) {
      throw new GS1Error({ code: "BadCompanyPrefix", message: `${source} line ${line}: an <entry> needs prefix="digits" and gcpLength="digits", got ${m[0].trim()}` });
    }
    entries.push({ prefix: attrs.prefix, length: Number(attrs.gcpLength) });
  }
  if (entries.length === 0) throw new GS1Error({ code: "BadInput", message: `${source}: no <entry prefix=... gcpLength=.../> elements` });
  return new LongestPrefixTable(entries, source);
}

/** Read gcpprefixformatlist.xml from a file. */
export function loadGcpPrefixFormatList(path: string): PrefixTable {
  return parseGcpPrefixFormatList(fs.readFileSync(path, "utf8"), path);
}

// where the company prefix starts in each keyed AI's value (after an indicator / extension / padding digit)
const CP_OFFSET: Record<string, number> = {
  "00": 1, "01": 1, "02": 1, "03": 1, "8006": 1, "8026": 1, "8003": 1,
  "253": 0, "255": 0, "401": 0, "402": 0, "410": 0, "411": 0, "412": 0, "413": 0, "414": 0, "415": 0, "416": 0, "417": 0,
  "8004": 0, "8010": 0, "8013": 0, "8017": 0, "8018": 0,
};

/** The digits a company prefix starts, for a key string (GTIN-8/12/13/14, GLN, SSCC) or an { ai, value }. */
function cpDigits(key: string | AiValue): { digits: string; what: string } {
  if (typeof key === "object" && key !== null && typeof key.ai === "string" && typeof key.value === "string") {
    const off = CP_OFFSET[key.ai];
    if (off === undefined) throw new GS1Error({ code: "BadInput", ai: key.ai, message: `AI (${key.ai}) is not a GS1 key with a company prefix` });
    return { digits: key.value.slice(off), what: `(${key.ai}) ${key.value}` };
  }
  if (typeof key !== "string" || !/^[0-9]+$/.test(key)) throw new GS1Error({ code: "BadInput", message: `expected a GTIN, GLN or SSCC of digits, got ${JSON.stringify(key)}` });
  switch (key.length) {
    case 8: return { digits: "00000" + key, what: `GTIN-8 ${key}` }; // GS1-8 prefix, normalised as GS1 does
    case 12: return { digits: "0" + key, what: `GTIN-12 ${key}` }; // UPC company prefix, normalised with a leading 0
    case 13: return { digits: key, what: `GTIN-13/GLN ${key}` };
    case 14: return { digits: key.slice(1), what: `GTIN ${key}` };
    case 18: return { digits: key.slice(1), what: `SSCC ${key}` };
    default: throw new GS1Error({ code: "BadInput", message: `${key} is ${key.length} digits: expected a GTIN (8, 12, 13, 14), a GLN (13) or an SSCC (18); pass { ai, value } for other keys` });
  }
}

/**
 * The GS1 Company Prefix length of a key, from a prefix table (longest matching prefix), or undefined when the table
 * has no entry for it. Throws BadCompanyPrefix when the entry is not an EPC-usable length (6-12).
 */
export function findPrefixLength(key: string | AiValue, table: PrefixTableInput): number | undefined {
  const { digits, what } = cpDigits(key);
  const n = prefixTable(table).lengthOf(digits);
  if (n === undefined) return undefined;
  if (n < 6 || n > 12) throw new GS1Error({ code: "BadCompanyPrefix", message: `the company prefix table gives length ${n} for ${what}: an EPC URI needs a GS1 Company Prefix of 6-12 digits` });
  return n;
}

/**
 * The GS1 Company Prefix length of a key, from a prefix table (longest matching prefix).
 * Throws BadCompanyPrefix when the table has no entry for it, or the entry is not an EPC-usable length (6-12).
 */
export function prefixLength(key: string | AiValue, table: PrefixTableInput): number {
  const n = findPrefixLength(key, table);
  if (n === undefined) throw new GS1Error({ code: "BadCompanyPrefix", message: `the company prefix table has no entry for ${cpDigits(key).what}: add its GS1 Company Prefix (prefix -> length)` });
  return n;
}
