/* Runs every dist/bench/*.bench.js (or those whose name contains an argument) and prints one table.
   Usage: npm run bench [-- <filter> ...]. Results are also written to out/bench.json. */
import * as fs from "fs";
import * as path from "path";
import type { BenchModule, BenchRow } from "./harness";

async function main(): Promise<void> {
  const filters = process.argv.slice(2);
  const files = fs
    .readdirSync(__dirname)
    .filter((f) => f.endsWith(".bench.js"))
    .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
    .sort();
  const all: Array<BenchRow & { suite: string }> = [];
  const skipped: Array<{ suite: string; reason: string }> = [];
  console.log(`SerialFlow benchmarks: node ${process.version}, ${new Date().toISOString()}`);
  for (const f of files) {
    const mod = require(path.join(__dirname, f)) as { default: BenchModule };
    const bench = mod.default;
    console.log(`\n## ${bench.title}`);
    const outcome = await bench.run((row) => {
      all.push({ suite: bench.title, ...row });
      const ratio = row.ratio === undefined ? "" : `  ratio ${row.ratio.toFixed(2)}`;
      const aim = row.aim ? `  (aim ${row.aim})` : "";
      const note = row.note ? `  ${row.note}` : "";
      console.log(`${row.name.padEnd(58)} ${formatValue(row.value).padStart(14)} ${row.unit}${ratio}${aim}${note}`);
    });
    if (outcome && "skipped" in outcome) {
      skipped.push({ suite: bench.title, reason: outcome.skipped });
      console.log(`skipped: ${outcome.skipped}`);
    }
  }
  const outDir = path.resolve(__dirname, "..", "..", "out");
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, "bench.json"), JSON.stringify({ node: process.version, date: new Date().toISOString(), rows: all, skipped }, null, 2));
}

function formatValue(v: number): string {
  if (Math.abs(v) >= 100) return Math.round(v).toLocaleString("en-US");
  return v.toPrecision(3);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
