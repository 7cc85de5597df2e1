/* Random characters from an alphabet, uniform and independent, fast enough for millions of serials per second.

   The method is plain rejection sampling: bytes from crypto.randomFillSync; a byte b below accept = floor(256/k)*k
   (k characters) becomes the character order[b mod k], every other byte is dropped, so each of the k characters has
   exactly floor(256/k) bytes of 256 and is equally likely. `order` is the alphabet sorted by character code (any
   fixed order is as good; this one makes the arithmetic below possible). Both engines give exactly that output
   from the same bytes, which the tests check on every byte value:

   - "wasm-simd": a small WebAssembly module made for the alphabet at first use does it 16 bytes at a time.
     Per 16 bytes: lanes above accept-1 are marked rejected; b mod k is taken by conditional subtractions
     (v = min_u(v, v - c) subtracts c exactly when v >= c) of k*2^j down to k; the index becomes a character either
     by the runs of the sorted alphabet (code = order[0] + idx + the gaps before it: one compare, and, add per gap)
     or by 16-entry table look-ups (i8x16.swizzle), whichever costs fewer instructions; then the kept lanes are
     packed to the front (two 8-lane shuffles from a 256-entry table of masks) and written at the output position,
     which moves on by the number kept. Constants are read from memory so the compiler keeps them in registers.
   - "js": the same, one byte at a time, where WebAssembly SIMD is unavailable.

   Unused random bytes and the work area are zeroed after each call. */
import { randomFillSync } from "crypto";

export type RandomSource = (buf: Uint8Array) => void;
export type CharEngine = "wasm-simd" | "js";

export interface RandomChars {
  readonly engine: CharEngine;
  /** the alphabet sorted by character code: byte b < accept stands for order[b % order.length] */
  readonly order: string;
  /** bytes below this are kept */
  readonly accept: number;
  /** fills out[start, end) with characters of the alphabet, each uniform and independent of the others */
  fill(out: Uint8Array, start?: number, end?: number): void;
}

export interface RandomCharsOptions {
  /** default: "wasm-simd" where WebAssembly SIMD works, else "js" */
  engine?: CharEngine;
  /** where the random bytes come from; default crypto.randomFillSync. Tests give a fixed byte stream. */
  random?: RandomSource;
  /** wasm-simd: how an index becomes a character; default the cheaper */
  lookup?: "runs" | "table";
}

const defaultRandom: RandomSource = (buf) => {
  randomFillSync(buf);
};

/** Characters of 1..255, distinct, 2 to 128 of them (the generator allows printable ASCII only). */
function checkAlphabet(alphabet: string): number[] {
  const codes = [...alphabet].map((c) => c.charCodeAt(0));
  if (codes.length < 2 || codes.length > 128 || new Set(codes).size !== codes.length || codes.some((c) => c < 1 || c > 255 || !Number.isInteger(c))) {
    throw new RangeError(`random characters need 2 to 128 distinct characters U+0001..U+00FF, got ${JSON.stringify(alphabet)}`);
  }
  return codes.sort((a, b) => a - b);
}

/** Random bytes to draw for `want` characters: enough for all of them nearly always (4 standard deviations). */
function bytesFor(want: number, accept: number, max: number): number {
  const p = (256 - accept) / 256;
  const n = Math.ceil(want / (1 - p) + 4 * Math.sqrt(want * p) + 16);
  return Math.min(max, (n + 31) & ~31);
}

export function randomChars(alphabet: string, options: RandomCharsOptions = {}): RandomChars {
  const codes = checkAlphabet(alphabet);
  const random = options.random ?? defaultRandom;
  const engine = options.engine ?? (wasmSimdAvailable() ? "wasm-simd" : "js");
  return engine === "wasm-simd" ? new WasmChars(codes, random, options.lookup) : new JsChars(codes, random);
}

abstract class Base implements RandomChars {
  abstract readonly engine: CharEngine;
  readonly order: string;
  readonly accept: number;
  protected readonly map = new Uint8Array(256);
  constructor(protected readonly codes: number[], protected readonly random: RandomSource) {
    const k = codes.length;
    this.order = String.fromCharCode(...codes);
    this.accept = Math.floor(256 / k) * k;
    for (let b = 0; b < this.accept; b++) this.map[b] = codes[b % k];
  }
  fill(out: Uint8Array, start = 0, end = out.length): void {
    if (!(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start <= end && end <= out.length)) throw new RangeError(`fill range ${start}..${end} outside 0..${out.length}`);
    if (end > start) this.fillRange(out, start, end);
  }
  protected abstract fillRange(out: Uint8Array, start: number, end: number): void;
}

