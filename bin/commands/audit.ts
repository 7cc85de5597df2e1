/* serialflow audit verify: SQLite's integrity check, a pool and an audit log present, the hash chain, and a replay of
   the log against every stored state. Opens the file read-only: a read-only copy can be verified, nothing is written. */
import * as fs from "fs";
import * as path from "path";
import { parseArgs, required } from "../args";
import { openPoolStore, verifyPoolFile } from "../../nodes/core/store";
import { progressBar } from "../progress";

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
  let store;
  try {
    store = openPoolStore(db, { actor: "serialflow-cli", readonly: true, busyTimeoutMs: 5_000 });
  } catch (err) {
    console.error(`serialflow audit verify: FAILED: ${(err as Error).message}`);
    return 1;
  }
  const bar = progressBar("verifying");
  try {
    // synchronous and read-only: the bar is drawn from the chunks of records the checks report
    const r = verifyPoolFile(store, { onProgress: (done, total) => bar.update(done, total) });
    bar.end();
    if (r.ok) {
      console.log(`audit log ok: ${r.records} records, last hash ${r.lastHash}; ${r.numbers} serial numbers in ${r.pools} pool(s) replayed to their stored states; integrity ok`);
      return 0;
    }
    if (r.check === "chain") console.error(`audit log BROKEN at record ${r.seq} (${r.kind}): ${r.message}`);
    else console.error(`audit verify FAILED (${r.check}): ${r.message}`);
    return 1;
  } catch (err) {
    bar.end();
    console.error(`serialflow audit verify: FAILED: ${(err as Error).message}`);
    return 1;
  } finally {
    store.close();
  }
}
