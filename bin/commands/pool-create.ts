/* serialflow pool create | pool generate: make a pool file and fill it from the command line, without the
   editor. `create` is the only command that makes a new file; every other command refuses a missing one. */
import * as fs from "fs";
import * as path from "path";
import { parseArgs, required, UsageError } from "../args";
import { openPoolStore, PssError } from "../../nodes/core/store";
import { validate as validateGs1 } from "../../nodes/core/gs1";
import { progressBar } from "../progress";

const USAGE_CREATE = "serialflow pool create --db FILE --pool ID --sid-class CLASS [--gtin GTIN] [--low-threshold N] [--guard strict|record] [--default]";
const USAGE_GENERATE = "serialflow pool generate --db FILE --pool ID --count N";
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
  let db: string, poolId: string, sidClass: string, gtin: string | undefined, low: number | undefined, guard: string | undefined, isDefault: boolean;
  try {
    const p = parseArgs(argv, { values: ["db", "pool", "sid-class", "gtin", "low-threshold", "guard"], flags: ["default"] });
    if (p.positionals.length) throw new UsageError(`unexpected argument "${p.positionals[0]}"`);
    db = path.resolve(required(p, "db"));
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
  if (!fs.existsSync(path.dirname(db))) return fail("create", new Error(`the folder ${path.dirname(db)} does not exist`));
  let store;
  try {
    store = openPoolStore(db, { actor: actor() });
  } catch (err) {
    return fail("create", err);
  }
  try {
    if (store.listPools().some((x) => x.poolId === poolId)) throw new PssError("InvalidPool", `pool ${poolId} already exists in ${db}`);
    const pool = store.createPool({
      poolId,
      sidClass,
      selectionCriteria: gtin ? { PoolID: poolId, GTIN: gtin } : { PoolID: poolId },
      ...(low !== undefined ? { lowThreshold: low } : {}),
      ...(guard ? { guardPolicy: guard as "strict" | "record" } : {}),
      isDefault: isDefault || store.listPools().length === 0,
    });
    console.log(`created pool ${pool.poolId} (SID class ${pool.sidClass}${gtin ? `, GTIN ${gtin}` : ""}) in ${db}`);
    return 0;
  } catch (err) {
    return fail("create", err);
  } finally {
    store.close();
  }
}

/** Generates in steps of at most the pool's maxCount (one transaction each), with progress on a terminal. */
export async function generate(argv: string[]): Promise<number> {
  let db: string, poolId: string, count: number;
  try {
    const p = parseArgs(argv, { values: ["db", "pool", "count"] });
    if (p.positionals.length) throw new UsageError(`unexpected argument "${p.positionals[0]}"`);
    db = path.resolve(required(p, "db"));
    poolId = required(p, "pool");
    const c = integer(p, "count", 1);
    if (c === undefined) throw new UsageError("option --count is required");
    count = c;
  } catch (err) {
    return fail("generate", err, USAGE_GENERATE);
  }
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

export const run = create;
