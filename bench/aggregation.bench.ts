/* Aggregation benchmarks: packing 1,000,000 commissioned units into a full hierarchy (10 units per bundle,
   12 bundles per case, 40 cases per pallet; 1,000 parents per call) as a ratio to raw better-sqlite3 inserting the
   same parent-child rows in the same batches, in the same run; then tree queries on a 10,000-unit and on the
   1,000,000-unit hierarchy (aim: flat). SERIALFLOW_BENCH_AGG_N scales the big case (default 1,000,000). */
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import Database from "better-sqlite3";
import type { BenchModule, BenchRow } from "./harness";
import { seconds } from "./harness";
import { openPoolStore, defaultGenerator, type SqlitePoolStore } from "../nodes/core/store";
import { Aggregation, type AggregationLevel, type PackElement } from "../nodes/core/aggregation";

const LEVELS: AggregationLevel[] = [
  { name: "bundle", capacity: 10, parentPools: ["B"], mixing: "oneGtinOneLot" },
  { name: "case", capacity: 12, parentPools: ["C"], mixing: "oneGtinOneLot" },
  { name: "pallet", capacity: 40, parentPools: ["C"], mixing: "oneGtin" },
];
const BATCH = 1_000;

/** n commissioned serial numbers in pool `poolId` (untimed set-up, through the store's own path). */
function commissioned(store: SqlitePoolStore, poolId: string, n: number, prefix: string): string[] {
  const values = defaultGenerator("bench-random", n).map((v) => prefix + v);
  for (let i = 0; i < n; i += 200_000) store.provision(poolId, values.slice(i, i + 200_000));
  const got: string[] = [];
  while (got.length < n) {
    const page = store.request("Allocated", { poolSelectionCriteria: { PoolID: poolId }, count: Math.min(200_000, n - got.length) }).snCollection.serialNumbers;
    store.applyEvent("sn_encoding", { serialNumbers: page });
    store.applyEvent("commissioning", { serialNumbers: page, labelCollection: { properties: { lot: "L1", gtin: "09506000134352" } } });
    for (const v of page) got.push(v);
  }
  return got;
}

interface Plan {
  levels: Array<{ name: string; elements: PackElement[] }>;
  units: string[];
  top: string[];
}

function build(file: string, n: number): { store: SqlitePoolStore; plan: Plan } {
  const store = openPoolStore(file, { actor: "bench" });
  for (const p of ["U", "B", "C"]) store.createPool({ poolId: p, sidClass: "custom", serialRule: { pattern: ".+", minLength: 1, maxLength: 128 }, maxRequest: 1_000_000, maxCount: 100_000_000, isDefault: p === "U" });
  const units = commissioned(store, "U", n, "U");
  const nb = Math.ceil(n / 10);
  const nc = Math.ceil(nb / 12);
  const np = Math.ceil(nc / 40);
  const bundles = commissioned(store, "B", nb, "B");
  const cases = commissioned(store, "C", nc + np, "C");
  const pallets = cases.splice(nc);
  const group = (parents: string[], children: string[], size: number) => parents.map((p, i) => ({ parent: p, children: children.slice(i * size, i * size + size) }));
  return {
    store,
    plan: {
      levels: [
        { name: "bundle", elements: group(bundles, units, 10) },
        { name: "case", elements: group(cases, bundles, 12) },
        { name: "pallet", elements: group(pallets, cases, 40) },
      ],
      units,
      top: pallets,
    },
  };
}

function packAll(agg: Aggregation, plan: Plan): void {
  for (const l of plan.levels) {
    for (let i = 0; i < l.elements.length; i += BATCH) agg.pack(l.elements.slice(i, i + BATCH), { level: l.name });
  }
}

/** The raw baseline: the same parent-child rows into the same table and index, same batches, same pragmas. */
function rawPack(file: string, plan: Plan, withAudit: boolean): number {
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.exec(`CREATE TABLE agg_link (child TEXT PRIMARY KEY, parent TEXT NOT NULL) WITHOUT ROWID;
    CREATE INDEX agg_link_parent ON agg_link(parent);
    CREATE TABLE audit (seq INTEGER PRIMARY KEY, time TEXT NOT NULL, event TEXT NOT NULL, serial_numbers TEXT NOT NULL, hash TEXT NOT NULL);`);
  const ins = db.prepare("INSERT INTO agg_link (child, parent) VALUES (?, ?)");
  const aud = db.prepare("INSERT INTO audit (time, event, serial_numbers, hash) VALUES (?, ?, ?, ?)");
  const batch = db.transaction((els: PackElement[]) => {
    for (const e of els) {
      for (const c of e.children) ins.run(c, e.parent);
      if (withAudit) {
        const s = e.children.join("\n");
        aud.run(new Date().toISOString(), "packing", s, crypto.createHash("sha256").update(e.parent).update(s).digest("hex"));
      }
    }
  });
  const t0 = process.hrtime.bigint();
  for (const l of plan.levels) for (let i = 0; i < l.elements.length; i += BATCH) batch.immediate(l.elements.slice(i, i + BATCH));
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  db.close();
  return s;
}

