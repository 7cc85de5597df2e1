/* Element strings (GS separated), the bracketed form, HRI lines, and the association rules. */
import { aiAt, aiMatches, assertValue, badByte, checkValue, getAi, where, type AiDefinition } from "./ai";
import { GS1Error, type GS1Issue, showChar } from "./errors";

/** One Application Identifier and its value, as read from or written to a carrier. */
export interface AiValue {
  ai: string;
  value: string;
}

export const GS = "\u001d";

/** Read a bracketed string such as (01)09506000134352(10)AB1; "\(" stands for a literal "(" in a value. */
export function readBracketed(text: string, issues: GS1Issue[]): AiValue[] {
  const out: AiValue[] = [];
  let pos = 0;
  while (pos < text.length) {
    if (text[pos] !== "(") {
      issues.push({ code: "BadBracketSyntax", position: pos, message: `expected "(" to open an AI at position ${pos}, found ${showChar(text[pos])}` });
      return out;
    }
    const close = text.indexOf(")", pos + 1);
    const ai = close < 0 ? "" : text.slice(pos + 1, close);
    if (!/^[0-9]{2,4}$/.test(ai)) {
      issues.push({ code: "BadBracketSyntax", position: pos, message: `"(" at position ${pos} is not followed by a 2- to 4-digit AI and ")"` });
      return out;
    }
    const def = getAi(ai);
    if (!def) {
      issues.push({ code: "UnknownAI", ai, position: pos + 1, message: `${where(ai, pos + 1)}: (${ai}) is not a GS1 Application Identifier` });
      return out;
    }
    const base = close + 1;
    let value = "";
    let i = base;
    for (; i < text.length; i++) {
      if (text[i] === "\\" && text[i + 1] === "(") {
        value += "(";
        i++;
      } else if (text[i] === "(") break;
      else value += text[i];
    }
    issues.push(...checkValue(def, value, base));
    out.push({ ai, value });
    pos = i;
  }
  return out;
}

/**
 * Read an element string: AIs back to back, a GS (or the "^" FNC1 notation) after every value whose AI has
 * no predefined length, unless it is last. The caller has removed any symbology identifier and leading FNC1.
 */
export function readElementString(text: string, start: number, issues: GS1Issue[]): AiValue[] {
  const out: AiValue[] = [];
  const isSep = (i: number) => text[i] === GS || text[i] === "^";
  let pos = start;
  while (pos < text.length) {
    if (isSep(pos)) {
      issues.push({ code: "UnexpectedSeparator", position: pos, message: `separator at position ${pos} where an AI was expected` });
      return out;
    }
    const def = aiAt(text, pos);
    if (!def) {
      const shown = text.slice(pos, pos + 4);
      const b = badByte(shown, undefined, pos);
      issues.push(b ?? { code: "UnknownAI", position: pos, message: `no GS1 Application Identifier starts at position ${pos} (${JSON.stringify(shown)}...)` });
      return out;
    }
    const vstart = pos + def.ai.length;
    let end: number;
    if (def.fixed) {
      end = vstart + def.maxLength;
      const value = text.slice(vstart, end);
      const cut = [...value].findIndex((_, k) => isSep(vstart + k));
      if (value.length < def.maxLength || cut >= 0) {
        const p = cut >= 0 ? vstart + cut : text.length;
        issues.push({ code: "ValueTooShort", ai: def.ai, position: p, message: `${where(def.ai, p)}: the value needs exactly ${def.maxLength} characters, the data ends or is cut by a separator after ${cut >= 0 ? cut : value.length}` });
        return out;
      }
      issues.push(...checkValue(def, value, vstart));
      out.push({ ai: def.ai, value });
      pos = end;
      if (isSep(pos)) pos++; // a separator after a predefined-length AI is redundant but harmless, even at the end
      continue;
    }
    end = vstart;
    while (end < text.length && !isSep(end)) end++;
    const value = text.slice(vstart, end);
    if (value.length > def.maxLength) {
      const p = vstart + def.maxLength;
      issues.push({ code: "MissingSeparator", ai: def.ai, position: p, message: `${where(def.ai, p)}: the value runs past its maximum of ${def.maxLength} characters (${value.length} before the next separator): a GS separator is missing after it, or the value is too long` });
      return out;
    }
    issues.push(...checkValue(def, value, vstart));
    out.push({ ai: def.ai, value });
    pos = end < text.length ? end + 1 : end; // a trailing FNC1 ends the data, as GS1 tolerates

  }
  return out;
}

