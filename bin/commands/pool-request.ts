/* serialflow pool request: draw serial numbers through the PSS request (SNRequestAllocated, ...) from a pool file or a
   PostgreSQL schema, every page, and print them one per line, for scripts (issue 17: lines drawing from one global
   pool side by side). Each page is one transaction of the store, printed as soon as it is drawn, so a failure on a
   later page loses none of the numbers printed before it. */
import * as fs from "fs";
import { parseArgs, required, UsageError } from "../args";
import { openPoolStore, PssError } from "../../nodes/core/store";
import type { RequestArgs, RequestResult, RequestTarget } from "../../nodes/core/store";
import type { PgPoolEngine } from "../../nodes/core/store/pg";
import { TARGET_VALUES, Target, openPg, pgName, target } from "../target";

const USAGE = "serialflow pool request --db FILE | --pg URL [--schema S] [--pool ID] --count N [--target Allocated|Unallocated|Unassigned] [--collection ID]";
const TARGETS: readonly RequestTarget[] = ["Allocated", "Unallocated", "Unassigned"];
/** exit code when the pool had fewer numbers than asked: those printed are drawn, the rest is missing */
export const EXIT_INSUFFICIENT = 3;

type Request = (args: RequestArgs) => Promise<RequestResult>;

interface Ask {
  target: RequestTarget;
  count: number;
  poolId: string | undefined;
  collection: string | undefined;
  actor: string;
}

function parse(argv: string[]): { where: Target; ask: Ask } {
  const p = parseArgs(argv, { values: [...TARGET_VALUES, "pool", "count", "target", "collection"] });
  if (p.positionals.length) throw new UsageError(`unexpected argument "${p.positionals[0]}"`);
  const where = target(p);
  const raw = required(p, "count");
  const digits = raw.replace(/[_,]/g, "");
  if (!/^\d+$/.test(digits) || Number(digits) < 1 || !Number.isSafeInteger(Number(digits))) throw new UsageError(`--count must be a whole number from 1, got "${raw}"`);
  const t = p.options.get("target")?.at(-1) ?? "Allocated";
  if (!TARGETS.includes(t as RequestTarget)) throw new UsageError(`--target must be one of ${TARGETS.join(", ")}, got "${t}"`);
  const poolId = p.options.get("pool")?.at(-1);
  if (poolId === "") throw new UsageError("option --pool needs a pool id");
  const collection = p.options.get("collection")?.at(-1);
  if (collection === "") throw new UsageError("option --collection needs an SNCollection id");
  return { where, ask: { target: t as RequestTarget, count: Number(digits), poolId, collection, actor: `serialflow-cli:${process.env.USER ?? "unknown"}` } };
}

/**
 * The request and its pages: the first call names the count (and the collection), each later call passes the token
 * the one before returned, until none comes back. Prints each page's numbers as they arrive; returns the exit code.
 */
async function draw(request: Request, ask: Ask, where: string): Promise<number> {
  const criteria: Record<string, string> = ask.poolId === undefined ? {} : { PoolID: ask.poolId };
  const method = `SNRequest${ask.target}`;
  let got = 0;
  let pages = 0;
  let token = "";
  let last: RequestResult | undefined;
  try {
    do {
      last = await request({ count: ask.count, poolSelectionCriteria: criteria, snCollectionId: ask.collection, requestToken: token || undefined, actor: ask.actor });
      pages++;
      const page = last.snCollection.serialNumbers;
      if (page.length) process.stdout.write(page.join("\n") + "\n");
      got += page.length;
      token = last.returnedRequestToken;
    } while (token !== "" && last.returnStatus === "NoError" && got < ask.count);
  } catch (err) {
    const e = err as Error & { code?: string };
    const kind = err instanceof PssError ? `refused (${e.code})` : `failed${typeof e.code === "string" ? ` (${e.code})` : ""}`;
    console.error(`serialflow pool request: ${method} ${kind}: ${e.message}`);
    if (got > 0) {
      console.error(`${got} of ${ask.count} serial numbers were drawn (${ask.target}, SNCollection ${last?.snCollection.id}) and printed before this; the rest was not drawn`);
    } else {
      console.error("nothing was drawn");
    }
    return 1;
  }
  const coll = last.snCollection;
  console.error(`${method}: ${got} of ${ask.count} serial numbers ${ask.target} in SNCollection ${coll.id} of pool ${coll.associatedPoolId} (${where}), ${pages} page(s)`);
  if (got >= ask.count) return 0;
  if (last.returnStatus === "InsufficientSerialNumbers") {
    console.error(`InsufficientSerialNumbers: the pool had only ${got} free; the ${got} printed are drawn, ${ask.count - got} are missing`);
  } else {
    // a repeated --collection: the rules answer the earlier request's first page again
    console.error(`SNCollection ${coll.id} was requested before: its first answer (${got} numbers) is repeated, the later pages are not`);
  }
  return EXIT_INSUFFICIENT;
}

export async function run(argv: string[]): Promise<number> {
  let where: Target, ask: Ask;
  try {
    ({ where, ask } = parse(argv));
  } catch (err) {
    console.error(`serialflow pool request: ${(err as Error).message}\nUsage: ${USAGE}`);
    return 2;
  }
  if (where.kind === "db") {
    const file = where.file;
    // never create a pool file by accident: a typo in --db must not look like an empty pool
    if (!fs.existsSync(file)) {
      console.error(`serialflow pool request: no pool file at ${file}`);
      return 1;
    }
    let store;
    try {
      store = openPoolStore(file, { actor: ask.actor });
    } catch (err) {
      console.error(`serialflow pool request: cannot open ${file}: ${(err as Error).message}`);
      return 1;
    }
    const s = store;
    try {
      return await draw(async (a) => s.request(ask.target, a), ask, file);
    } finally {
      s.close();
    }
  }
  let engine: PgPoolEngine;
  try {
    engine = await openPg(where, { create: false, actor: ask.actor });
  } catch (err) {
    console.error(`serialflow pool request: ${pgName(where)}: ${(err as Error).message}`);
    return 1;
  }
  try {
    return await draw((a) => engine.request(ask.target, a), ask, pgName(where));
  } finally {
    await engine.close();
  }
}
