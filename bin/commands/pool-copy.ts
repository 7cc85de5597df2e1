/* serialflow pool copy: one pool of a pool file into a PostgreSQL schema (nodes/core/store/pg/copy.ts), in one
   transaction, then a verification: the counts per state in PostgreSQL equal the file's, and the schema's audit chain
   verifies, the copied records against their hashes in the file too. The file is opened read-only and checked
   first (as `audit verify --db` does): a file that fails is not copied. */
import * as fs from "fs";
import * as path from "path";
import { parseArgs, required, UsageError } from "../args";
import { openPoolStore, verifyPoolFile, PssError } from "../../nodes/core/store";
import { readPoolSnapshot } from "../../nodes/core/store/export";
import { checkCopyable, copyPool, type PgPoolEngine } from "../../nodes/core/store/pg";
import { STATES } from "../../nodes/core/lifecycle";
import { openPg, pgName } from "../target";

const USAGE = "serialflow pool copy --db FILE --pool ID --pg URL [--schema S]";

function refused(err: unknown): number {
  const e = err as Error & { code?: string };
  if (err instanceof PssError) console.error(`serialflow pool copy: refused (${e.code}): ${e.message}`);
  else console.error(`serialflow pool copy: ${e.message ?? String(err)}${e.code && e.name === "StoreError" ? ` (${e.code})` : ""}`);
  return 1;
}

export async function run(argv: string[]): Promise<number> {
  let db: string, poolId: string, t: { url: string; schema: string };
  try {
    const p = parseArgs(argv, { values: ["db", "pool", "pg", "schema"] });
    if (p.positionals.length) throw new UsageError(`unexpected argument "${p.positionals[0]}"`);
    db = path.resolve(required(p, "db"));
    poolId = required(p, "pool");
    const schema = p.options.get("schema")?.at(-1);
    if (schema === "") throw new UsageError("option --schema needs a name");
    t = { url: required(p, "pg"), schema: schema ?? "serialflow" };
  } catch (err) {
    console.error(`serialflow pool copy: ${(err as Error).message}\nUsage: ${USAGE}`);
    return 2;
  }
  if (!fs.existsSync(db)) return refused(new Error(`no pool file at ${db}`));
  let store;
  try {
    store = openPoolStore(db, { actor: "serialflow-cli", readonly: true, busyTimeoutMs: 5_000 });
  } catch (err) {
    return refused(err);
  }
  let engine: PgPoolEngine | undefined;
  try {
    // the file must pass `audit verify --db` (integrity, chain, replay): its hashes are what the copy keeps
    const check = verifyPoolFile(store);
    if (!check.ok) return refused(new PssError("CopyRefused", `the pool file ${db} does not pass audit verify (${check.check}: ${check.message}); nothing was copied`));
    const snap = readPoolSnapshot(store, poolId);
    let result;
    try {
      // what the schema could not hold is refused before the schema is touched (not even made)
      checkCopyable(snap);
      try {
        engine = await openPg(t, { create: true });
      } catch (err) {
        return refused(new Error(`${pgName(t)}: ${(err as Error).message}`));
      }
      result = await copyPool(engine, snap, { actor: `serialflow-cli:${process.env.USER ?? "unknown"}`, sourceName: db });
    } finally {
      snap.end();
    }
    console.log(`copied pool ${poolId} from ${db} into ${pgName(t)}: ${result.numbers} serial numbers, ${result.collections} SNCollection(s), ${result.labelCollections} LabelCollection(s), ${result.records} audit record(s) (one transaction)`);
    for (const n of result.notes) console.log(`note: ${n}`);

    // the verification: counts per state, then the audit chain with the copy's pool-file hashes
    let ok = true;
    const pg = await engine.counts(poolId);
    console.log("verification:");
    for (const s of STATES) {
      if (snap.counts[s] === 0 && pg[s] === 0) continue;
      const same = snap.counts[s] === pg[s];
      if (!same) ok = false;
      console.log(`  ${s.padEnd(14)} file ${String(snap.counts[s]).padStart(10)}  PostgreSQL ${String(pg[s]).padStart(10)}${same ? "" : "  DIFFERENT"}`);
    }
    console.log(ok ? "  counts by state equal" : "  counts by state DIFFER");
    const v = await engine.verifyAudit();
    if (!v.ok) {
      console.error(`audit log BROKEN at record ${v.seq} (${v.kind}): ${v.message}`);
      ok = false;
    } else {
      const copy = v.copies.filter((c) => c.poolId === poolId).at(-1);
      if (!copy || copy.records !== result.records) {
        console.error(`audit verify FAILED: the copy of pool ${poolId} is not in the schema's chain as ${result.records} records`);
        ok = false;
      } else {
        console.log(`  audit log ok: ${v.count} records in the schema, last hash ${v.lastHash}; the ${copy.records} copied records match their hashes in ${copy.sourceFile} (last: record ${copy.sourceLastSeq}, hash ${copy.sourceLastHash})`);
      }
    }
    if (!ok) {
      console.error("serialflow pool copy: VERIFICATION FAILED (the copy is committed: look at it before using the pool)");
      return 1;
    }
    console.log(`pool ${poolId} is now in both places: stop using it in ${db}, or its free numbers could be handed out twice`);
    return 0;
  } catch (err) {
    return refused(err);
  } finally {
    store.close();
    await engine?.close();
  }
}
