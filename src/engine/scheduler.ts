// Runs one batch to its end inside the engine: admits queued runs as slots free up (FIFO, at most
// maxConcurrency live), waits on children through the host's bounded long-poll (never by
// sleeping), judges what they produced, retries and escalates, and enforces timeouts, the budget
// and cancels. Every change is a guarded transition, stored (one transaction per turn) before it
// is reported or acted on outside the process.
// A stop is recorded first (durably, final) and carried out beside the loop; starts run beside
// it too, so neither a slow host start nor a slow stop holds up the other runs.
import type { StartedRun, Transcript, WaitResult } from "../runtime/port.js";
import { admitNext } from "../pricing/index.js";
import { correctiveMessage } from "../batch/json-contract.js";
import { judgeAttempt } from "../batch/judge.js";
import { afterRefusal, classifyHostError, firstModel, isHostNotReady, refusedReason } from "../batch/policy.js";
import { HostDeadlineError, raceUntil } from "../batch/race.js";
import type { Ended } from "./children.js";
import { childSessionKey } from "../batch/session-keys.js";
import { type Attempt, type BatchRecord, type RunStop, STOPPED_STATE, emptyUsage } from "../batch/types.js";
import { budgetSpent, lateRuns } from "./limits.js";
import { RunBook, type SchedulerDeps } from "./run-book.js";
import { attemptCost } from "./attempt-end.js";
import { liveAttempt } from "./transitions.js";

export type { SchedulerDeps } from "./run-book.js";

/** Longest single host wait; shorter than any host-side request limit. */
const WAIT_SLICE_MS = 30_000;

const WAKE = Symbol("wake");

export class BatchScheduler extends RunBook {
  /** Runs whose stop is being carried out: their wait results are the stopper's to record, not the loop's. */
  private readonly stopping = new Set<number>();
  /** Runs whose start the host is still admitting. */
  private readonly starting = new Set<number>();
  /** Some run still waits for the others (checked only while true: a batch has few gated runs). */
  private gated: boolean;
  private wakeUp: (() => void) | undefined;
  /** Something changed since the loop last looked (set by wake). */
  private dirty = false;
  /** An error in work done beside the loop (a start, a stop): the loop throws it. */
  private failure: unknown;

  constructor(batch: BatchRecord, deps: SchedulerDeps) {
    super(batch, deps);
    this.gated = batch.runs.some((r) => r.spec.gate);
  }

  get complete(): boolean {
    return this.index.open.size === 0;
  }

  /** Makes the loop look again now (after a cancel, or new work). */
  wake(): void {
    this.dirty = true;
    this.wakeUp?.();
  }

  /**
   * Attempts left live by another process were cut off when it died (the host never finishes
   * them): their transcripts are read (tokens count), their sessions stopped, and they end as
   * `interrupted`, which re-runs them without using a retry (unless a stop was accepted).
   */
  async recover(): Promise<void> {
    await Promise.all(
      this.batch.runs.map(async (run, i) => {
        const attempt = liveAttempt(run);
        if (run.state === "running" && !attempt) return void this.commit(i, { kind: "requeue" });
        if (!attempt || attempt.owner === this.deps.owner) return;
        const transcript = await this.children.read(attempt.sessionKey);
        await this.children.stopAndConfirm(attempt.sessionKey, undefined);
        await this.finish(i, attempt, "interrupted", "the gateway restarted while this attempt was running", transcript);
      }),
    );
  }

  /** Runs the batch until every run is terminal or `signal` aborts (the service stopping). */
  async run(signal: AbortSignal): Promise<void> {
    // Keyed by run id: a wait belongs to one attempt, never to a later attempt of the same run.
    const waits = new Map<string, Promise<Ended>>();
    this.failure = undefined; // a restarted loop starts clean: a write that failed is tried again here
    this.flush();
    this.reclaimLostStarts();
    while (!this.complete && !signal.aborted) {
      this.dirty = false;
      this.throwFailure();
      this.ungateReady();
      this.enforceBudget();
      this.enforceTimeouts();
      this.carryOutStops();
      this.admit();
      if (this.complete) break;
      const now = this.now();
      for (const i of this.index.live) {
        const attempt = liveAttempt(this.batch.runs[i]);
        if (!attempt?.runId || waits.has(attempt.runId) || this.stopping.has(i)) continue;
        const slice = Math.max(1, Math.min(WAIT_SLICE_MS, this.runDeadline(i) - now));
        waits.set(attempt.runId, this.children.waitEnded(attempt.runId, attempt.sessionKey, slice));
      }
      if (this.dirty) continue;
      const woken = new Promise<typeof WAKE>((resolve) => (this.wakeUp = () => resolve(WAKE)));
      const winner = await raceUntil<Ended | typeof WAKE>([...waits.values(), woken], this.nextTimer(), signal);
      this.wakeUp = undefined;
      if (!winner || winner === WAKE) continue;
      waits.delete(winner.runId);
      if (winner.result.state === "pending") continue;
      this.timing.waitReturnedAt = this.now();
      const i = [...this.index.live].find((j) => liveAttempt(this.batch.runs[j])?.runId === winner.runId);
      if (i !== undefined && !this.stopping.has(i)) await this.settle(i, winner.result, winner.transcript);
    }
    // Starts and stops in flight finish (each has a deadline): after the loop, nothing of it writes.
    // Session deletes go on: the engine awaits drained() only after the batch's end is told.
    await this.children.settled();
    this.throwFailure();
    this.flush();
  }

