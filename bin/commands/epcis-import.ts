/* serialflow epcis import: a received EPCIS document (EPCIS 2.0 JSON-LD, or 1.2/2.0 XML) applied to a pool file,
   all or nothing; events applied before (same event hash) are left alone; every refusal printed per event. */
import * as fs from "fs";
import * as path from "path";
import { parseArgs, required, UsageError } from "../args";
import { openPoolStore } from "../../nodes/core/store";
import * as epcis from "../../nodes/core/epcis";

const USAGE = "serialflow epcis import --db FILE --pool ID [--sscc-pool ID] [--skip-unsupported] FILE";

export async function run(argv: string[]): Promise<number> {
  let db: string;
  let file: string;
  let options: epcis.ImportOptions;
  try {
    const p = parseArgs(argv, { values: ["db", "pool", "sscc-pool"], flags: ["skip-unsupported"] });
    db = path.resolve(required(p, "db"));
    if (p.positionals.length !== 1) throw new UsageError("give exactly one EPCIS document FILE");
    file = path.resolve(p.positionals[0]);
    options = { poolId: required(p, "pool"), actor: `serialflow-cli:${process.env.USER ?? "unknown"}` };
    const ssccPool = p.options.get("sscc-pool")?.at(-1);
    if (ssccPool) options.logisticPoolId = ssccPool;
    if (p.flags.has("skip-unsupported")) options.unsupported = "skip";
  } catch (err) {
    console.error(`serialflow epcis import: ${(err as Error).message}\nUsage: ${USAGE}`);
    return 2;
  }
  // never create a pool file by accident: a typo in --db must not look like an empty pool
  if (!fs.existsSync(db)) {
    console.error(`serialflow epcis import: no pool file at ${db}`);
    return 1;
  }
  let text: Buffer;
  try {
    text = fs.readFileSync(file);
  } catch (err) {
    console.error(`serialflow epcis import: cannot read ${file}: ${(err as Error).message}`);
    return 1;
  }
  const store = openPoolStore(db, { actor: options.actor });
  try {
    const r = epcis.importEpcisDocument(store, text, options);
    const per = Object.entries(r.byEvent).map(([e, n]) => `${e} ${n}`).join(", ");
    console.log(`applied ${r.applied} of ${r.events} EPCIS events${per ? ` (${per})` : ""}; ${r.duplicates} applied before, ${r.skipped} skipped; ${r.added} new serial numbers`);
    return 0;
  } catch (err) {
    const e = err as epcis.EpcisError;
    console.error(`serialflow epcis import: ${e.code ? `${e.code}: ` : ""}${e.problems ? "nothing was applied" : e.message}`);
    for (const p of e.problems ?? []) console.error(`  ${epcis.describeProblem(p)}${p.code ? ` [${p.code}]` : ""}`);
    return 1;
  } finally {
    store.close();
  }
}
