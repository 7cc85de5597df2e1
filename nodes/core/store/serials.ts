/* The seam between the store and the SID classes (nodes/core/sid): checking, generating and importing serial
   numbers. The sid module is looked up at run time so the store works before and after it exists. */
import * as sidModule from "../sid";
import { PssError, PssErrorDetail, listSome } from "./errors";

/** Makes `count` new serial numbers for a pool of SID class `sidClass` (they are checked for uniqueness by the store). */
export type SerialGenerator = (sidClass: string, count: number) => string[];
/** Checks one serial number against a SID class: an error message, or null when it is valid. */
export type SerialCheck = (serial: string) => string | null;

interface SidApi {
  getSidClass?: (id: string) => { checkSerial?: (serial: string) => string | null } | undefined | null;
  generatorForSidClass?: (id: string) => { next(n: number): string[] } | undefined | null;
  parseImport?: (text: string, sidClassId: string, options?: { onProgress?: (done: number, total: number) => void; lineOffset?: number }) => unknown;
}

const sid = sidModule as unknown as SidApi;

export const MAX_SERIAL_LENGTH = 128;

/** The SID class of a pool whose serial numbers follow a rule of its own (`serialRule`), not a class the package knows. */
export const CUSTOM_SID_CLASS = "custom";
// control characters would break the audit serialisation (numbers are joined by "\n") and every printer
const CONTROL = /[\u0000-\u001f\u007f]/;

/** The rules every stored serial number obeys, whatever its SID class. */
export function basicSerialProblem(s: unknown): string | null {
  if (typeof s !== "string") return `is a ${s === null ? "null" : typeof s}, not a string`;
  if (s.length === 0) return "is empty";
  if (s.length > MAX_SERIAL_LENGTH) return `is ${s.length} characters long (at most ${MAX_SERIAL_LENGTH})`;
  if (CONTROL.test(s)) return "contains a control character";
  if (s.trim() !== s) return "has leading or trailing white space";
  return null;
}

/** The sid module's id for a pool's SID class (exact, else upper-cased: "gs1-sgtin" is GS1-SGTIN), or null when unknown. */
export function resolveSidClass(sidClass: string): string | null {
  if (typeof sid.getSidClass !== "function") return null;
  for (const id of [sidClass, sidClass.toUpperCase()]) {
    try {
      if (sid.getSidClass(id)) return id;
    } catch {
      // unknown under this spelling
    }
  }
  return null;
}

/** The SID class's own check, when the sid module knows the class; null when it cannot check. */
export function sidCheck(sidClass: string): SerialCheck | null {
  const id = resolveSidClass(sidClass);
  const cls = id ? sid.getSidClass!(id) : null;
  if (!cls || typeof cls.checkSerial !== "function") return null;
  return (s) => cls.checkSerial!(s);
}

/** A SidError (or any error with a code) as a PssError with the same code. */
function fromSid(err: unknown, what: string): PssError {
  const e = err as Error & { code?: string };
  return new PssError(typeof e.code === "string" ? e.code : "InvalidSerialNumber", `${what}: ${e.message}`);
}

/** Every problem of a batch: basic rules, then the SID class's. Throws InvalidSerialNumber listing them all. */
export function validateSerialNumbers(values: readonly unknown[], sidClass: string | null, what: string, ownCheck?: SerialCheck | null): void {
  const check = ownCheck ?? (sidClass ? sidCheck(sidClass) : null);
  const bad: PssErrorDetail[] = [];
  for (const v of values) {
    let p = basicSerialProblem(v);
    if (!p && check) {
      const e = check(v as string);
      if (e) p = `is not a valid ${sidClass} serial number: ${e}`;
    }
    if (p) bad.push({ serialNumber: String(v), reason: `${JSON.stringify(v)} ${p}` });
  }
  if (bad.length) {
    throw new PssError("InvalidSerialNumber", `${what}: ${bad.length} invalid serial number(s): ${bad.slice(0, 3).map((d) => d.reason).join("; ")}${bad.length > 3 ? ` and ${bad.length - 3} more` : ""}`, bad);
  }
}