  /** Resolves once the finished children's session deletes are done (after the batch's end, never before). */
  drained(): Promise<void> {
    return this.children.drained();
  }

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

  /** Queued runs whose turn it is start, up to the batch's concurrency and the gateway-wide slots (each start runs beside the loop). */
  private admit(): void {
    const { runs, options } = this.batch;
    this.deps.slots?.beginAdmit(this.party);
    for (let i = this.index.firstOpen(); i < runs.length && this.index.live.size < options.maxConcurrency; i++) {
      const run = runs[i];
      if (run.state !== "queued" || run.spec.gate || run.stop || (run.notBefore ?? 0) > this.now()) continue;
      const budget = admitNext(this.batch, i, this.nextModel(i));
      if (budget.kind === "wait") continue;
      if (budget.kind === "refuse") {
        this.requestStop(i, "budget", budget.reason); // never started: it ends failed, naming the budget
        this.wake();
        continue;
      }
      if (!this.claimSlot(i)) continue;
      this.beside(this.startAttempt(i)); // commits `running` before its first await
    }
  }

  private get party() {
    return { agentId: this.batch.agentId, batchId: this.batch.batchId };
  }

  /** The model the run's next attempt asks for. */
  private nextModel(i: number): string | undefined {
    const run = this.batch.runs[i];
    const previous = run.attempts[run.attempts.length - 1];
    return previous ? previous.nextModel : firstModel(run, this.batch.options);
  }

  /** A gateway-wide slot for run i's next attempt (held until that attempt ends), or false: not now. */
  private claimSlot(i: number): boolean {
    const n = this.batch.runs[i].attempts.length + 1;
    return this.deps.slots?.take(this.party, this.nextModel(i), childSessionKey(this.batch, i, n), () => this.wake()) ?? true;
  }

  private async startAttempt(i: number): Promise<void> {
    const run = this.batch.runs[i];
    const n = run.attempts.length + 1;
    const model = this.nextModel(i);
    const attempt: Attempt = {
      n, model, sessionKey: childSessionKey(this.batch, i, n), owner: this.deps.owner, startedAt: this.now(), tokens: 0, usage: emptyUsage(), costUsd: 0,
    };
    if (!this.commit(i, { kind: "start", attempt })) return this.releaseSlot(i, n);
    let started: StartedRun;
    this.starting.add(i);
    try {
      await this.stored(); // the attempt is on disk before the host hears of it
    } catch (err) {
      this.starting.delete(i);
      this.releaseSlot(i, n); // never asked for: the restarted loop ends it as lost
      throw err;
    }
    try {
      started = await this.children.start({ sessionKey: attempt.sessionKey, message: run.spec.prompt, model, idempotencyKey: `${this.batch.batchId}:${run.spec.label}:${n}`, surface: run.spec.surface });
    } catch (err) {
      return this.startFailed(i, attempt, err);
    } finally {
      this.starting.delete(i);
    }
    const accepted = this.commit(i, { kind: "started", n, runId: started.runId, sessionKey: started.sessionKey, modelUsed: started.model });
    if (accepted && !this.batch.runs[i].stop) return;
    // Stopped while the host was admitting it: the stop may have come before the child existed, so stop it now.
    await this.children.stopAndConfirm(started.sessionKey, started.runId);
    if (!accepted) this.note(`${run.spec.label}: a start that landed after the run was stopped was stopped at once (attempt ${n})`);
  }

  /**
   * After the loop restarted on an error: an attempt of ours that is live without a run id and
   * whose start is no longer in flight never reached the host (storing it failed, so it was not
   * sent). Its session is deleted to be sure and it re-runs at once, like an attempt cut off by a restart.
   */
  private reclaimLostStarts(): void {
    for (const i of this.index.live) {
      const attempt = liveAttempt(this.batch.runs[i]);
      if (!attempt || attempt.runId || attempt.owner !== this.deps.owner || this.starting.has(i) || this.stopping.has(i)) continue;
      this.beside(
        this.children.stopAndConfirm(attempt.sessionKey, undefined).then(() => this.finish(i, attempt, "interrupted", "this start could not be stored, so it was never sent (the scheduler restarted); run again")),
      );
    }
  }