class JsChars extends Base {
  readonly engine = "js";
  private readonly pool = new Uint8Array(1 << 18);
  protected fillRange(out: Uint8Array, start: number, end: number): void {
    const map = this.map;
    const pool = this.pool;
    let o = start;
    let used = 0;
    try {
      while (o < end) {
        const len = bytesFor(end - o, this.accept, pool.length);
        used = Math.max(used, len);
        const bytes = pool.subarray(0, len);
        this.random(bytes);
        for (let i = 0; i < len && o < end; i++) {
          const c = map[bytes[i]];
          if (c !== 0) out[o++] = c;
        }
      }
    } finally {
      pool.fill(0, 0, used); // leave no unused randomness lying in memory
    }
  }
}

/* ---- WebAssembly ---- */

// Minimal typings: the project compiles against ES2022 without the DOM library, which is where TypeScript keeps them.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmApi {
  Memory: new (d: { initial: number; maximum?: number }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (m: object, imports: object) => { exports: Record<string, unknown> };
  validate(bytes: Uint8Array): boolean;
}
const wasmApi = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

// the one memory all alphabets' modules share (calls are synchronous, so they never overlap)
const PACK_AT = 0; // 256 x 16 bytes: for an 8-lane mask of rejected lanes, the indices of the kept lanes in order
const PACK_HI_AT = 4096; // the same plus 8, for the high 8 lanes
const CONST_AT = 8192; // the current alphabet's constants, 16 bytes each
const CONST_MAX = 64;
const CHUNK_AT = 12288; // random bytes in, characters out (in place)
const UNROLL = 2;
const CHUNK = 1 << 18; // 256 KiB: each randomFillSync call costs 10-20 µs, so not much smaller; stays in the core's cache
const PAGES = Math.ceil((CHUNK_AT + CHUNK + 64) / 65536);

let shared: { mem: WasmMemory; u8: Uint8Array; owner: object | null } | null = null;
function sharedMemory(): { mem: WasmMemory; u8: Uint8Array; owner: object | null } {
  if (shared) return shared;
  const api = wasmApi as WasmApi;
  const mem = new api.Memory({ initial: PAGES, maximum: PAGES });
  const u8 = new Uint8Array(mem.buffer);
  for (let r = 0; r < 256; r++) {
    let j = 0;
    for (let i = 0; i < 8; i++) if (!(r & (1 << i))) (u8[PACK_AT + r * 16 + j] = i), (u8[PACK_HI_AT + r * 16 + j++] = i + 8);
    for (; j < 16; j++) u8[PACK_AT + r * 16 + j] = u8[PACK_HI_AT + r * 16 + j] = 0xff; // swizzle gives 0 for an index >= 16
  }
  shared = { mem, u8, owner: null };
  return shared;
}

let simdOk: boolean | undefined;
/** Whether this runtime compiles WebAssembly SIMD (Node.js 16.4 and later do). */
export function wasmSimdAvailable(): boolean {
  if (simdOk === undefined) {
    try {
      simdOk = !!wasmApi && wasmApi.validate(buildModule([], { kind: "runs", base: 0x30, bounds: [] }, 0x7f).bytes);
    } catch {
      simdOk = false;
    }
  }
  return simdOk;
}

type Lookup = { kind: "runs"; base: number; bounds: Array<{ at: number; gap: number }> } | { kind: "table"; order: number[] };

