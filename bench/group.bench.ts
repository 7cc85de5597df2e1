/* Durable single events, 16 concurrent callers vs one caller, on each engine (issue 18): single-number
   SIDCommissioningEvent calls, each acknowledged only once durable, through the asynchronous paths the nodes use:
   the SQLite engine's group commit (SqlitePoolStore.grouped: calls of one event-loop turn share one commit, each in
   its own savepoint) and the PostgreSQL engine (one transaction per call on its connection pool; the server's WAL
   flush serves the commits that wait together). The ratio is the rate of 16 callers over the rate of one, in the
   same run; medians of 3, the order of the two sides alternating. PostgreSQL is SERIALFLOW_TEST_PG or the
   embedded server (skipped, saying why, without either). */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { BenchModule, BenchRow } from "./harness";
import { seconds } from "./harness";
import { openPoolStore, type SqlitePoolStore } from "../nodes/core/store";
import { PgPoolEngine } from "../nodes/core/store/pg";
import { testPg, redact } from "../test/helpers/pg";

const RULE = { pattern: "[A-Z0-9-]+", minLength: 1, maxLength: 40 };
const CALLERS = 16;
const REPEATS = 3;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

type Commission = (v: string) => Promise<unknown>;

/** one caller doing `n` events in a row vs 16 callers doing `n` in all; returns (rate1, rate16) per repeat */
async function compare(numbers: () => Promise<string[]>, commission: Commission, n: number): Promise<Array<{ one: number; many: number }>> {
  const out: Array<{ one: number; many: number }> = [];
  for (let r = 0; r < REPEATS; r++) {
    const t = { one: 0, many: 0 };
    for (const side of r % 2 === 0 ? (["one", "many"] as const) : (["many", "one"] as const)) {
      const vs = await numbers();
      if (vs.length < n) throw new Error(`only ${vs.length} numbers prepared`);
      if (side === "one") {
        t.one = n / (await seconds(async () => {
          for (let i = 0; i < n; i++) await commission(vs[i]);
        }));
      } else {
        t.many = n / (await seconds(() => Promise.all(Array.from({ length: CALLERS }, async (_, c) => {
          for (let i = c; i < n; i += CALLERS) await commission(vs[i]);
        }))));
      }
    }
    out.push(t);
  }
  return out;
}

function row(engine: string, runs: Array<{ one: number; many: number }>): BenchRow {
  const ratios = runs.map((x) => x.many / x.one);
  return {
    name: `${engine}: durable single events, ${CALLERS} callers vs 1`,
    value: median(runs.map((x) => x.many)),
    unit: "events/s",
    ratio: median(ratios),
    aim: "ratio >= 5",
    note: `1 caller ${Math.round(median(runs.map((x) => x.one))).toLocaleString("en-US")}/s; runs ${runs.map((x) => `${Math.round(x.many)}/${Math.round(x.one)}`).join(", ")} (ratios ${ratios.map((x) => x.toFixed(1)).join(", ")})`,
  };
}

const bench: BenchModule = {
  title: "group commit: durable single events, 16 concurrent callers vs one (each engine)",
  async run(log: (row: BenchRow) => void) {
    // SQLite: a fresh file, synchronous=FULL (the default)
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "serialflow-bench-group-"));
    let store: SqlitePoolStore | undefined;
    try {
      store = openPoolStore(path.join(dir, "group.db"), { actor: "bench" });
      const s = store;
      s.createPool({ poolId: "P", sidClass: "custom", serialRule: RULE, isDefault: true, maxRequest: 100_000 });
      let k = 0;
      const N = 2_000;
      const numbers = async () => {
        const vs = Array.from({ length: N }, () => `S-${String(k++).padStart(8, "0")}`);
        s.pushTo("Encoded", { snCollection: { id: `C${k}`, serialNumbers: vs } });
        return vs;
      };
      log(row("SQLite (group commit)", await compare(numbers, (v) => s.grouped(() => s.applyEvent("commissioning", { serialNumbers: [v] })), N)));
    } finally {
      store?.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }

    let pg: Awaited<ReturnType<typeof testPg>>;
    try {
      pg = await testPg();
    } catch (err) {
      return { skipped: `PostgreSQL row skipped, no PostgreSQL: ${(err as Error).message}` };
    }
    let engine: PgPoolEngine | undefined;
    try {
      console.log(`PostgreSQL: ${redact(pg.url)} (${pg.source})`);
      engine = await PgPoolEngine.open({ connectionString: pg.url, schema: pg.schema, pool: { max: CALLERS }, defaultActor: "bench" });
      const e = engine;
      await e.createPool({ poolId: "P", sidClass: "custom", serialRule: RULE, isDefault: true, maxRequest: 100_000 });
      let k = 0;
      const N = 800;
      const numbers = async () => {
        const vs = Array.from({ length: N }, () => `S-${String(k++).padStart(8, "0")}`);
        await e.pushTo("Encoded", { snCollection: { id: `C${k}`, serialNumbers: vs } });
        return vs;
      };
      log(row("PostgreSQL", await compare(numbers, (v) => e.applyEvent("commissioning", { serialNumbers: [v] }), N)));
      const v = await e.verifyAudit();
      if (!v.ok) throw new Error(`audit verify failed after the bench: ${v.message}`);
    } finally {
      await engine?.close().catch(() => undefined);
      await pg.dispose();
    }
  },
};

export default bench;