type Queries = Record<"caseTree" | "pathToTop" | "parentOf" | "palletTree", number>;

/**
 * Time of one query, in µs: the best of `rounds` rounds of `n` calls (fewer for trees) on serial numbers spread over
 * the hierarchy, each round on other numbers (no round re-reads what the last one brought into the cache), after an
 * untimed warm-up round (JIT). The stores are measured round by round in turn, so machine noise hits both alike.
 */
function queryCosts(stores: Array<{ agg: Aggregation; plan: Plan }>, n: number, rounds: number): Queries[] {
  const time = (f: (i: number) => unknown, k: number) => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < k; i++) f(i);
    return Number(process.hrtime.bigint() - t0) / 1e3 / k;
  };
  // a stride coprime with the sizes used walks the list in a scattered order
  const pick = (i: number, m: number) => (i * 7919) % m;
  const one = ({ agg, plan }: { agg: Aggregation; plan: Plan }, r: number): Queries => {
    const cases = plan.levels[1].elements;
    const tops = Math.max(1, plan.top.length - 1);
    return {
      caseTree: time((i) => agg.tree(cases[pick(r * n + i, cases.length)].parent), n),
      pathToTop: time((i) => agg.pathToTop(plan.units[pick(r * 5 * n + i, plan.units.length)]), n * 5),
      parentOf: time((i) => agg.parentOf(plan.units[pick((r + rounds + 1) * 5 * n + i, plan.units.length)]), n * 5),
      palletTree: time((i) => agg.tree(plan.top[pick(r * 20 + i, tops)]), Math.max(3, Math.min(20, n / 100))),
    };
  };
  const best: Queries[] = stores.map(() => ({ caseTree: Infinity, pathToTop: Infinity, parentOf: Infinity, palletTree: Infinity }));
  for (let r = 0; r <= rounds; r++) {
    stores.forEach((s, k) => {
      const q = one(s, r);
      if (r === 0) return; // warm-up
      for (const key of Object.keys(q) as Array<keyof Queries>) best[k][key] = Math.min(best[k][key], q[key]);
    });
  }
  return best;
}

const bench: BenchModule = {
  title: "aggregation (hierarchy in the pool file, WAL, synchronous=FULL)",
  async run(log: (row: BenchRow) => void) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "serialflow-bench-agg-"));
    try {
      const N = Number(process.env.SERIALFLOW_BENCH_AGG_N) || 1_000_000;
      const big = build(path.join(dir, "big.db"), N);
      const agg = new Aggregation(big.store, { levels: LEVELS });
      const rawLinks = rawPack(path.join(dir, "raw1.db"), big.plan, false);
      const ours = await seconds(() => packAll(agg, big.plan));
      const rawAudited = rawPack(path.join(dir, "raw2.db"), big.plan, true);
      const rows = big.plan.levels.reduce((n, l) => n + l.elements.reduce((m, e) => m + e.children.length, 0), 0);
      const parents = big.plan.levels.reduce((n, l) => n + l.elements.length, 0);
      log({ name: `pack ${N.toLocaleString("en-US")} units into a full hierarchy (${parents.toLocaleString("en-US")} parents)`, value: rows / ours, unit: "links/s", ratio: rawLinks / ours, aim: "ratio >= 0.5", note: `${ours.toFixed(2)} s vs raw rows only ${rawLinks.toFixed(2)} s` });
      log({ name: "  same, vs raw rows + one hashed audit row per parent", value: rows / ours, unit: "links/s", ratio: rawAudited / ours, note: `raw ${rawAudited.toFixed(2)} s` });

      const small = build(path.join(dir, "small.db"), 10_000);
      const aggSmall = new Aggregation(small.store, { levels: LEVELS });
      packAll(aggSmall, small.plan);
      const [qs, qb] = queryCosts([{ agg: aggSmall, plan: small.plan }, { agg, plan: big.plan }], 2_000, 5);
      const label = `${N.toLocaleString("en-US")} / 10,000 units`;
      log({ name: `tree of a case (132 nodes): ${label}`, value: qb.caseTree, unit: "µs/query", ratio: qs.caseTree / qb.caseTree, aim: "flat (ratio ~1)", note: `10,000-unit store ${qs.caseTree.toFixed(0)} µs` });
      log({ name: `tree of a pallet (5,320 nodes): ${label}`, value: qb.palletTree, unit: "µs/query", ratio: qs.palletTree / qb.palletTree, aim: "flat (ratio ~1)", note: `10,000-unit store ${qs.palletTree.toFixed(0)} µs` });
      log({ name: `path to the top of a unit: ${label}`, value: qb.pathToTop, unit: "µs/query", ratio: qs.pathToTop / qb.pathToTop, aim: "flat (ratio ~1)", note: `10,000-unit store ${qs.pathToTop.toFixed(1)} µs` });
      log({ name: `parent of a unit: ${label}`, value: qb.parentOf, unit: "µs/query", ratio: qs.parentOf / qb.parentOf, aim: "flat (ratio ~1)", note: `10,000-unit store ${qs.parentOf.toFixed(1)} µs` });
      small.store.close();
      big.store.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};

export default bench;