/** Constants (one 16-byte splat or table each) and the code of map(p, end) -> o for one alphabet. */
export function buildModule(reduce: number[], lookup: Lookup, rejectAbove: number): { bytes: Uint8Array; constants: Uint8Array } {
  const consts: number[][] = [];
  const splat = (x: number): number => (consts.push(new Array<number>(16).fill(x & 0xff)), consts.length - 1);
  const table = (t: number[]): number => (consts.push(t), consts.length - 1);
  // locals: params p=0, end=1; i32 o=2, mask=3, lo=4, hi=5; v128 v=6, rej=7, then one per constant from 8
  const P = 0, END = 1, O = 2, MASK = 3, LO = 4, HI = 5, V = 6, REJ = 7, C0 = 8;
  const code: number[] = [];
  const op = (...b: number[]): void => void code.push(...b);
  const simd = (n: number): void => op(0xfd, ...uleb(n));
  const get = (l: number): void => op(0x20, ...uleb(l));
  const set = (l: number): void => op(0x21, ...uleb(l));
  const cget = (c: number): void => get(C0 + c);
  const i32 = (n: number): void => op(0x41, ...sleb(n));
  const LOAD = 0x00, SWIZZLE = 0x0e, GT_S = 0x27, AND = 0x4e, OR = 0x50, XOR = 0x51, STORE64_LANE = 0x5b, BITMASK = 0x64, ADD = 0x6e, SUB = 0x71, MIN_U = 0x77;

  const x80 = splat(0x80);
  const lim = splat(rejectAbove ^ 0x80);
  const red = reduce.map(splat);
  let base = -1;
  const runs: Array<{ at: number; gap: number }> = []; // gap -1: a gap of 1, done by subtracting the all-ones mask
  const tabs: Array<{ t: number; off: number }> = [];
  if (lookup.kind === "runs") {
    base = splat(lookup.base);
    for (const b of lookup.bounds) runs.push({ at: splat(b.at - 1), gap: b.gap === 1 ? -1 : splat(b.gap) });
  } else {
    for (let c = 0; c * 16 < lookup.order.length; c++) {
      const t = Array.from({ length: 16 }, (_, i) => lookup.order[c * 16 + i] ?? 0);
      tabs.push({ t: table(t), off: c === 0 ? -1 : splat(c * 16) });
    }
  }
  if (consts.length > CONST_MAX) throw new RangeError("too many constants");

  // prologue: constants into locals; o = p
  consts.forEach((_, c) => {
    i32(CONST_AT + c * 16);
    simd(LOAD), op(0, 0);
    set(C0 + c);
  });
  get(P), set(O);
  op(0x02, 0x40); // block
  op(0x03, 0x40); // loop
  get(P), get(END), op(0x4f), op(0x0d, 1); // br_if 1 (out of the block) when p >= end
  // two blocks of 16 bytes per turn of the loop (the caller passes a multiple of 32 bytes)
  for (let unroll = 0; unroll < UNROLL; unroll++) {
    // v = load(p); rej = (v ^ 0x80) >s lim   (unsigned v > rejectAbove)
    get(P), simd(LOAD), op(0, 0), set(V);
    get(V), cget(x80), simd(XOR), cget(lim), simd(GT_S), set(REJ);
    // v = v mod k
    for (const r of red) get(V), get(V), cget(r), simd(SUB), simd(MIN_U), set(V);
    if (lookup.kind === "runs") {
      // chars = v + base + sum over gaps of (v > at-1 ? gap : 0); v < 128 so the signed compare is right; the compare
      // gives -1 (all ones) in a lane where it holds, so subtracting it adds a gap of 1
      get(V), cget(base), simd(ADD);
      for (const r of runs) {
        get(V), cget(r.at), simd(GT_S);
        if (r.gap < 0) simd(SUB);
        else cget(r.gap), simd(AND), simd(ADD);
      }
    } else {
      tabs.forEach((t, i) => {
        cget(t.t), get(V);
        if (t.off >= 0) cget(t.off), simd(SUB);
        simd(SWIZZLE);
        if (i > 0) simd(OR);
      });
    }
    set(V);
    // keep the accepted lanes: low half at o, high half right after
    get(REJ), simd(BITMASK), set(MASK);
    get(MASK), i32(255), op(0x71), set(LO);
    get(MASK), i32(8), op(0x76), set(HI);
    get(O), get(V), get(LO), i32(4), op(0x74), simd(LOAD), op(0, ...uleb(PACK_AT)), simd(SWIZZLE), simd(STORE64_LANE), op(0, 0, 0);
    get(O), i32(8), op(0x6a), get(LO), op(0x69), op(0x6b), set(O);
    get(O), get(V), get(HI), i32(4), op(0x74), simd(LOAD), op(0, ...uleb(PACK_HI_AT)), simd(SWIZZLE), simd(STORE64_LANE), op(0, 0, 0);
    get(O), i32(8), op(0x6a), get(HI), op(0x69), op(0x6b), set(O);
    get(P), i32(16), op(0x6a), set(P);
  }
  op(0x0c, 0); // br 0 (loop)
  op(0x0b, 0x0b); // end loop, end block
  get(O);
  op(0x0b); // end function

  const locals = [...uleb(2), ...uleb(4), 0x7f, ...uleb(2 + consts.length), 0x7b];
  const body = [...locals, ...code];
  const str = (s: string): number[] => [...uleb(s.length), ...Buffer.from(s, "latin1")];
  const section = (id: number, content: number[]): number[] => [id, ...uleb(content.length), ...content];
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 2, 0x7f, 0x7f, 1, 0x7f]), // type: (i32, i32) -> i32
    ...section(2, [1, ...str("env"), ...str("mem"), 0x02, 0x01, ...uleb(PAGES), ...uleb(PAGES)]), // import memory
    ...section(3, [1, 0]), // one function of type 0
    ...section(7, [1, ...str("map"), 0x00, 0]), // export it as "map"
    ...section(10, [1, ...uleb(body.length), ...body]),
  ];
  const constants = new Uint8Array(consts.length * 16);
  consts.forEach((c, i) => constants.set(c, i * 16));
  return { bytes: Uint8Array.from(bytes), constants };
}

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) return out.push(b), out;
    out.push(b | 0x80);
  }
}

