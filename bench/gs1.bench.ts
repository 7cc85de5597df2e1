/* Random serial generation against raw crypto.randomBytes for the same number of bytes, in the same run. */
import { randomBytes } from "crypto";
import { gs1, sid } from "../nodes/core";
import { bestOf, type BenchModule } from "./harness";

const N = 1_000_000;
const LENGTH = 12;

const bench: BenchModule = {
  title: "gs1/sid: random serial numbers (1,000,000 x 12 characters, GS1 set 82)",
  async run(log) {
    const g = sid.createGenerator({ kind: "random", alphabet: gs1.CSET82, length: LENGTH });
    const raw = await bestOf(5, () => randomBytes(N * LENGTH));
    log({ name: "baseline: crypto.randomBytes(n x 12)", value: N / raw, unit: "serial-equivalents/s" });
    const strings = await bestOf(5, () => g.next(N));
    log({ name: "sid random next(n): string[] (what the store calls)", value: N / strings, unit: "serials/s", ratio: raw / strings, aim: "ratio >= 0.5" });
    const packed = await bestOf(5, () => g.nextBuffer(N));
    log({ name: "sid random nextBuffer(n): packed ASCII", value: N / packed, unit: "serials/s", ratio: raw / packed, aim: "ratio >= 0.5" });
    const ais = [{ ai: "01", value: "09506000134352" }, { ai: "17", value: "261231" }, { ai: "10", value: "ABC123" }, { ai: "21", value: "X" }];
    const texts = g.next(20_000).map((s) => gs1.toElementString([...ais.slice(0, 3), { ai: "21", value: s }]));
    const base = await bestOf(3, () => texts.map((t) => t.split("\u001d")));
    const parse = await bestOf(3, () => texts.map((t) => gs1.parse(t)));
    log({ name: "gs1.parse element string (20,000), vs String.split", value: texts.length / parse, unit: "parses/s", ratio: base / parse, note: "no aim set; information" });
  },
};

export default bench;
