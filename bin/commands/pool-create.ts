/* serialflow pool create | pool generate: make a pool (in a pool file, or in a PostgreSQL schema) and fill it from
   the command line, without the editor. `create` is the only command that makes a new file or schema; every other
   command refuses a missing one. */
import * as fs from "fs";
import * as path from "path";
import { parseArgs, required, UsageError } from "../args";
import { openPoolStore, PssError } from "../../nodes/core/store";
import { validate as validateGs1 } from "../../nodes/core/gs1";
import { progressBar } from "../progress";
import { TARGET_VALUES, Target, openPg, pgName, target } from "../target";
import type { PgPoolEngine } from "../../nodes/core/store/pg";

const USAGE_CREATE = "serialflow pool create --db FILE | --pg URL [--schema S] --pool ID --sid-class CLASS [--gtin GTIN] [--low-threshold N] [--guard strict|record] [--default]";
const USAGE_GENERATE = "serialflow pool generate --db FILE | --pg URL [--schema S] --pool ID --count N";
const actor = () => `serialflow-cli:${process.env.USER ?? "unknown"}`;

function fail(cmd: string, err: unknown, usage?: string): number {
  const e = err as Error & { code?: string };
  if (err instanceof UsageError) {
    console.error(`serialflow pool ${cmd}: ${e.message}${usage ? `\nUsage: ${usage}` : ""}`);
    return 2;
  }
  if (err instanceof PssError) {
    console.error(`serialflow pool ${cmd}: refused (${e.code}): ${e.message}`);
    return 1;
  }
  if (e?.name === "StoreError") {
    console.error(`serialflow pool ${cmd}: ${e.message} (${e.code})`);
    return 1;
  }
  console.error(`serialflow pool ${cmd}: ${e.message ?? String(err)}`);
  return 1;
}

function integer(p: ReturnType<typeof parseArgs>, name: string, min: number): number | undefined {
  const v = p.options.get(name)?.at(-1);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v.replace(/[_,]/g, "")) || Number(v.replace(/[_,]/g, "")) < min) throw new UsageError(`--${name} must be a whole number from ${min}, got "${v}"`);
  return Number(v.replace(/[_,]/g, ""));
}

export async function create(argv: string[]): Promise<number> {
  let t: Target, poolId: string, sidClass: string, gtin: string | undefined, low: number | undefined, guard: string | undefined, isDefault: boolean;
  try {
    const p = parseArgs(argv, { values: [...TARGET_VALUES, "pool", "sid-class", "gtin", "low-threshold", "guard"], flags: ["default"] });
    if (p.positionals.length) throw new UsageError(`unexpected argument "${p.positionals[0]}"`);
    t = target(p);
    poolId = required(p, "pool");
    sidClass = required(p, "sid-class");
    gtin = p.options.get("gtin")?.at(-1);
    low = integer(p, "low-threshold", 0);
    guard = p.options.get("guard")?.at(-1);
    if (guard !== undefined && guard !== "strict" && guard !== "record") throw new UsageError(`--guard is strict or record, got "${guard}"`);
    isDefault = p.flags.has("default");
    if (gtin !== undefined) {
      const v = validateGs1(`(01)${gtin}`);
      if (!v.valid) throw new UsageError(`--gtin ${gtin} is not a valid GTIN-14: ${v.errors.map((e) => e.message).join("; ")}`);
    }
  } catch (err) {
    return fail("create", err, USAGE_CREATE);
  }
  const criteria: Record<string, string> = gtin ? { PoolID: poolId, GTIN: gtin } : { PoolID: poolId };
  const def = { poolId, sidClass, selectionCriteria: criteria, ...(low !== undefined ? { lowThreshold: low } : {}), ...(guard ? { guardPolicy: guard as "strict" | "record" } : {}) };
  const said = `pool ${poolId} (SID class ${sidClass}${gtin ? `, GTIN ${gtin}` : ""})`;
  if (t.kind === "pg") {
    return withPg("create", t, true, async (engine) => {
      const pools = await engine.pools();
      if (pools.some((x) => x.poolId === poolId)) throw new PssError("InvalidPool", `pool ${poolId} already exists in ${pgName(t)}`);
      await engine.createPool({ ...def, isDefault: isDefault || pools.length === 0 });
      console.log(`created ${said} in ${pgName(t)}`);
      return 0;
    });
  }
  const db = t.file;
  if (!fs.existsSync(path.dirname(db))) return fail("create", new Error(`the folder ${path.dirname(db)} does not exist`));
  let store;
  try {
    store = openPoolStore(db, { actor: actor() });
  } catch (err) {
    return fail("create", err);
  }
  try {
    if (store.listPools().some((x) => x.poolId === poolId)) throw new PssError("InvalidPool", `pool ${poolId} already exists in ${db}`);
    store.createPool({ ...def, isDefault: isDefault || store.listPools().length === 0 });
    console.log(`created ${said} in ${db}`);
    return 0;
  } catch (err) {
    return fail("create", err);
  } finally {
    store.close();
  }
}

