/* Serial number generators: random (crypto-secure, unbiased), sequential ranges, SSCC ranges. */
import { makeSscc } from "../gs1";
import { SidError } from "./errors";
import { randomChars, type RandomChars } from "./random-chars";

export interface RandomSpec {
  kind: "random";
  /** the characters to draw from, each once, ASCII, 2 to 256 of them */
  alphabet: string;
  length: number;
  /** how many numbers will ever be issued for one product code: enables the guessing-probability check */
  intendedVolume?: number;
  /** the largest acceptable guessing probability, default 1/10,000 (EU FMD, Delegated Regulation 2016/161 art. 4) */
  maxGuessProbability?: number;
}

export interface SequentialSpec {
  kind: "sequential";
  prefix?: string;
  /** first number to issue (the generator's position when resumed) */
  start: bigint | number;
  /** digits of the number, zero-padded */
  width: number;
  /** last number that may be issued (inclusive); default 10^width - 1 */
  end?: bigint | number;
}

export interface SsccSpec {
  kind: "sscc";
  companyPrefix: string;
  extensionDigit: number;
  /** first serial reference (default 0) */
  start?: bigint | number;
  end?: bigint | number;
}

export type GeneratorSpec = RandomSpec | SequentialSpec | SsccSpec;

export interface GeneratorDescription {
  kind: GeneratorSpec["kind"];
  /** one sentence for an operator */
  text: string;
  length?: number;
  alphabet?: string;
  /** the number of distinct serials the generator can produce, as a decimal string */
  spaceSize: string;
  intendedVolume?: number;
  guessProbability?: number;
  /** sequential/sscc: the next number to issue, as a decimal string (persist it to resume) */
  next?: string;
  /** sequential/sscc: numbers left, as a decimal string */
  remaining?: string;
}

export interface SerialGenerator {
  readonly spec: GeneratorSpec;
  /** n new serial numbers. Random: distinct within the call; uniqueness across calls is the store's job. */
  next(n: number): string[];
  describe(): GeneratorDescription;
}

/** The random generator also hands out packed serials for bulk consumers. */
export interface RandomSerialGenerator extends SerialGenerator {
  readonly spec: RandomSpec;
  nextBuffer(n: number): Buffer;
}

export const DEFAULT_MAX_GUESS_PROBABILITY = 1 / 10000;

function checkCount(n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new SidError("BadGeneratorSpec", `next(n) needs a non-negative integer count, got ${n}`);
}

/** Guessing probability of one random serial: volume issued / size of the space. */
export function guessProbability(alphabetSize: number, length: number, volume: number): number {
  return volume / Math.pow(alphabetSize, length);
}

/** Smallest length whose space makes volume/space strictly below maxP. */
export function minimumRandomLength(alphabetSize: number, volume: number, maxP = DEFAULT_MAX_GUESS_PROBABILITY): number {
  const inv = 1 / maxP;
  const need = Number.isInteger(inv) ? BigInt(Math.ceil(volume)) * BigInt(inv) : BigInt(Math.ceil(volume * inv));
  let space = 1n;
  let len = 0;
  while (space <= need) {
    space *= BigInt(alphabetSize);
    len++;
  }
  return Math.max(1, len);
}

class RandomGenerator implements RandomSerialGenerator {
  /** crypto.randomFillSync bytes to characters by rejection sampling (random-chars.ts), so each is equally likely */
  private readonly chars: RandomChars;
  private readonly space: bigint;
  constructor(readonly spec: RandomSpec) {
    const { alphabet, length } = spec;
    if (typeof alphabet !== "string" || alphabet.length < 2 || alphabet.length > 256) throw new SidError("BadGeneratorSpec", `random alphabet must hold 2 to 256 characters, got ${JSON.stringify(alphabet)}`);
    if (!/^[\x21-\x7e]+$/.test(alphabet)) throw new SidError("BadGeneratorSpec", `random alphabet must be printable ASCII without spaces, got ${JSON.stringify(alphabet)}`);
    if (new Set(alphabet).size !== alphabet.length) throw new SidError("BadGeneratorSpec", `random alphabet ${JSON.stringify(alphabet)} repeats a character, which would bias the draw`);
    if (!Number.isInteger(length) || length < 1 || length > 1000) throw new SidError("BadGeneratorSpec", `random length must be an integer 1-1000, got ${length}`);
    const k = alphabet.length;
    this.chars = randomChars(alphabet);
    this.space = BigInt(k) ** BigInt(length);
    const maxP = spec.maxGuessProbability ?? DEFAULT_MAX_GUESS_PROBABILITY;
    if (!(maxP > 0 && maxP <= 1)) throw new SidError("BadGeneratorSpec", `maxGuessProbability must be in (0, 1], got ${maxP}`);
    if (spec.intendedVolume !== undefined) {
      const v = spec.intendedVolume;
      if (!Number.isSafeInteger(v) || v < 1) throw new SidError("BadGeneratorSpec", `intendedVolume must be a positive integer, got ${v}`);
      const p = guessProbability(k, length, v);
      if (!(p < maxP)) {
        const need = minimumRandomLength(k, v, maxP);
        throw new SidError(
          "GuessProbabilityTooHigh",
          `random serials of length ${length} over ${k} characters give a guessing probability of ${fmtP(p)} for ${v.toLocaleString("en-US")} numbers; ` +
            `the limit is below ${fmtP(maxP)} (EU FMD): use length ${need} or more with this alphabet, or a larger alphabet`,
        );
      }
    }
  }

