/* serialflow audit verify: recompute the audit log's hash chain and name the first record that was tampered with. */
import * as fs from "fs";
import * as path from "path";
import { parseArgs, required } from "../args";
import { openPoolStore } from "../../nodes/core/store";

const USAGE = "serialflow audit verify --db FILE";

export async function run(argv: string[]): Promise<number> {
  let db: string;
  try {
    db = path.resolve(required(parseArgs(argv, { values: ["db"] }), "db"));
  } catch (err) {
    console.error(`serialflow audit verify: ${(err as Error).message}\nUsage: ${USAGE}`);
    return 2;
  }
  if (!fs.existsSync(db)) {
    console.error(`serialflow audit verify: no pool file at ${db}`);
    return 1;
  }
  const store = openPoolStore(db, { actor: "serialflow-cli" });
  try {
    const r = store.verifyAudit();
    if (r.ok) {
      console.log(`audit log ok: ${r.count} records, last hash ${r.lastHash}`);
      return 0;
    }
    console.error(`audit log BROKEN at record ${r.seq} (${r.kind}): ${r.message}`);
    return 1;
  } finally {
    store.close();
  }
}
