/* AI lookup over the table, and the checks of one AI value against its components. */
import { AI_ROWS, type AiComponent, type AiRow } from "./ai-table";
import { CSET_NAMES, firstOutside } from "./charsets";
import { GS1Error, type GS1Issue, showChar } from "./errors";
import { bwipLint, cset64Padding, DELEGATED_LINTERS, LINTERS, PAREN_FREE_LINTERS } from "./lint";

/** One AI of the table, with its range expanded. */
export interface AiDefinition {
  ai: string;
  title: string;
  /** predefined length (no separator needed after it) */
  fixed: boolean;
  fnc1Required: boolean;
  dlAttr: boolean;
  components: AiComponent[];
  minLength: number;
  maxLength: number;
  req: string[][];
  ex: string[];
  dlKey?: string[][];
}

const BY_AI = new Map<string, AiDefinition>();
for (const row of AI_ROWS) for (const ai of expand(row)) BY_AI.set(ai, define(ai, row));

function expand(row: AiRow): string[] {
  if (!row.to) return [row.ai];
  const out: string[] = [];
  for (let k = Number(row.ai); k <= Number(row.to); k++) out.push(String(k).padStart(row.ai.length, "0"));
  return out;
}

function define(ai: string, row: AiRow): AiDefinition {
  const min = row.spec.filter((c) => !c.optional).reduce((s, c) => s + c.min, 0);
  const max = row.spec.reduce((s, c) => s + c.max, 0);
  const d: AiDefinition = {
    ai, title: row.title, fixed: row.fixed, fnc1Required: !row.fixed, dlAttr: row.dlAttr,
    components: row.spec, minLength: min, maxLength: max, req: row.req ?? [], ex: row.ex ?? [],
  };
  if (row.dlKey) d.dlKey = row.dlKey;
  return d;
}

/** The definition of one AI, or undefined when GS1 has not defined it. */
export function getAi(ai: string): AiDefinition | undefined {
  return BY_AI.get(ai);
}

/** Every AI we know, in lexical order. */
export function listAis(): AiDefinition[] {
  return [...BY_AI.values()];
}

/** The AI that starts at `at` (AIs are prefix-free, so at most one of the 2-, 3- and 4-digit prefixes matches). */
export function aiAt(text: string, at: number): AiDefinition | undefined {
  for (let len = 2; len <= 4; len++) {
    const d = BY_AI.get(text.slice(at, at + len));
    if (d) return d;
  }
  return undefined;
}

/** Does an AI match a pattern such as "310n" or "35nn" from the req/ex attributes? */
export function aiMatches(ai: string, pattern: string): boolean {
  if (ai.length !== pattern.length) return false;
  for (let i = 0; i < ai.length; i++) if (pattern[i] !== "n" && pattern[i] !== ai[i]) return false;
  return true;
}

/** First character that is a control character or not ASCII: these are never part of any AI value. */
export function badByte(value: string, ai: string | undefined, base: number): GS1Issue | null {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) {
      return { code: "ControlCharacter", ai, position: base + i, message: `${where(ai, base + i)}: control character ${showChar(value[i])} is not allowed in a GS1 value` };
    }
    if (c > 0x7e) {
      return { code: "NonAsciiCharacter", ai, position: base + i, message: `${where(ai, base + i)}: non-ASCII character ${showChar(String.fromCodePoint(value.codePointAt(i) as number))} is not allowed in a GS1 value` };
    }
  }
  return null;
}

export function where(ai: string | undefined, position?: number): string {
  return (ai === undefined ? "" : `AI (${ai})`) + (position === undefined ? "" : `${ai === undefined ? "" : " "}at position ${position}`);
}

/**
 * Check one value against its AI: characters, component lengths, and every linter.
 * `base` is the value's position in the original text, so messages point at the character at fault.
 * Returns every problem found (structural problems stop the scan of that value).
 */