  next(n: number): string[] {
    checkCount(n);
    if (n === 0) return [];
    if (BigInt(n) > this.space) throw new SidError("RangeExhausted", `cannot draw ${n} distinct serials from a space of ${this.space}`);
    const L = this.spec.length;
    // one latin1 string of all the characters, cut into serials: the cheapest way V8 offers to make many small strings
    const all = this.nextBuffer(n).toString("latin1");
    const result = new Array<string>(n);
    for (let i = 0, o = 0; i < n; i++, o += L) result[i] = all.slice(o, o + L);
    // duplicates within one call only matter when the space is small; then remove and redraw them
    if ((n * n) / (2 * Number(this.space)) > 1e-9) return this.dedupe(result);
    return result;
  }

  /** n serials packed back to back in one Buffer (n x length ASCII bytes), for bulk consumers; not de-duplicated. */
  nextBuffer(n: number): Buffer {
    checkCount(n);
    const out = Buffer.allocUnsafe(n * this.spec.length);
    this.chars.fill(out);
    return out;
  }

  private dedupe(result: string[]): string[] {
    const seen = new Set<string>();
    const out: string[] = [];
    for (const s of result) if (!seen.has(s)) (seen.add(s), out.push(s));
    while (out.length < result.length) {
      for (const s of this.next(Math.min(result.length - out.length, 1024))) {
        if (!seen.has(s) && out.length < result.length) (seen.add(s), out.push(s));
      }
    }
    return out;
  }

  describe(): GeneratorDescription {
    const { alphabet, length, intendedVolume } = this.spec;
    const d: GeneratorDescription = {
      kind: "random",
      alphabet,
      length,
      spaceSize: this.space.toString(),
      text: `random, ${length} characters from ${alphabet.length} (${abbreviate(alphabet)}), crypto-secure and unbiased; ${this.space.toString().length - 1 > 6 ? "about 10^" + (this.space.toString().length - 1) : this.space.toString()} possible serials`,
    };
    if (intendedVolume !== undefined) {
      d.intendedVolume = intendedVolume;
      d.guessProbability = guessProbability(alphabet.length, length, intendedVolume);
      d.text += `; guessing probability ${fmtP(d.guessProbability)} for ${intendedVolume.toLocaleString("en-US")} numbers`;
    }
    return d;
  }
}

function fmtP(p: number): string {
  if (p >= 1) return "1 (certain)";
  const inv = 1 / p;
  return `1 in ${inv >= 1e6 ? inv.toExponential(2) : Math.round(inv).toLocaleString("en-US")}`;
}

function abbreviate(a: string): string {
  return a.length > 20 ? JSON.stringify(a.slice(0, 10) + "..." + a.slice(-4)) : JSON.stringify(a);
}

function toBig(v: bigint | number | undefined, what: string): bigint | undefined {
  if (v === undefined) return undefined;
  if (typeof v === "bigint") return v;
  if (typeof v === "number" && Number.isSafeInteger(v)) return BigInt(v);
  throw new SidError("BadGeneratorSpec", `${what} must be a safe integer or a bigint, got ${String(v)}`);
}

/** A counter over [start, end]; next(n) is all-or-nothing, so a refusal leaves the position unchanged. */
class RangeCounter {
  pos: bigint;
  constructor(start: bigint, readonly end: bigint) {
    this.pos = start;
  }
  take(n: number, label: string): bigint {
    checkCount(n);
    const left = this.end - this.pos + 1n;
    if (BigInt(n) > left) throw new SidError("RangeExhausted", `${label}: asked for ${n} numbers, only ${left < 0n ? 0n : left} left before the end of the range ${this.end}`);
    const first = this.pos;
    this.pos += BigInt(n);
    return first;
  }
}

