/* Reading the simulated devices' node settings (strings from the editor) into the core's options, with the
   same specific errors the core gives. */
import { SimError } from "../core/sim";

/** A rate typed in the editor as a number from 0 to 1, or as a percentage ("2%"). */
export function rateSetting(name: string, v: unknown): number {
  if (v === undefined || v === null || (typeof v === "string" && v.trim() === "")) return 0;
  let n: number;
  if (typeof v === "string" && v.trim().endsWith("%")) n = Number(v.trim().slice(0, -1)) / 100;
  else n = typeof v === "number" ? v : Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new SimError("InvalidRate", `${name} must be a probability from 0 to 1 or a percentage ("2%"); it is ${JSON.stringify(v)}`);
  return n;
}

/** A seed: a whole number stays a number, any other text is a text seed; empty gives 1. */
export function seedSetting(v: unknown): number | string {
  if (v === undefined || v === null || (typeof v === "string" && v.trim() === "")) return 1;
  if (typeof v === "number") return v;
  const s = String(v).trim();
  return /^-?\d{1,15}$/.test(s) ? Number(s) : s;
}

export function numberSetting(name: string, v: unknown, fallback: number, min: number, max: number): number {
  if (v === undefined || v === null || (typeof v === "string" && v.trim() === "")) return fallback;
  const n = typeof v === "number" ? v : Number(v);
  if (!Number.isFinite(n) || n < min || n > max) throw new SimError("InvalidOption", `${name} must be a number from ${min} to ${max}; it is ${JSON.stringify(v)}`);
  return n;
}
