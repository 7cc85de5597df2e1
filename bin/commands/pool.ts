/* serialflow pool status | pool import: counts per pool and state, and authority files into a pool. */
import * as fs from "fs";
import * as path from "path";
import { parseArgs, required, UsageError } from "../args";
import { openPoolStore, PssError } from "../../nodes/core/store";
import { STATES } from "../../nodes/core/lifecycle";
import { progressBar } from "../progress";

const USAGE_STATUS = "serialflow pool status --db FILE";
const USAGE_IMPORT = "serialflow pool import --db FILE --pool ID FILE";

export async function run(argv: string[]): Promise<number> {
  // both rows route here without their words: import is the one with --pool or a FILE argument
  const isImport = argv.some((a, i) => a === "--pool" || a.startsWith("--pool=") || (!a.startsWith("--") && (i === 0 || !argv[i - 1].startsWith("--"))));
  return isImport ? importCommand(argv) : status(argv);
}

function openExisting(file: string, readonly = false) {
  // never create a pool file by accident: a typo in --db must not look like an empty pool
  if (!fs.existsSync(file)) throw new UsageError(`no pool file at ${file}`);
  return openPoolStore(file, { actor: `serialflow-cli:${process.env.USER ?? "unknown"}`, readonly });
}

export async function status(argv: string[]): Promise<number> {
  let db: string;
  try {
    db = path.resolve(required(parseArgs(argv, { values: ["db"] }), "db"));
  } catch (err) {
    console.error(`serialflow pool status: ${(err as Error).message}\nUsage: ${USAGE_STATUS}`);
    return 2;
  }
  let store;
  try {
    store = openExisting(db, true);
  } catch (err) {
    console.error(`serialflow pool status: ${(err as Error).message}`);
    return 1;
  }
  try {
    const pools = store.listPools();
    if (pools.length === 0) {
      console.log(`${db}: no pool`);
      return 0;
    }
    for (const p of pools) {
      const counts = store.countByState(p.poolId);
      const total = Object.values(counts).reduce((a, b) => a + b, 0);
      const available = store.available(p.poolId);
      const low = p.lowThreshold > 0 && available < p.lowThreshold ? "  LOW" : "";
      console.log(`pool ${p.poolId}${p.isDefault ? " (default)" : ""}  SID class ${p.sidClass}  guard ${p.guardPolicy}  total ${total}  available ${available}  threshold ${p.lowThreshold}${low}`);
      for (const s of STATES) if (counts[s] > 0) console.log(`  ${s.padEnd(14)} ${String(counts[s]).padStart(12)}`);
    }
    return 0;
  } finally {
    store.close();
  }
}

export async function importCommand(argv: string[]): Promise<number> {
  let db: string, poolId: string, file: string;
  try {
    const p = parseArgs(argv, { values: ["db", "pool"] });
    db = path.resolve(required(p, "db"));
    poolId = required(p, "pool");
    if (p.positionals.length !== 1) throw new UsageError(p.positionals.length ? `one import file expected, got ${p.positionals.length}` : "the import FILE is missing");
    file = path.resolve(p.positionals[0]);
  } catch (err) {
    console.error(`serialflow pool import: ${(err as Error).message}\nUsage: ${USAGE_IMPORT}`);
    return 2;
  }
  let store;
  try {
    store = openExisting(db);
  } catch (err) {
    console.error(`serialflow pool import: ${(err as Error).message}`);
    return 1;
  }
  const bar = progressBar(`importing ${path.basename(file)}`);
  try {
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch (err) {
      console.error(`serialflow pool import: cannot read ${file}: ${(err as Error).message}`);
      return 1;
    }
    // the import is one transaction (all lines or none); the bar is drawn from its chunks of lines
    const r = store.importFile(poolId, text, { context: { importFile: path.basename(file) }, onProgress: (done, total) => bar.update(done, total) });
    bar.end();
    console.log(`imported ${r.added} serial numbers from ${path.basename(file)} into pool ${poolId}`);
    return 0;
  } catch (err) {
    bar.end();
    if (err instanceof PssError) {
      console.error(`serialflow pool import: refused (${err.code}): ${err.message}`);
      for (const d of (err.details ?? []).slice(0, 20)) console.error(`  ${d.reason}`);
      if ((err.details?.length ?? 0) > 20) console.error(`  and ${(err.details?.length ?? 0) - 20} more`);
      console.error("nothing was imported");
      return 1;
    }
    throw err;
  } finally {
    store.close();
  }
}
