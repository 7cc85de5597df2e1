/* Our AI table against the GS1 Barcode Syntax Dictionary, read at run time from ../shared. */
import assert from "node:assert/strict";
import * as fs from "fs";
import { gs1 } from "../../nodes/core";
import { requireShared } from "../helpers/paths";

interface DictEntry {
  ai: string;
  flags: string;
  comps: Array<{ cset: string; min: number; max: number; optional: boolean; linters: string[] }>;
  req: string[][];
  ex: string[];
  dlKey?: string[][];
  title: string;
}

/** A reader for the dictionary's line format, written from its header (independent of the table's code). */
function readDictionary(text: string): DictEntry[] {
  const out: DictEntry[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (/^\s*(#|$)/.test(line)) continue;
    const hash = line.indexOf("#");
    const title = hash < 0 ? "" : line.slice(hash + 1).trim();
    const toks = (hash < 0 ? line : line.slice(0, hash)).trim().split(/\s+/);
    const range = toks.shift() as string;
    const flags = toks.length && /^[*?]+$/.test(toks[0]) ? (toks.shift() as string) : "";
    const comps: DictEntry["comps"] = [];
    const req: string[][] = [];
    const ex: string[] = [];
    let dlKey: string[][] | undefined;
    for (const t of toks) {
      const m = /^(\[)?([NXYZ])(\.\.)?(\d+)\]?((?:,\w+)*)$/.exec(t);
      if (m) {
        const len = Number(m[4]);
        comps.push({ cset: m[2], min: m[3] ? 1 : len, max: len, optional: !!m[1], linters: m[5] ? m[5].slice(1).split(",") : [] });
      } else if (t.startsWith("req=")) req.push(...t.slice(4).split(",").map((g) => g.split("+")));
      else if (t.startsWith("ex=")) ex.push(...t.slice(3).split(","));
      else if (t === "dlpkey") dlKey = [[]];
      else if (t.startsWith("dlpkey=")) dlKey = t.slice(7).split("|").map((a) => a.split(","));
      else throw new Error("unexpected token " + t + " in " + line);
    }
    const [from, to] = range.split("-");
    for (let k = Number(from); k <= Number(to ?? from); k++) out.push({ ai: String(k).padStart(from.length, "0"), flags, comps, req, ex, dlKey, title });
  }
  return out;
}

describe("gs1 AI table vs the GS1 syntax dictionary", function () {
  let dict: DictEntry[] = [];
  before(function () {
    const file = requireShared(this, "reference/gs1/gs1-syntax-dictionary.txt");
    dict = readDictionary(fs.readFileSync(file, "utf8"));
  });

  it("holds exactly the dictionary's AIs", function () {
    assert.ok(dict.length > 400, `dictionary read: ${dict.length} AIs`);
    assert.deepEqual(gs1.listAis().map((d) => d.ai).sort(), dict.map((e) => e.ai).sort());
  });

  it("matches every AI's format, lengths, character sets, linters, FNC1 need and association rules", function () {
    for (const e of dict) {
      const d = gs1.getAi(e.ai);
      assert.ok(d, `AI (${e.ai}) missing`);
      const where = `AI (${e.ai})`;
      assert.equal(d.title, e.title, where + " title");
      assert.equal(d.fnc1Required, !e.flags.includes("*"), where + " FNC1 need");
      assert.equal(d.dlAttr, e.flags.includes("?"), where + " Digital Link attribute");
      assert.deepEqual(d.components.map((c) => ({ ...c })), e.comps, where + " components");
      assert.deepEqual(d.req, e.req, where + " req");
      assert.deepEqual(d.ex, e.ex, where + " ex");
      assert.deepEqual(d.dlKey, e.dlKey, where + " dlpkey");
      const dates = e.comps.flatMap((c) => c.linters).filter((l) => /^y/.test(l));
      const csum = e.comps.some((c) => c.linters.includes("csum"));
      assert.equal(d.components.some((c) => c.linters.includes("csum")), csum, where + " check digit rule");
      assert.deepEqual(d.components.flatMap((c) => c.linters).filter((l) => /^y/.test(l)), dates, where + " date rules");
    }
  });

  it("applies each AI's format: a value of the maximum length passes, one longer fails with ValueTooLong", function () {
    const sample: Record<string, string> = { N: "0", X: "A", Y: "A", Z: "A" };
    for (const e of dict) {
      const d = gs1.getAi(e.ai)!;
      if (e.comps.some((c) => c.linters.length)) continue; // content rules need real values: covered in gs1.spec
      const max = e.comps.map((c) => sample[c.cset].repeat(c.max)).join("");
      assert.deepEqual(gs1.validate(`(${e.ai})${max}`, { associations: false }).errors, [], `AI (${e.ai}) max length`);
      const r = gs1.validate(`(${e.ai})${max}${sample[e.comps[e.comps.length - 1].cset]}`, { associations: false });
      assert.equal(r.errors[0]?.code, "ValueTooLong", `AI (${e.ai}) over-long`);
      assert.equal(d.maxLength, max.length);
    }
  });
});