class SequentialGenerator implements SerialGenerator {
  private readonly counter: RangeCounter;
  private readonly prefix: string;
  constructor(readonly spec: SequentialSpec) {
    const { width } = spec;
    this.prefix = spec.prefix ?? "";
    if (typeof this.prefix !== "string" || !/^[\x21-\x7e]*$/.test(this.prefix)) throw new SidError("BadGeneratorSpec", `sequential prefix must be printable ASCII, got ${JSON.stringify(spec.prefix)}`);
    if (!Number.isInteger(width) || width < 1 || width > 40) throw new SidError("BadGeneratorSpec", `sequential width must be an integer 1-40, got ${width}`);
    const max = 10n ** BigInt(width) - 1n;
    const start = toBig(spec.start, "start") as bigint;
    if (start === undefined || start < 0n || start > max) throw new SidError("BadGeneratorSpec", `sequential start must be 0..${max} for width ${width}, got ${String(spec.start)}`);
    const end = toBig(spec.end, "end") ?? max;
    if (end < start || end > max) throw new SidError("BadGeneratorSpec", `sequential end must be ${start}..${max}, got ${String(spec.end)}`);
    this.counter = new RangeCounter(start, end);
  }
  next(n: number): string[] {
    const first = this.counter.take(n, "sequential generator");
    const { width } = this.spec;
    const out = new Array<string>(n);
    if (this.counter.end <= BigInt(Number.MAX_SAFE_INTEGER)) {
      const f = Number(first);
      for (let i = 0; i < n; i++) out[i] = this.prefix + String(f + i).padStart(width, "0");
    } else {
      for (let i = 0; i < n; i++) out[i] = this.prefix + (first + BigInt(i)).toString().padStart(width, "0");
    }
    return out;
  }
  describe(): GeneratorDescription {
    const { width } = this.spec;
    const left = this.counter.end - this.counter.pos + 1n;
    const next = this.counter.pos.toString().padStart(width, "0");
    return {
      kind: "sequential",
      length: this.prefix.length + width,
      spaceSize: (this.counter.end - (toBig(this.spec.start, "start") as bigint) + 1n).toString(),
      next: this.counter.pos.toString(),
      remaining: (left < 0n ? 0n : left).toString(),
      text: `sequential, ${JSON.stringify(this.prefix)} + ${width} digits, next ${this.prefix}${next}, ${left < 0n ? 0n : left} left (guessable: not for markets that require randomisation)`,
    };
  }
}

class SsccGenerator implements SerialGenerator {
  private readonly counter: RangeCounter;
  private readonly width: number;
  constructor(readonly spec: SsccSpec) {
    const cp = spec.companyPrefix;
    if (typeof cp !== "string" || !/^[0-9]{4,12}$/.test(cp)) throw new SidError("BadGeneratorSpec", `SSCC company prefix must be 4-12 digits, got ${JSON.stringify(cp)}`);
    if (!Number.isInteger(spec.extensionDigit) || spec.extensionDigit < 0 || spec.extensionDigit > 9) throw new SidError("BadGeneratorSpec", `SSCC extension digit must be 0-9, got ${spec.extensionDigit}`);
    this.width = 16 - cp.length;
    const max = 10n ** BigInt(this.width) - 1n;
    const start = toBig(spec.start, "start") ?? 0n;
    const end = toBig(spec.end, "end") ?? max;
    if (start < 0n || start > max || end < start || end > max) throw new SidError("BadGeneratorSpec", `SSCC serial reference range must lie in 0..${max} with start <= end`);
    this.counter = new RangeCounter(start, end);
  }
  next(n: number): string[] {
    const first = this.counter.take(n, "SSCC generator");
    const out = new Array<string>(n);
    for (let i = 0; i < n; i++) out[i] = makeSscc(this.spec.companyPrefix, this.spec.extensionDigit, (first + BigInt(i)).toString());
    return out;
  }
  describe(): GeneratorDescription {
    const left = this.counter.end - this.counter.pos + 1n;
    return {
      kind: "sscc",
      length: 18,
      spaceSize: (this.counter.end - (toBig(this.spec.start, "start") ?? 0n) + 1n).toString(),
      next: this.counter.pos.toString(),
      remaining: left.toString(),
      text: `SSCC-18, extension ${this.spec.extensionDigit}, company prefix ${this.spec.companyPrefix}, ${this.width}-digit serial reference from ${this.counter.pos}, ${left} left`,
    };
  }
}

/** A generator for a spec. Throws SidError (BadGeneratorSpec, GuessProbabilityTooHigh) for a refused configuration. */
export function createGenerator(spec: RandomSpec): RandomSerialGenerator;
export function createGenerator(spec: GeneratorSpec): SerialGenerator;
export function createGenerator(spec: GeneratorSpec): SerialGenerator {
  if (!spec || typeof spec !== "object") throw new SidError("BadGeneratorSpec", "createGenerator needs a spec object");
  switch (spec.kind) {
    case "random":
      return new RandomGenerator(spec);
    case "sequential":
      return new SequentialGenerator(spec);
    case "sscc":
      return new SsccGenerator(spec);
    default:
      throw new SidError("BadGeneratorSpec", `unknown generator kind ${JSON.stringify((spec as { kind?: unknown }).kind)} (random, sequential or sscc)`);
  }
}