  /** A start the host refused: "not ready" is tried again later, but not forever; anything else is the attempt's end. */
  private async startFailed(i: number, attempt: Attempt, err: unknown): Promise<void> {
    const error = errorText(err);
    if (isHostNotReady(error)) {
      const next = afterRefusal((this.batch.runs[i].refusals?.count ?? 0) + 1, this.now(), this.runDeadline(i));
      const notBefore = "retryAt" in next ? next.retryAt : this.now();
      this.releaseSlot(i, attempt.n); // it never reached the provider
      if (!this.commit(i, { kind: "defer", n: attempt.n, notBefore, error: this.deps.redact(error) })) return;
      const run = this.batch.runs[i];
      if ("giveUp" in next && !run.stop) this.commit(i, { kind: "end", state: "failed", error: refusedReason(run.refusals!, Math.round((this.now() - run.firstStartedAt!) / 1000)) });
      return;
    }
    // A start that did not answer in time may still land: its session is deleted before anything else runs.
    if (err instanceof HostDeadlineError) await this.children.stopAndConfirm(attempt.sessionKey, undefined);
    await this.finish(i, attempt, classifyHostError(error), `start failed: ${error}`);
  }

  /** A wait said the run ended: judge what it produced. */
  private async settle(i: number, result: WaitResult, transcript?: Transcript): Promise<void> {
    const run = this.batch.runs[i];
    const attempt = liveAttempt(run);
    if (result.state === "pending" || !attempt) return;
    const schema = run.spec.outputSchema;
    const verdict = judgeAttempt(result, transcript, schema, this.deps.redact);
    if (verdict.kind === "contract" && !attempt.corrected && !run.stop) return this.sendCorrection(i, attempt, verdict.errors, schema!, transcript);
    const reason = verdict.kind === "contract" ? verdict.errors.join("; ") : verdict.reason;
    const kept = verdict.kind === "done" ? { output: verdict.output, json: verdict.json } : { output: verdict.output };
    await this.finish(i, attempt, verdict.outcome, reason, transcript, kept);
  }

  /** One follow-up in the same session with the validation errors, before escalating. */
  private async sendCorrection(i: number, attempt: Attempt, errors: string[], schema: object, transcript?: Transcript): Promise<void> {
    const { batchId } = this.batch;
    const label = this.batch.runs[i].spec.label;
    let started: StartedRun;
    try {
      // The follow-up runs with the same prompt mode and tools as the attempt it corrects.
      started = await this.children.start({ sessionKey: attempt.sessionKey, message: correctiveMessage(errors, schema), model: attempt.model, idempotencyKey: `${batchId}:${label}:${attempt.n}:fix`, surface: this.batch.runs[i].spec.surface });
    } catch (err) {
      return this.finish(i, attempt, "invalid_json", `corrective follow-up failed: ${errorText(err)}`, transcript);
    }
    const usage = transcript?.usage ?? attempt.usage;
    const reason = `corrective follow-up sent: ${errors.slice(0, 3).join("; ")}`;
    if (this.commit(i, { kind: "corrected", n: attempt.n, runId: started.runId, reason, usage, costUsd: attemptCost(usage, attempt, this.batch.options.prices, transcript) })) return;
    // A stop came first: the follow-up must not run on.
    await this.children.stopAndConfirm(attempt.sessionKey, started.runId);
    this.note(`${label}: a corrective follow-up that landed after the run was stopped was stopped at once`);
  }

  /** Records a stop for run `i` (final once committed); the loop carries it out. */
  private requestStop(i: number, outcome: RunStop["outcome"], reason: string): void {
    this.commit(i, { kind: "stop", stop: { outcome, reason, at: this.now() } });
  }

  /** Carries out every accepted stop beside the loop: read its tokens, stop its child, end the run. */
  private carryOutStops(): void {
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

  /** Work done beside the loop: tracked, wakes the loop when done, and its error reaches the loop. */
  private beside(work: Promise<void>): void {
    void this.children.beside(
      work.catch((err: unknown) => void (this.failure ??= err)).finally(() => this.wake()),
    );
  }

  protected writeFailed(err: unknown): void {
    this.failure ??= err;
    this.wake();
  }

  /** Rethrows (once) an error of work done beside the loop: a restarted loop starts clean. */
  private throwFailure(): void {
    const failure = this.failure;
    this.failure = undefined;
    if (failure) throw failure;
  }

  private ungateReady(): void {
    const { runs } = this.batch;
    if (!this.gated) return;
    const gated = [...this.index.open].filter((i) => runs[i].spec.gate);
    this.gated = gated.length > 0;
    if (!gated.length || gated.length < this.index.open.size) return;
    for (const i of gated) this.commit(i, { kind: "ungate", prompt: this.deps.ungate?.(this.batch, runs[i]) ?? runs[i].spec.prompt });
  }

  /** A run past its timeout is stopped, live or waiting for another try (a backoff, a host not ready). */
  private enforceTimeouts(): void {
    for (const [i, reason] of lateRuns(this.batch.runs, [...this.index.live, ...this.index.delayed], this.now())) this.requestStop(i, "timeout", reason);
  }

  private enforceBudget(): void {
    const over = budgetSpent(this.batch);
    if (over) for (const i of this.index.open) if (!this.batch.runs[i].stop) this.requestStop(i, "budget", over);
  }

  /** The earliest moment the loop must look again without a wait result. */
  private nextTimer(): number {
    let next = this.now() + WAIT_SLICE_MS;
    for (const i of this.index.live) next = Math.min(next, this.runDeadline(i));
    for (const i of this.index.delayed) next = Math.min(next, this.batch.runs[i].notBefore!, this.runDeadline(i));
    return next;
  }

}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