/** The association rules of the dictionary: duplicates, `req=` and `ex=`. */
export function checkAssociations(ais: AiValue[]): GS1Issue[] {
  const issues: GS1Issue[] = [];
  const seen = new Map<string, string>();
  for (const { ai, value } of ais) {
    const prev = seen.get(ai);
    if (prev !== undefined && prev !== value) issues.push({ code: "DuplicateAI", ai, message: `AI (${ai}) appears twice with different values ${JSON.stringify(prev)} and ${JSON.stringify(value)}` });
    seen.set(ai, value);
  }
  const present = [...seen.keys()];
  // a digital signature (8030) needs a serialised key: (253), (255) and (8003) must then carry their optional serial
  if (seen.has("8030")) {
    for (const key of ["253", "255", "8003"]) {
      const v = seen.get(key);
      if (v !== undefined && v.length === (getAi(key) as AiDefinition).minLength) {
        issues.push({ code: "MissingRequiredAI", ai: key, message: `AI (${key}) has no serial component, which AI (8030) DIGSIG requires: a digital signature needs a serialised key` });
      }
    }
  }
  const reported = new Set<string>();
  for (const ai of present) {
    const def = getAi(ai) as AiDefinition;
    if (def.req.length && !def.req.some((group) => group.every((p) => present.some((a) => aiMatches(a, p))))) {
      const alts = def.req.map((g) => g.map((p) => `(${p})`).join("+")).join(" or ");
      issues.push({ code: "MissingRequiredAI", ai, message: `AI (${ai}) ${def.title} requires ${alts}, which is missing` });
    }
    for (const p of def.ex) {
      for (const other of present) {
        if (other === ai || !aiMatches(other, p)) continue;
        const key = [ai, other].sort().join("/");
        if (reported.has(key)) continue;
        reported.add(key);
        issues.push({ code: "ExclusiveAIs", ai, message: `AI (${ai}) and AI (${other}) must not appear together` });
      }
    }
  }
  return issues;
}

/** Check a list given to a formatter: every AI known, every value valid. */
export function checkList(ais: AiValue[]): void {
  if (!Array.isArray(ais) || ais.length === 0) throw new GS1Error({ code: "BadInput", message: "expected a non-empty array of { ai, value }" });
  for (const e of ais) {
    if (!e || typeof e.ai !== "string" || typeof e.value !== "string") throw new GS1Error({ code: "BadInput", message: `expected { ai: string, value: string }, got ${JSON.stringify(e)}` });
    assertValue(e.ai, e.value);
  }
}

/** (01)09506000134352(10)AB1: a "(" inside a value is written "\(" so the text parses back exactly. */
export function toBracketed(ais: AiValue[]): string {
  checkList(ais);
  return ais.map((e) => `(${e.ai})${e.value.replace(/\(/g, "\\(")}`).join("");
}

/** The element string as encoded in a symbol: no leading FNC1, a GS after each variable-length value that is not last. */
export function toElementString(ais: AiValue[]): string {
  checkList(ais);
  let s = "";
  ais.forEach((e, i) => {
    s += e.ai + e.value;
    if (i < ais.length - 1 && (getAi(e.ai) as AiDefinition).fnc1Required) s += GS;
  });
  return s;
}

/** Human-readable lines, one per AI: "(01) 09506000134352", or "GTIN (01) 09506000134352" with titles. */
export function toHRI(ais: AiValue[], options: { titles?: boolean } = {}): string[] {
  checkList(ais);
  return ais.map((e) => `${options.titles ? (getAi(e.ai) as AiDefinition).title + " " : ""}(${e.ai}) ${e.value}`);
}