/** A batch with a value twice is refused as a whole (DuplicateInBatch). */
export function refuseDuplicates(values: readonly string[], what: string): void {
  const seen = new Set<string>();
  const dups: string[] = [];
  for (const v of values) {
    if (seen.has(v)) dups.push(v);
    else seen.add(v);
  }
  if (dups.length) {
    throw new PssError("DuplicateInBatch", `${what}: ${dups.length} serial number(s) appear twice in the batch: ${listSome(dups)}`, dups.map((d) => ({ serialNumber: d, reason: "appears more than once in the batch" })));
  }
}

// our own fallback: 12 characters of an unambiguous upper-case alphabet (60 bits), when the sid module has no generator;
// the sid module's random generator draws them unbiased (rejection sampling: byte % 34 alone favoured 18 characters)
const ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ";
let fallback: { next(n: number): string[] } | undefined;
function randomSerials(count: number): string[] {
  fallback ??= sidModule.createGenerator({ kind: "random", alphabet: ALPHABET, length: 12 });
  return fallback.next(count);
}

/** The default generator: the sid module's generator of the class when it has one, random serials otherwise. */
const generators = new Map<string, { next(n: number): string[] } | null>();
export const defaultGenerator: SerialGenerator = (sidClass, count) => {
  // one generator per class and process, so a sequence continues from call to call
  if (!generators.has(sidClass)) {
    const id = resolveSidClass(sidClass);
    let gen: { next(n: number): string[] } | null = null;
    if (id && typeof sid.generatorForSidClass === "function") {
      try {
        gen = sid.generatorForSidClass(id) ?? null;
      } catch (err) {
        // e.g. AuthorityIssued: such numbers are imported, never made up here
        throw fromSid(err, `cannot generate serial numbers of SID class ${sidClass}`);
      }
    }
    generators.set(sidClass, gen && typeof gen.next === "function" ? gen : null);
  }
  const gen = generators.get(sidClass);
  return gen ? gen.next(count) : randomSerials(count);
};

/**
 * An authority file: one serial number (or full code) per line; blank lines and lines starting with "#" are
 * skipped. The sid module's parser is used when it knows the class: it unwraps codes into serial numbers and
 * keeps their other parts (crypto key and code, ...) as per-number properties.
 */
export function parseImportText(
  text: string,
  sidClass: string,
  ownCheck?: SerialCheck | null,
  onProgress?: (done: number, total: number) => void,
  lineOffset = 0,
): { serialNumbers: string[]; properties?: Record<string, Record<string, string>>; lines: number[] } {
  const id = resolveSidClass(sidClass);
  if (id && typeof sid.parseImport === "function") {
    const body = text.split(/\r?\n/).map((l) => (l.trim().startsWith("#") ? "" : l)).join("\n");
    let parsed: { serials?: Array<{ serial: string; line?: number; properties?: Record<string, string> }> };
    try {
      parsed = sid.parseImport(body, id, { ...(onProgress ? { onProgress } : {}), ...(lineOffset ? { lineOffset } : {}) }) as typeof parsed;
    } catch (err) {
      const e = err as Error & { code?: string; problems?: Array<{ text: string; message: string }> };
      // each bad line as a detail: its number and its text in the reason, the text as the serial number
      const details = e.problems?.map((p) => ({ serialNumber: p.text, reason: p.message }));
      throw new PssError("InvalidImportFile", `import file for SID class ${sidClass}: ${e.message}`, details, e.code);
    }
    if (Array.isArray(parsed?.serials)) {
      const properties: Record<string, Record<string, string>> = {};
      for (const s of parsed.serials) if (s.properties && Object.keys(s.properties).length) properties[s.serial] = s.properties;
      return { serialNumbers: parsed.serials.map((s) => s.serial), properties: Object.keys(properties).length ? properties : undefined, lines: parsed.serials.map((s) => s.line ?? 0) };
    }
  }
  const out: string[] = [];
  const at: number[] = [];
  const bad: PssErrorDetail[] = [];
  const check = ownCheck ?? sidCheck(sidClass);
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    if (onProgress && i > 0 && i % PROGRESS_LINES === 0) onProgress(i, lines.length);
    const line = lines[i];
    const t = line.trim();
    if (t === "" || t.startsWith("#")) continue;
    let p = basicSerialProblem(t);
    if (!p && /\s/.test(t)) p = "contains white space (one serial number per line)";
    if (!p && check) {
      const e = check(t);
      if (e) p = `is not a valid ${sidClass} serial number: ${e}`;
    }
    if (p) bad.push({ serialNumber: t, reason: `line ${i + 1 + lineOffset}: ${JSON.stringify(t.length > 40 ? t.slice(0, 40) + "…" : t)} ${p}` });
    else {
      out.push(t);
      at.push(i + 1 + lineOffset);
    }
  }
  if (bad.length) {
    throw new PssError("InvalidImportFile", `import file: ${bad.length} malformed line(s): ${bad.slice(0, 3).map((d) => d.reason).join("; ")}${bad.length > 3 ? ` and ${bad.length - 3} more` : ""}`, bad);
  }
  onProgress?.(lines.length, lines.length);
  return { serialNumbers: out, lines: at };
}

