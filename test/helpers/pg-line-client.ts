/* A client of a global PostgreSQL pool for the kill tests (test/core/pg-kill.spec.ts), run as its own process:
   node pg-line-client.js URL SCHEMA NAME. In a loop it requests 20 Allocated numbers under a collection of its own
   (NAME-k), encodes and commissions them, and prints one JSON line per acknowledged step on stdout:
   {"t":"got","coll":..,"numbers":[..]} once the request returned, {"t":"done","coll":..} once commissioned.
   A failure (a lost connection, the server restarting) is printed as {"t":"error",..} and the same step is tried
   again on the same engine after 200 ms: a repeated request with the same collection answers the same numbers, and
   the guard's dry run says which numbers still need each event. SIGTERM ends it after the current step. */
import { PgPoolEngine } from "../../nodes/core/store/pg";

const [url, schema, name] = process.argv.slice(2);
const out = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let stopping = false;
process.on("SIGTERM", () => {
  stopping = true;
});

async function main(): Promise<void> {
  let engine: PgPoolEngine | undefined;
  while (!engine) {
    try {
      engine = await PgPoolEngine.open({ connectionString: url, schema, migrate: false, pool: { max: 2, application_name: name }, defaultActor: name });
    } catch (err) {
      out({ t: "error", step: "open", message: (err as Error).message });
      await sleep(200);
    }
  }
  out({ t: "ready" });
  for (let k = 0; !stopping; k++) {
    const coll = `${name}-${k}`;
    let numbers: string[] | undefined;
    let stage: "request" | "sn_encoding" | "commissioning" = "request";
    while (!stopping || stage !== "request") {
      try {
        if (stage === "request") {
          const r = await engine.request("Allocated", { count: 20, snCollectionId: coll });
          numbers = r.snCollection.serialNumbers;
          out({ t: "got", coll, numbers });
          if (!numbers.length) return;
          stage = "sn_encoding";
        } else {
          // only the numbers that still need this event (an earlier try may have committed before its answer was lost)
          const todo = (await engine.checkEvent(stage, numbers as string[])).allowed.map((a) => a.serialNumber);
          if (todo.length) await engine.applyEvent(stage, { serialNumbers: todo });
          if (stage === "sn_encoding") stage = "commissioning";
          else {
            out({ t: "done", coll });
            break;
          }
        }
      } catch (err) {
        out({ t: "error", step: stage, code: (err as { code?: string }).code, message: (err as Error).message });
        await sleep(200);
      }
    }
  }
  await engine.close();
}

main().then(() => process.exit(0), (err) => {
  out({ t: "fatal", message: String((err as Error)?.stack ?? err) });
  process.exit(1);
});
