/* serialflow pool reconcile: the numbers stranded Allocated or Encoded (a crash, a lost answer), by pool, collection
   and age; --apply invalidates those never printed and scraps the printed labels (audited); --report counts each pool
   and lot so that a batch is released only when every number is accounted for. Read-only without --apply. */
import * as fs from "fs";
import * as path from "path";
import { parseArgs, required, UsageError } from "../args";
import { batchReport, openPoolStore, parseDuration, reconcile, PssError, StoreError, type BatchCounts } from "../../nodes/core/store";

const USAGE = "serialflow pool reconcile --db FILE [--pool ID] [--older-than DURATION] [--apply] [--report] [--json]";

function line(c: BatchCounts): string {
  return `requested ${c.requested}  printed ${c.printed}  commissioned ${c.commissioned}  released ${c.released}  scrapped ${c.scrapped}  sampled ${c.sampled}  invalidated ${c.invalidated}  still Allocated ${c.stillAllocated}  still Encoded ${c.stillEncoded}  open parents ${c.openParents}`;
}

export async function run(argv: string[]): Promise<number> {
  let db: string, poolId: string | undefined, olderThanMs = 0, apply: boolean, report: boolean, json: boolean;
  try {
    const p = parseArgs(argv, { values: ["db", "pool", "older-than"], flags: ["apply", "report", "json"] });
    if (p.positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(p.positionals[0])}`);
    db = path.resolve(required(p, "db"));
    poolId = p.options.get("pool")?.at(-1);
    const older = p.options.get("older-than")?.at(-1);
    if (older !== undefined) olderThanMs = parseDuration(older);
    apply = p.flags.has("apply");
    report = p.flags.has("report");
    json = p.flags.has("json");
  } catch (err) {
    console.error(`serialflow pool reconcile: ${(err as Error).message}\nUsage: ${USAGE}`);
    return 2;
  }
  if (!fs.existsSync(db)) {
    console.error(`serialflow pool reconcile: no pool file at ${db}`);
    return 1;
  }
  let store;
  try {
    store = openPoolStore(db, { actor: `serialflow-cli:${process.env.USER ?? "unknown"}`, readonly: !apply });
  } catch (err) {
    console.error(`serialflow pool reconcile: ${(err as Error).message}`);
    return 1;
  }
  try {
    const r = reconcile(store, { poolId, olderThanMs, apply, context: { olderThan: `${olderThanMs}ms` } });
    const reports = report ? batchReport(store, poolId) : undefined;
    if (json) {
      console.log(JSON.stringify({ ...r, ...(reports ? { report: reports } : {}) }, null, 2));
    } else {
      const total = r.groups.reduce((n, g) => n + g.serialNumbers.length, 0);
      console.log(`${total} stranded serial number(s) in ${r.groups.length} collection(s)${olderThanMs ? ` older than ${olderThanMs / 1000} s` : ""}${poolId ? ` in pool ${poolId}` : ""}`);
      for (const g of r.groups) {
        console.log(`pool ${g.poolId}  collection ${g.snCollectionId || "(none)"}  ${g.state}  since ${g.since || "unknown"}  ${g.serialNumbers.length} number(s)`);
        for (const v of g.serialNumbers) console.log(`  ${v}`);
      }
      if (apply) console.log(`applied: ${r.invalidated} invalidated (never printed: SNInvalid), ${r.scrapped} scrapped (printed: LabelScrapped), each change audited`);
      else if (total) console.log("nothing changed (add --apply to invalidate the never printed and scrap the printed)");
      for (const rep of reports ?? []) {
        console.log(`report pool ${rep.poolId}: ${rep.accountedFor ? "every number accounted for" : "NOT accounted for: numbers still Allocated or Encoded, or open parents"}`);
        console.log(`  pool total  ${line(rep.pool)}`);
        for (const l of rep.lots) console.log(`  lot ${l.lot || "(none)"}  ${line(l)}`);
      }
    }
    return 0;
  } catch (err) {
    if (err instanceof PssError || err instanceof StoreError) {
      console.error(`serialflow pool reconcile: refused (${err.code}): ${err.message}`);
      return 1;
    }
    throw err;
  } finally {
    store.close();
  }
}
