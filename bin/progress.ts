/* The progress bar of the serialflow commands (pool generate, pool import, epcis export, audit verify): one line
   on stderr, redrawn in place, only when stderr is a terminal (pipes, files and tests get nothing), at most every
   PROGRESS_REDRAW_MS (a caller may report every row: only the redraws cost). The long work reports from its own
   chunks, so the bar moves while it runs. */

export const PROGRESS_REDRAW_MS = 100;
const WIDTH = 30;

export interface ProgressBar {
  /** done of total work units; the bar shows the fraction (and the counts when `counts` is set) */
  update(done: number, total: number): void;
  /** draws the last state and ends the line (call before printing anything else); safe to call twice */
  end(): void;
  /** true when the bar is drawn (stderr is a terminal) */
  readonly active: boolean;
}

export interface ProgressOptions {
  /** show "12,000 / 1,000,000" after the percentage (when done and total are items a user counts) */
  counts?: boolean;
  /** where to draw: process.stderr by default */
  stream?: NodeJS.WriteStream;
  /** a clock for the throttle (tests) */
  now?: () => number;
}

export function progressBar(label: string, options: ProgressOptions = {}): ProgressBar {
  const stream = options.stream ?? process.stderr;
  const active = stream.isTTY === true && process.env.SERIALFLOW_NO_PROGRESS === undefined;
  const now = options.now ?? Date.now;
  let last = -Infinity;
  let shown = "";
  let state: { done: number; total: number } | null = null;
  let ended = false;
  const draw = () => {
    if (!state) return;
    const { done, total } = state;
    const f = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
    const fill = Math.round(f * WIDTH);
    const pct = `${Math.floor(f * 100)}%`.padStart(4);
    const counts = options.counts ? `  ${done.toLocaleString("en")} / ${total.toLocaleString("en")}` : "";
    const text = `${label} [${"#".repeat(fill)}${"-".repeat(WIDTH - fill)}] ${pct}${counts}`;
    if (text === shown) return;
    shown = text;
    // \r back to the start of the line, \x1b[K clears what a longer earlier text left behind
    stream.write(`\r${text}\x1b[K`);
  };
  return {
    active,
    update(done: number, total: number) {
      if (!active || ended) return;
      state = { done, total };
      const t = now();
      if (t - last < PROGRESS_REDRAW_MS && done < total) return;
      last = t;
      draw();
    },
    end() {
      if (!active || ended) return;
      ended = true;
      draw();
      if (shown) stream.write("\n");
    },
  };
}
