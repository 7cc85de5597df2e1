/* serialflow audit verify: on a pool file (--db), SQLite's integrity check, a pool and an audit log present, the hash
   chain, and a replay of the log against every stored state; the file is opened read-only, so a read-only copy can be
   verified. On PostgreSQL (--pg), the schema's chain (records committed since the last link are linked first: the
   only write), and each pool copied from a pool file against the hashes its records had there. */
import * as fs from "fs";
import { parseArgs } from "../args";
import { openPoolStore, verifyPoolFile } from "../../nodes/core/store";
import { progressBar } from "../progress";
import { TARGET_VALUES, openPg, pgName, target } from "../target";

const USAGE = "serialflow audit verify --db FILE | --pg URL [--schema S]";

export async function run(argv: string[]): Promise<number> {
  let t;
  try {
    const p = parseArgs(argv, { values: TARGET_VALUES });
    if (p.positionals.length) throw new Error(`unexpected argument "${p.positionals[0]}"`);
    t = target(p);
  } catch (err) {
    console.error(`serialflow audit verify: ${(err as Error).message}\nUsage: ${USAGE}`);
    return 2;
  }
  if (t.kind === "pg") return verifyPg(t);
  const db = t.file;
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

async function verifyPg(t: { url: string; schema: string }): Promise<number> {
  let engine;
  try {
    engine = await openPg(t, { create: false });
  } catch (err) {
    console.error(`serialflow audit verify: FAILED: ${pgName(t)}: ${(err as Error).message}`);
    return 1;
  }
  try {
    const r = await engine.verifyAudit();
    if (!r.ok) {
      console.error(`audit log BROKEN at record ${r.seq} (${r.kind}): ${r.message}`);
      return 1;
    }
    console.log(`audit log ok: ${r.count} records, last hash ${r.lastHash}${r.pending ? `; ${r.pending} committed record(s) not yet linked (their transactions were still open)` : ""}`);
    for (const c of r.copies) {
      console.log(`  pool ${c.poolId}: ${c.records} records copied from ${c.sourceFile} match their hashes there (last: record ${c.sourceLastSeq}, hash ${c.sourceLastHash})`);
    }
    return 0;
  } catch (err) {
    console.error(`serialflow audit verify: FAILED: ${(err as Error).message}`);
    return 1;
  } finally {
    await engine.close();
  }
}
