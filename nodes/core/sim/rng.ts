/* Seeded pseudo-random numbers for the simulators: the same seed gives the same line, run after run.
   sfc32 seeded through a 32-bit string hash; not for anything that needs secrecy (serial numbers use crypto). */

/** A stream of numbers in [0, 1), reproducible from its seed. */
export interface Rng {
  /** the next number in [0, 1) */
  next(): number;
  /** true with probability p (p outside 0..1 is clamped) */
  chance(p: number): boolean;
  /** a whole number in [0, n) */
  int(n: number): number;
  /** one element of a non-empty list */
  pick<T>(list: readonly T[]): T;
}

function hash32(text: string, salt: number): number {
  // FNV-1a with a salt, then a final avalanche (murmur3 fmix32)
  let h = (0x811c9dc5 ^ salt) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * A seeded stream. `stream` names an independent sub-stream of the same seed ("misprint", "no-read", ...), so
 * that changing one knob's rate does not change the decisions another knob makes.
 */
export function seededRng(seed: number | string, stream = ""): Rng {
  const key = `${typeof seed === "number" ? `n:${seed}` : `s:${seed}`}/${stream}`;
  let a = hash32(key, 1);
  let b = hash32(key, 2);
  let c = hash32(key, 3);
  let d = hash32(key, 4) | 1;
  const next = (): number => {
    // sfc32
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t / 4294967296;
  };
  for (let i = 0; i < 12; i++) next(); // warm-up: seeds that differ in one bit diverge at once
  return {
    next,
    chance: (p: number) => (p <= 0 ? false : p >= 1 ? true : next() < p),
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)],
  };
}

/** A probability knob: a number from 0 to 1. Anything else is refused with a SimError. */
export function checkRate(name: string, v: unknown, fallback = 0): number {
  if (v === undefined || v === null || v === "") return fallback;
  const n = typeof v === "string" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isFinite(n) || n < 0 || n > 1) {
    throw new SimError("InvalidRate", `${name} must be a probability from 0 to 1 (0.02 = 2 %); it is ${JSON.stringify(v)}`);
  }
  return n;
}

/** An error of a simulated device; `code` is what a Catch node branches on. */
export class SimError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = "SimError";
    this.code = code;
  }
}

/** Simulators listen on loopback only: a simulated device must never be reachable from the network. */
export function checkLoopbackHost(host: string | undefined): string {
  const h = (host ?? "127.0.0.1").trim() || "127.0.0.1";
  if (h !== "127.0.0.1" && h !== "::1" && h !== "localhost") {
    throw new SimError("NotLoopback", `simulated devices listen on a loopback address only (127.0.0.1, ::1 or localhost), not ${JSON.stringify(h)}`);
  }
  return h === "localhost" ? "127.0.0.1" : h;
}

/** A TCP port: 0 (any free port) or 1 to 65535. */
export function checkPort(v: unknown, fallback = 0): number {
  if (v === undefined || v === null || v === "") return fallback;
  const n = typeof v === "string" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > 65535) throw new SimError("InvalidPort", `port must be 0 (a free port) or 1 to 65535; it is ${JSON.stringify(v)}`);
  return n;
}
