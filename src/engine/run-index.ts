// Which runs of a batch are where, kept in step with every commit so the loop never scans the
// whole batch: live (running), delayed (queued with a pause), open (not terminal) and stopped (a
// stop accepted, the run not ended yet), plus where FIFO admission starts looking.
import { type RunRecord, TERMINAL_STATES } from "../batch/types.js";

export class RunIndex {
  readonly live = new Set<number>();
  readonly delayed = new Set<number>();
  readonly open = new Set<number>();
  readonly stopped = new Set<number>();
  private first = 0;

  constructor(private readonly runs: RunRecord[]) {
    runs.forEach((_, i) => this.track(i));
  }

  /** Files run `i` under its current state (call after every change to it). */
  track(i: number): void {
    const run = this.runs[i];
    for (const set of [this.live, this.delayed, this.open, this.stopped]) set.delete(i);
    if (run.state === "running") this.live.add(i);
    if (run.state === "queued" && run.notBefore) this.delayed.add(i);
    if (TERMINAL_STATES.has(run.state)) return;
    this.open.add(i);
    if (run.stop) this.stopped.add(i);
  }

  /** The first run that may not be terminal: admission scans from here. */
  firstOpen(): number {
    while (this.first < this.runs.length && TERMINAL_STATES.has(this.runs[this.first].state)) this.first++;
    return this.first;
  }
}