export function checkValue(def: AiDefinition, value: string, base = 0): GS1Issue[] {
  const ai = def.ai;
  if (value.length === 0) return [{ code: "ValueTooShort", ai, position: base, message: `${where(ai, base)}: the value is empty` }];
  const bytes = badByte(value, ai, base);
  if (bytes) return [bytes];
  const issues: GS1Issue[] = [];
  let at = 0;
  let delegate = false;
  for (const comp of def.components) {
    const left = value.length - at;
    if (left === 0) {
      if (comp.optional) break;
      return [{ code: "ValueTooShort", ai, position: base + at, message: `${where(ai, base + at)}: value ${JSON.stringify(value)} is too short, it needs at least ${def.minLength} characters` }];
    }
    if (left < comp.min) {
      return [{ code: "ValueTooShort", ai, position: base + at, message: `${where(ai, base + at)}: value ${JSON.stringify(value)} is too short, it needs ${def.minLength === def.maxLength ? "exactly" : "at least"} ${def.minLength} characters` }];
    }
    const part = value.slice(at, at + Math.min(comp.max, left));
    // set 64 (base64url) allows "=" only as padding at the end (linter cset64)
    const pads = comp.cset === "Z" ? /=*$/.exec(part)![0].length : 0;
    const bad = firstOutside(pads ? part.slice(0, part.length - pads) : part, comp.cset === "Z" ? "Z64" : comp.cset);
    if (bad >= 0) {
      const p = base + at + bad;
      const code = comp.cset === "N" ? "NotNumeric" : "IllegalCharacter";
      return [{ code, ai, position: p, message: `${where(ai, p)}: character ${showChar(part[bad])} is not in ${CSET_NAMES[comp.cset]}` }];
    }
    if (comp.cset === "Z") {
      const f = cset64Padding(part);
      if (f) return [{ code: f.code, ai, position: base + at + (f.offset ?? 0), rule: "cset64", message: `${where(ai, base + at + (f.offset ?? 0))}: ${JSON.stringify(part)} fails cset64: ${f.reason}` }];
    }
    for (const rule of comp.linters) {
      if (DELEGATED_LINTERS.has(rule)) {
        delegate = true;
        continue;
      }
      const linter = LINTERS[rule];
      if (!linter) continue;
      const f = linter(part);
      if (f) {
        const p = base + at + (f.offset ?? 0);
        issues.push({ code: f.code, ai, position: p, rule, message: `${where(ai, p)}: ${JSON.stringify(part)} fails ${rule}: ${f.reason}` });
      }
    }
    at += part.length;
  }
  if (at < value.length) {
    return [{ code: "ValueTooLong", ai, position: base + at, message: `${where(ai, base + at)}: value ${JSON.stringify(value)} is ${value.length} characters, the maximum is ${def.maxLength}` }];
  }
  if (delegate && issues.length === 0) {
    const rules = def.components.flatMap((c) => c.linters.filter((l) => DELEGATED_LINTERS.has(l)));
    const paren = value.search(/[()]/);
    const parenRule = paren >= 0 ? rules.find((r) => PAREN_FREE_LINTERS.has(r)) : undefined;
    if (parenRule) {
      return [{ code: "ComponentCheckFailed", ai, position: base + paren, rule: parenRule, message: `${where(ai, base + paren)}: ${JSON.stringify(value)} fails ${parenRule}: ${showChar(value[paren])} is not allowed` }];
    }
    const reason = bwipLint(ai, value);
    if (reason) issues.push({ code: "ComponentCheckFailed", ai, position: base, rule: rules.join(","), message: `${where(ai, base)}: ${JSON.stringify(value)} fails ${rules.join(", ")}: ${reason}` });
  }
  return issues;
}

/** Throwing form of checkValue for one element, for callers that build identifiers. */
export function assertValue(ai: string, value: string): void {
  const def = getAi(ai);
  if (!def) throw new GS1Error({ code: "UnknownAI", ai, message: `AI (${ai}) is not a GS1 Application Identifier` });
  const issues = checkValue(def, value);
  if (issues.length) throw new GS1Error(issues[0]);
}
