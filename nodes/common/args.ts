/* Reading PSS arguments out of msg.payload: strict types, specific errors, no prototype keys.
   Names are the OPC 30260 §6.3 method arguments in camelCase (SNCollectionID -> snCollectionId; README, Messages). */
import { InputError } from "./errors";

export const MAX_COUNT = 10_000_000;
export const MAX_BATCH = 100_000;
export const MAX_SERIAL_LENGTH = 128;
const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);

export type Dict = Record<string, string>;

/** A plain object, from this realm or another: a Function node runs in its own vm context, so the objects it
 *  builds have that context's Object.prototype, not ours. */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  if (proto === null || proto === Object.prototype) return true;
  return Object.getPrototypeOf(proto) === null && Object.prototype.toString.call(v) === "[object Object]";
}

/** msg.payload as an object of arguments. `undefined`/a timestamp is allowed only when `triggerOk`. */
export function payloadObject(payload: unknown, triggerOk: boolean): Record<string, unknown> {
  if (isPlainObject(payload)) {
    for (const k of Object.keys(payload)) {
      if (FORBIDDEN_KEYS.has(k)) throw new InputError("ForbiddenKey", `msg.payload has the forbidden key "${k}"`);
    }
    return payload;
  }
  if (triggerOk && (payload === undefined || payload === null || payload === "" || typeof payload === "number" || typeof payload === "boolean")) {
    return {};
  }
  const what = payload === undefined ? "missing" : Array.isArray(payload) ? "an array" : payload === null ? "null" : `a ${typeof payload}`;
  throw new InputError("InvalidPayload", `msg.payload must be an object of PSS arguments; it is ${what}`);
}

export function optionalString(o: Record<string, unknown>, key: string, fallback: string, maxLength = 256): string {
  const v = o[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "string") throw new InputError("InvalidArgument", `msg.payload.${key} must be a string; it is ${describe(v)}`);
  if (v.length > maxLength) throw new InputError("InvalidArgument", `msg.payload.${key} is longer than ${maxLength} characters`);
  if (/[\u0000-\u001f\u007f]/.test(v)) throw new InputError("InvalidArgument", `msg.payload.${key} contains a control character`);
  return v;
}

/** A count of serial numbers: a whole number from 1 to `max`. Strings are refused, not coerced. */
export function countArg(o: Record<string, unknown>, key: string, fallback: number | undefined, max = MAX_COUNT): number {
  const v = o[key] === undefined ? fallback : o[key];
  if (v === undefined || v === null) throw new InputError("InvalidCount", `msg.payload.${key} is required (a whole number from 1 to ${max})`);
  if (typeof v !== "number") throw new InputError("InvalidCount", `msg.payload.${key} must be a number; it is ${describe(v)}`);
  if (!Number.isInteger(v)) throw new InputError("InvalidCount", `msg.payload.${key} must be a whole number; it is ${v}`);
  if (v < 1) throw new InputError("InvalidCount", `msg.payload.${key} must be at least 1; it is ${v}`);
  if (v > max) throw new InputError("InvalidCount", `msg.payload.${key} is ${v}, more than the maximum of ${max}`);
  return v;
}

/** Key/values given as a plain object or as the spec's [{key, value}] array; values must be strings. */
export function keyValues(o: Record<string, unknown>, key: string, fallback?: Dict): Dict | undefined {
  const v = o[key];
  if (v === undefined || v === null) return fallback;
  const out: Dict = Object.create(null);
  const put = (k: unknown, val: unknown, where: string) => {
    if (typeof k !== "string" || k.length === 0) throw new InputError("InvalidArgument", `${where}: a key must be a non-empty string`);
    if (FORBIDDEN_KEYS.has(k)) throw new InputError("ForbiddenKey", `${where}: the key "${k}" is not allowed`);
    if (typeof val !== "string") throw new InputError("InvalidArgument", `${where}: the value of "${k}" must be a string; it is ${describe(val)}`);
    out[k] = val;
  };
  if (Array.isArray(v)) {
    if (v.length > 1000) throw new InputError("InvalidArgument", `msg.payload.${key} has more than 1000 entries`);
    v.forEach((kv, i) => {
      if (!isPlainObject(kv)) throw new InputError("InvalidArgument", `msg.payload.${key}[${i}] must be {key, value}`);
      put(kv.key, kv.value, `msg.payload.${key}[${i}]`);
    });
  } else if (isPlainObject(v)) {
    const keys = Object.keys(v);
    if (keys.length > 1000) throw new InputError("InvalidArgument", `msg.payload.${key} has more than 1000 keys`);
    for (const k of keys) put(k, v[k], `msg.payload.${key}`);
  } else {
    throw new InputError("InvalidArgument", `msg.payload.${key} must be an object of string values or an array of {key, value}; it is ${describe(v)}`);
  }
  return { ...out };
}

/** A list of serial numbers: non-empty strings without control characters, no duplicates, bounded. */
export function serialList(v: unknown, where: string, max = MAX_BATCH): string[] {
  if (!Array.isArray(v)) throw new InputError("InvalidArgument", `${where} must be an array of serial numbers; it is ${describe(v)}`);
  if (v.length === 0) throw new InputError("EmptyBatch", `${where} is empty: at least one serial number is needed`);
  if (v.length > max) throw new InputError("BatchTooLarge", `${where} has ${v.length} serial numbers, more than the maximum of ${max} per message`);
  const seen = new Set<string>();
  const dups: string[] = [];
  v.forEach((s, i) => {
    if (typeof s !== "string") throw new InputError("InvalidSerialNumber", `${where}[${i}] must be a string; it is ${describe(s)}`);
    if (s.length === 0 || s.length > MAX_SERIAL_LENGTH) throw new InputError("InvalidSerialNumber", `${where}[${i}] must have 1 to ${MAX_SERIAL_LENGTH} characters`);
    if (/[\u0000-\u001c\u001e-\u001f\u007f]/.test(s)) throw new InputError("InvalidSerialNumber", `${where}[${i}] contains a control character`);
    if (seen.has(s)) dups.push(s);
    seen.add(s);
  });
  if (dups.length) {
    throw new InputError("DuplicateInBatch", `${where} lists ${dups.length} serial number(s) twice: ${preview(dups)}`, dups.map((s) => ({ serialNumber: s, reason: "listed twice" })));
  }
  return v as string[];
}

export function preview(list: string[], n = 5): string {
  return list.slice(0, n).join(", ") + (list.length > n ? ` and ${list.length - n} more` : "");
}

export function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string") return `the string "${v.length > 20 ? v.slice(0, 20) + "…" : v}"`;
  if (typeof v === "number") return `the number ${v}`;
  return `a ${typeof v}`;
}
