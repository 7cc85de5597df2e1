/* serialflow pool status | pool import: counts per pool and state (a pool file or PostgreSQL), and authority files
   into a pool (a pool file). */
import * as fs from "fs";
import * as path from "path";
import { parseArgs, required, UsageError } from "../args";
import { openPoolStore, PssError } from "../../nodes/core/store";
import { STATES } from "../../nodes/core/lifecycle";
import { progressBar } from "../progress";
import { TARGET_VALUES, Target, openPg, pgName, target } from "../target";

const USAGE_STATUS = "serialflow pool status --db FILE | --pg URL [--schema S] [--pool ID]";
const USAGE_IMPORT = "serialflow pool import --db FILE --pool ID FILE";

function openExisting(file: string, readonly = false) {
  // never create a pool file by accident: a typo in --db must not look like an empty pool
  if (!fs.existsSync(file)) throw new UsageError(`no pool file at ${file}`);
  return openPoolStore(file, { actor: `serialflow-cli:${process.env.USER ?? "unknown"}`, readonly });
}

/** One pool's lines of `pool status`, the same for a pool file and PostgreSQL. */
function printPool(p: { poolId: string; isDefault: boolean; sidClass: string; guardPolicy: string; lowThreshold: number }, counts: Record<string, number>, available: number): void {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const low = p.lowThreshold > 0 && available < p.lowThreshold ? "  LOW" : "";
  console.log(`pool ${p.poolId}${p.isDefault ? " (default)" : ""}  SID class ${p.sidClass}  guard ${p.guardPolicy}  total ${total}  available ${available}  threshold ${p.lowThreshold}${low}`);
  for (const s of STATES) if (counts[s] > 0) console.log(`  ${s.padEnd(14)} ${String(counts[s]).padStart(12)}`);
}

export async function status(argv: string[]): Promise<number> {
  let t: Target, poolId: string | undefined;
  try {
    const p = parseArgs(argv, { values: [...TARGET_VALUES, "pool"] });
    if (p.positionals.length) throw new UsageError(`unexpected argument "${p.positionals[0]}"`);
    t = target(p);
    poolId = p.options.get("pool")?.at(-1);
  } catch (err) {
    console.error(`serialflow pool status: ${(err as Error).message}\nUsage: ${USAGE_STATUS}`);
    return 2;
  }
  if (t.kind === "pg") return statusPg(t, poolId);
  const db = t.file;
  let store;
  try {
    store = openExisting(db, true);
  } catch (err) {
    console.error(`serialflow pool status: ${(err as Error).message}`);
    return 1;
  }
  try {
    const all = store.listPools();
    if (all.length === 0) {
      console.log(`${db}: no pool`);
      return 0;
    }
    const pools = poolId === undefined ? all : all.filter((p) => p.poolId === poolId);
    if (pools.length === 0) {
      console.error(`serialflow pool status: refused (UnknownPool): no pool ${JSON.stringify(poolId)} in ${db} (pools: ${all.map((p) => p.poolId).join(", ")})`);
      return 1;
    }
    // "available": what an Allocated request can get (free Unassigned and Unallocated numbers)
    for (const p of pools) printPool(p, store.countByState(p.poolId), store.available(p.poolId));
    return 0;
  } finally {
    store.close();
  }
}

async function statusPg(t: { url: string; schema: string }, poolId: string | undefined): Promise<number> {
  let engine;
  try {
    engine = await openPg(t, { create: false });
  } catch (err) {
    console.error(`serialflow pool status: ${pgName(t)}: ${(err as Error).message}`);
    return 1;
  }
  try {
    const all = await engine.pools();
    if (all.length === 0) {
      console.log(`${pgName(t)}: no pool`);
      return 0;
    }
    const pools = poolId === undefined ? all : all.filter((p) => p.poolId === poolId);
    if (pools.length === 0) {
      console.error(`serialflow pool status: refused (UnknownPool): no pool ${JSON.stringify(poolId)} in ${pgName(t)} (pools: ${all.map((p) => p.poolId).join(", ")})`);
      return 1;
    }
    // "available": what a draw (an Allocated request) can get: free Unallocated numbers
    for (const p of pools) printPool(p, await engine.counts(p.poolId), await engine.available(p.poolId));
    return 0;
  } catch (err) {
    console.error(`serialflow pool status: ${err instanceof PssError ? `refused (${err.code}): ` : ""}${(err as Error).message}`);
    return 1;
  } finally {
    await engine.close();
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