/** The module plan for an alphabet (sorted codes): reduction constants, lookup, rejection limit. */
export function planFor(codes: number[], lookup?: "runs" | "table"): { reduce: number[]; lookup: Lookup; rejectAbove: number } {
  const k = codes.length;
  const m = Math.floor(256 / k);
  const reduce: number[] = [];
  if (m > 1) {
    let c = k;
    while (c * 2 <= 255) c *= 2;
    for (; c >= k; c /= 2) reduce.push(c);
  }
  const bounds: Array<{ at: number; gap: number }> = [];
  for (let i = 1; i < k; i++) if (codes[i] !== codes[i - 1] + 1) bounds.push({ at: i, gap: codes[i] - codes[i - 1] - 1 });
  const runsCost = 1 + bounds.reduce((sum, b) => sum + (b.gap === 1 ? 2 : 3), 0);
  const tableCost = 4 * Math.ceil(k / 16);
  const kind = lookup ?? (runsCost <= tableCost ? "runs" : "table");
  return {
    reduce,
    lookup: kind === "runs" ? { kind, base: codes[0], bounds } : { kind, order: codes },
    rejectAbove: m * k - 1,
  };
}

const modules = new Map<string, { map: (p: number, end: number) => number; constants: Uint8Array }>();

class WasmChars extends Base {
  readonly engine = "wasm-simd";
  private readonly mod: { map: (p: number, end: number) => number; constants: Uint8Array };
  constructor(codes: number[], random: RandomSource, lookup?: "runs" | "table") {
    super(codes, random);
    if (!wasmApi) throw new RangeError("WebAssembly is not available in this runtime");
    const key = `${lookup ?? ""}:${this.order}`;
    let mod = modules.get(key);
    if (!mod) {
      const plan = planFor(codes, lookup);
      const { bytes, constants } = buildModule(plan.reduce, plan.lookup, plan.rejectAbove);
      const inst = new wasmApi.Instance(new wasmApi.Module(bytes), { env: { mem: sharedMemory().mem } });
      mod = { map: inst.exports.map as (p: number, end: number) => number, constants };
      modules.set(key, mod);
    }
    this.mod = mod;
  }
  protected fillRange(out: Uint8Array, start: number, end: number): void {
    const sh = sharedMemory();
    const { map, constants } = this.mod;
    if (sh.owner !== this.mod) {
      sh.u8.set(constants, CONST_AT);
      sh.owner = this.mod;
    }
    const work = sh.u8.subarray(CHUNK_AT, CHUNK_AT + CHUNK);
    let o = start;
    let used = 0;
    try {
      while (o < end) {
        const len = bytesFor(end - o, this.accept, CHUNK);
        used = Math.max(used, len);
        this.random(work.subarray(0, len));
        const got = map(CHUNK_AT, CHUNK_AT + len) - CHUNK_AT;
        const take = Math.min(got, end - o);
        out.set(work.subarray(0, take), o);
        o += take;
      }
    } finally {
      work.fill(0, 0, used); // leave no unused randomness lying in memory
    }
  }
}
