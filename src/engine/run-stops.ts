// Stops, under the scheduler: a stop (cancel, timeout, budget) is recorded first, final once
// stored, and carried out beside the loop: the child's tokens read, the child stopped, the run
// ended as the stop said. A run the host keeps retrying into its provider's limit is taken back
// the same way (not a stop: it runs again when a slot frees). A loop that gave up ends every open
// run failed.
import { type RunStop, STOPPED_STATE } from "../batch/types.js";
import { budgetSpent, lateRuns } from "./limits.js";
import { RunBook } from "./run-book.js";
import { liveAttempt } from "./transitions.js";

export abstract class RunStops extends RunBook {
  /** Runs whose stop is being carried out: their wait results are the stopper's to record, not the loop's. */
  protected readonly stopping = new Set<number>();

  /** Accepts a cancel of queued and running runs (all, or those labelled): recorded now, carried out by the loop. */
  cancel(labels?: string[]): string[] {
    const targets = [...this.index.open].sort((a, b) => a - b).filter((i) => !labels || labels.includes(this.batch.runs[i].spec.label));
    for (const i of targets) this.requestStop(i, "cancelled", "cancelled by parallel_cancel");
    this.wake();
    return targets.map((i) => this.batch.runs[i].spec.label);
  }

  /**
   * The loop failed for good: every open run ends `failed` with `reason` (live children stopped),
   * so the batch ends and its requester is told.
   */
  async failAll(reason: string): Promise<void> {
    await Promise.all(
      [...this.index.open].map(async (i) => {
        const attempt = liveAttempt(this.batch.runs[i]);
        if (!attempt) return void this.commit(i, { kind: "end", state: "failed", error: reason });
        this.releaseSlot(i, attempt.n);
        const transcript = await this.children.read(attempt.sessionKey);
        await this.children.stopAndConfirm(attempt.sessionKey, attempt.runId);
        this.commit(i, { kind: "finish", n: attempt.n, ended: this.ended(attempt, "interrupted", reason, transcript), next: { state: "failed", error: reason } });
      }),
    );
  }

  /**
   * Takes back the live attempt in session `sessionKey` that the host reports rate limited while its
   * provider is over its cap: its child is stopped and the attempt ends `rate_limit`, so the run
   * re-runs on the same rung when a slot frees. Not a stop of the run: a stop that comes meanwhile wins.
   */
  takeBack(sessionKey: string, reason: string): void {
    const i = [...this.index.live].find((j) => liveAttempt(this.batch.runs[j])?.sessionKey === sessionKey);
    if (i === undefined || this.stopping.has(i) || this.batch.runs[i].stop) return;
    const attempt = liveAttempt(this.batch.runs[i])!;
    this.stopping.add(i);
    const work = async () => {
      const transcript = await this.children.read(attempt.sessionKey);
      await this.children.stopAndConfirm(attempt.sessionKey, attempt.runId);
      if (liveAttempt(this.batch.runs[i])?.n === attempt.n) await this.finish(i, attempt, "rate_limit", reason, transcript);
    };
    this.beside(work().finally(() => this.stopping.delete(i)));
  }

  /** Records a stop for run `i` (final once committed); the loop carries it out. */
  protected requestStop(i: number, outcome: RunStop["outcome"], reason: string): void {
    this.commit(i, { kind: "stop", stop: { outcome, reason, at: this.now() } });
  }

  /** Carries out every accepted stop beside the loop: read its tokens, stop its child, end the run. */
  protected carryOutStops(): void {
    for (const i of this.index.stopped) {
      if (this.stopping.has(i)) continue;
      this.stopping.add(i);
      this.beside(this.stopRun(i).finally(() => this.stopping.delete(i)));
    }
  }

  private async stopRun(i: number): Promise<void> {
    const { stop } = this.batch.runs[i];
    const attempt = liveAttempt(this.batch.runs[i]);
    if (!stop) return;
    if (!attempt) return void this.commit(i, { kind: "end", state: STOPPED_STATE[stop.outcome], error: stop.reason });
    await this.stored(); // the stop is final on disk before its child is touched
    const transcript = await this.children.read(attempt.sessionKey);
    const confirmed = await this.children.stopAndConfirm(attempt.sessionKey, attempt.runId);
    const note = confirmed ? "" : " (the host did not confirm the child stopped; attempt abandoned)";
    const current = liveAttempt(this.batch.runs[i]);
    // The host admitted the start while we stopped it: that child is stopped too before the run ends.
    if (current?.runId && current.runId !== attempt.runId) await this.children.stopAndConfirm(current.sessionKey, current.runId);
    await this.finish(i, current ?? attempt, stop.outcome, stop.reason + note, transcript);
  }

  /** A run past its timeout is stopped, live or waiting for another try (a backoff, a host not ready). */
  protected enforceTimeouts(): void {
    for (const [i, reason] of lateRuns(this.batch.runs, [...this.index.live, ...this.index.delayed], this.now())) this.requestStop(i, "timeout", reason);
  }

  protected enforceBudget(): void {
    const over = budgetSpent(this.batch);
    if (over) for (const i of this.index.open) if (!this.batch.runs[i].stop) this.requestStop(i, "budget", over);
  }
}
