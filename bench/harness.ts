/** One benchmark result line. A ratio compares our code with a raw baseline measured in the same run. */
export interface BenchRow {
  name: string;
  value: number;
  unit: string;
  /** our rate divided by the baseline's rate (higher is better), when the benchmark has a baseline */
  ratio?: number;
  /** the target the issue sets, in words, e.g. "ratio >= 0.5" */
  aim?: string;
  note?: string;
}

export interface BenchModule {
  /** short title printed above the rows */
  title: string;
  /** resolves to { skipped: reason } when the suite cannot run here (e.g. no PostgreSQL); the runner prints it */
  run(log: (row: BenchRow) => void): Promise<void | { skipped: string }>;
}

/** Time a synchronous or asynchronous function, in seconds. */
export async function seconds(fn: () => unknown | Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** Best (lowest) of n timings: removes most scheduler noise on a shared 2-core machine. */
export async function bestOf(n: number, fn: () => unknown | Promise<unknown>): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < n; i++) best = Math.min(best, await seconds(fn));
  return best;
}
