// Runs one batch to its end inside the engine: admits queued runs as slots free up (FIFO, at most
// maxConcurrency live), waits on children through the host's bounded long-poll (never by
// sleeping), judges what they produced, retries and escalates, and enforces timeouts, the budget
// and cancels (run-stops.ts). Every change is a guarded transition, stored (one transaction per
// turn) before it is reported or acted on outside the process. Starts and stops run beside the
// loop, so neither a slow host start nor a slow stop holds up the other runs.
import type { StartedRun, Transcript, WaitResult } from "../runtime/port.js";
import { admitNext } from "../pricing/index.js";
import { correctiveMessage } from "../batch/json-contract.js";
import { judgeAttempt } from "../batch/judge.js";
import { afterRefusal, classifyHostError, firstModel, isHostNotReady, refusedReason } from "../batch/policy.js";
import { HostDeadlineError, raceUntil } from "../batch/race.js";
import type { Ended } from "./children.js";
import { childSessionKey } from "../batch/session-keys.js";
import { type Attempt, type BatchRecord, emptyUsage } from "../batch/types.js";
import type { SchedulerDeps } from "./run-book.js";
import { RunStops } from "./run-stops.js";
import { attemptCost } from "./attempt-end.js";
import { liveAttempt } from "./transitions.js";

export type { SchedulerDeps } from "./run-book.js";

/** Longest single host wait; shorter than any host-side request limit. */
const WAIT_SLICE_MS = 30_000;

const WAKE = Symbol("wake");

export class BatchScheduler extends RunStops {
  /** Runs whose start the host is still admitting. */
  private readonly starting = new Set<number>();
  /** Some run still waits for the others (checked only while true: a batch has few gated runs). */
  private gated: boolean;
  private wakeUp: (() => void) | undefined;
  /** Something changed since the loop last looked (set by wake). */
  private dirty = false;

  constructor(batch: BatchRecord, deps: SchedulerDeps) {
    super(batch, deps);
    this.gated = batch.runs.some((r) => r.spec.gate);
  }

  get complete(): boolean {
    return this.index.open.size === 0;
  }

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
    await this.stored(); // the stop is final on disk before its child is touched
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
    await this.stored();
    await this.children.stopAndConfirm(attempt.sessionKey, started.runId);
    this.note(`${label}: a corrective follow-up that landed after the run was stopped was stopped at once`);
  }

  private ungateReady(): void {
    const { runs } = this.batch;
    if (!this.gated) return;
    const gated = [...this.index.open].filter((i) => runs[i].spec.gate);
    this.gated = gated.length > 0;
    if (!gated.length || gated.length < this.index.open.size) return;
    for (const i of gated) this.commit(i, { kind: "ungate", prompt: this.deps.ungate?.(this.batch, runs[i]) ?? runs[i].spec.prompt });
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
