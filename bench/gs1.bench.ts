/* Random serial generation against raw crypto.randomBytes for the same number of bytes, in the same run. */
import { randomBytes } from "crypto";
import { gs1, sid } from "../nodes/core";
import { bestOf, type BenchModule } from "./harness";

const N = 1_000_000;
const LENGTH = 12;

/** The best (lowest) wall-clock and CPU time of the calls timed; CPU time is the whole process's, GC threads included. */
class Best {
  wall = Infinity;
  cpu = Infinity;
  time(fn: () => unknown): void {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    fn();
    this.wall = Math.min(this.wall, Number(process.hrtime.bigint() - t0) / 1e9);
    const c = process.cpuUsage(c0);
    this.cpu = Math.min(this.cpu, (c.user + c.system) / 1e6);
  }
}

const bench: BenchModule = {
  title: "gs1/sid: random serial numbers (1,000,000 x 12 characters, GS1 set 82)",
  async run(log) {
    const g = sid.createGenerator({ kind: "random", alphabet: gs1.CSET82, length: LENGTH });
    // warm up: the generator's WebAssembly module is made and compiled, and the allocator has seen 12 MB buffers
    // come and go (measured first and cold, a fresh 12 MB randomBytes buffer was up to 60 times slower)
    for (let i = 0; i < 2; i++) (randomBytes(N * LENGTH), g.nextBuffer(N), g.next(N / 10));
    const ready = g.nextBuffer(N).toString("latin1");
    const cut = (): string[] => {
      const out = new Array<string>(N);
      for (let i = 0, o = 0; i < N; i++, o += LENGTH) out[i] = ready.slice(o, o + LENGTH);
      return out;
    };
    // rounds interleave them, so a busier moment of the shared machine hits each alike; the best round of each counts,
    // by the wall clock (the ratio) and by the process's CPU time (in the note: steadier when other work shares the cores)
    const best = { raw: new Best(), packed: new Best(), strings: new Best(), cut: new Best() };
    for (let r = 0; r < 15; r++) {
      best.raw.time(() => randomBytes(N * LENGTH));
      best.packed.time(() => g.nextBuffer(N));
      if (r % 2) continue; // the string rounds take 100 times longer: 8 of them
      best.strings.time(() => g.next(N));
      best.cut.time(cut);
    }
    const { raw, packed, strings } = best;
    const cpu = (b: Best): string => `CPU-time ratio ${(raw.cpu / b.cpu).toFixed(2)}`;
    log({ name: "baseline: crypto.randomBytes(n x 12)", value: N / raw.wall, unit: "serial-equivalents/s" });
    log({ name: "sid random next(n): string[] (what the store calls)", value: N / strings.wall, unit: "serials/s", ratio: raw.wall / strings.wall, aim: "ratio >= 0.2 (issue 18)", note: cpu(strings) });
    log({ name: "sid random nextBuffer(n): packed ASCII", value: N / packed.wall, unit: "serials/s", ratio: raw.wall / packed.wall, aim: "ratio >= 0.5 (issue 18)", note: cpu(packed) });
    log({ name: "  strings alone: cut 1,000,000 x 12 from a ready string", value: N / best.cut.wall, unit: "strings/s", ratio: raw.wall / best.cut.wall, note: `${cpu(best.cut)}; no randomness: the most next(n) can reach` });
    const ais = [{ ai: "01", value: "09506000134352" }, { ai: "17", value: "261231" }, { ai: "10", value: "ABC123" }, { ai: "21", value: "X" }];
    const texts = g.next(20_000).map((s) => gs1.toElementString([...ais.slice(0, 3), { ai: "21", value: s }]));
    const base = await bestOf(3, () => texts.map((t) => t.split("\u001d")));
    const parse = await bestOf(3, () => texts.map((t) => gs1.parse(t)));
    log({ name: "gs1.parse element string (20,000), vs String.split", value: texts.length / parse, unit: "parses/s", ratio: base / parse, note: "no aim set; information" });
  },
};

export default bench;