/** how many lines an import reads between two progress calls */
export const PROGRESS_LINES = 10_000;

/** A custom pool's own serial rule: a regular expression the whole serial number must match, and a length range. */
export interface SerialRule {
  pattern: string;
  minLength: number;
  maxLength: number;
}

/** The check of a custom serial rule (the pattern is anchored: it must match the whole serial number). */
export function ruleCheck(rule: SerialRule): SerialCheck {
  const re = new RegExp(`^(?:${rule.pattern})$`, "u");
  return (s) => {
    if (s.length < rule.minLength || s.length > rule.maxLength) return `has ${s.length} characters, ${rule.minLength === rule.maxLength ? `exactly ${rule.minLength}` : `${rule.minLength} to ${rule.maxLength}`} required`;
    if (!re.test(s)) return `does not match the pool's serial pattern ${rule.pattern}`;
    return null;
  };
}

/** The SID class ids the sid module knows (for error messages). */
export function knownSidClasses(): string[] {
  const list = (sidModule as unknown as { listSidClasses?: () => Array<{ sidClassId: string }> }).listSidClasses;
  return typeof list === "function" ? list().map((c) => c.sidClassId) : [];
}

/** A pool's SID class must be one the package knows, or "custom" with a serial rule of its own; returns that rule. */
export function checkSidClass(poolId: string, sidClass: string, rule: SerialRule | undefined): SerialRule | undefined {
  if (sidClass.toLowerCase() === CUSTOM_SID_CLASS) {
    if (rule === undefined || rule === null) throw new PssError("UnknownSidClass", `pool ${poolId}: a custom SID class needs its own serial rule { pattern, minLength, maxLength }`);
    if (typeof rule !== "object" || typeof rule.pattern !== "string" || !rule.pattern) throw new PssError("InvalidPool", `pool ${poolId}: the serial rule needs a pattern (a regular expression)`);
    try {
      new RegExp(`^(?:${rule.pattern})$`, "u");
    } catch (err) {
      throw new PssError("InvalidPool", `pool ${poolId}: serial pattern ${JSON.stringify(rule.pattern)} is not a valid regular expression: ${(err as Error).message}`);
    }
    const { minLength, maxLength } = rule;
    if (!Number.isInteger(minLength) || !Number.isInteger(maxLength) || minLength < 1 || maxLength < minLength || maxLength > 128) {
      throw new PssError("InvalidPool", `pool ${poolId}: serial length must be whole numbers with 1 <= minLength <= maxLength <= 128, got ${JSON.stringify(minLength)}-${JSON.stringify(maxLength)}`);
    }
    return { pattern: rule.pattern, minLength, maxLength };
  }
  if (resolveSidClass(sidClass) === null) {
    throw new PssError("UnknownSidClass", `pool ${poolId}: SID class ${JSON.stringify(sidClass)} is unknown (known: ${knownSidClasses().join(", ")}); a class of your own is declared "${CUSTOM_SID_CLASS}" with its serial pattern and length`);
  }
  if (rule !== undefined && rule !== null) throw new PssError("InvalidPool", `pool ${poolId}: a serial rule is for SID class "${CUSTOM_SID_CLASS}" only; ${sidClass} has its own rules`);
  return undefined;
}