/** Generates in steps of at most the pool's maxCount (one transaction each), with progress on a terminal. */
export async function generate(argv: string[]): Promise<number> {
  let t: Target, poolId: string, count: number;
  try {
    const p = parseArgs(argv, { values: [...TARGET_VALUES, "pool", "count"] });
    if (p.positionals.length) throw new UsageError(`unexpected argument "${p.positionals[0]}"`);
    t = target(p);
    poolId = required(p, "pool");
    const c = integer(p, "count", 1);
    if (c === undefined) throw new UsageError("option --count is required");
    count = c;
  } catch (err) {
    return fail("generate", err, USAGE_GENERATE);
  }
  if (t.kind === "pg") {
    return withPg("generate", t, false, async (engine) => {
      const pool = (await engine.pools()).find((x) => x.poolId === poolId);
      if (!pool) throw new PssError("InvalidPool", `no pool ${poolId} in ${pgName(t)} (pools: ${(await engine.pools()).map((x) => x.poolId).join(", ") || "none"})`);
      const bar = progressBar("generating", { counts: true });
      try {
        const step = Math.min(pool.maxCount, 100_000);
        let done = 0;
        while (done < count) {
          done += (await engine.generateNumbers(poolId, Math.min(step, count - done), { context: { source: "serialflow pool generate" } })).length;
          bar.update(done, count);
        }
        bar.end();
        console.log(`generated ${done} serial numbers into pool ${poolId} (${(await engine.counts(poolId)).Unassigned} Unassigned; provision them to make them available to draws)`);
        return 0;
      } finally {
        bar.end();
      }
    });
  }
  const db = t.file;
  if (!fs.existsSync(db)) return fail("generate", new Error(`no pool file at ${db} (make one with: serialflow pool create --db ${db} --pool ${poolId} --sid-class CLASS)`));
  let store;
  try {
    store = openPoolStore(db, { actor: actor() });
  } catch (err) {
    return fail("generate", err);
  }
  const bar = progressBar("generating", { counts: true });
  try {
    const pool = store.listPools().find((x) => x.poolId === poolId);
    if (!pool) throw new PssError("InvalidPool", `no pool ${poolId} in ${db} (pools: ${store.listPools().map((x) => x.poolId).join(", ") || "none"})`);
    const step = Math.min(pool.maxCount, 100_000);
    let done = 0;
    while (done < count) {
      const n = Math.min(step, count - done);
      done += store.provision(poolId, { generate: n }, { context: { source: "serialflow pool generate" } }).added;
      bar.update(done, count);
      await new Promise((r) => setImmediate(r));
    }
    bar.end();
    console.log(`generated ${done} serial numbers into pool ${poolId} (${store.available(poolId)} available)`);
    return 0;
  } catch (err) {
    bar.end();
    return fail("generate", err);
  } finally {
    store.close();
  }
}

/** Runs fn on an engine of the schema (`create`: make the schema's tables when absent), closing it after. */
async function withPg(cmd: string, t: { url: string; schema: string }, create: boolean, fn: (engine: PgPoolEngine) => Promise<number>): Promise<number> {
  let engine: PgPoolEngine;
  try {
    engine = await openPg(t, { create });
  } catch (err) {
    return fail(cmd, new Error(`${pgName(t)}: ${(err as Error).message}`));
  }
  try {
    return await fn(engine);
  } catch (err) {
    return fail(cmd, err);
  } finally {
    await engine.close();
  }
}

export const run = create;
