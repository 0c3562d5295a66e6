// Runs one batch to its end inside the engine: admits queued runs as slots free up (FIFO, at most
// maxConcurrency live), waits on children through the host's bounded long-poll (never by
// sleeping), judges what they produced, retries and escalates, and enforces timeouts, the budget
// and cancels. Every change is a guarded transition committed to the store before it is reported.
import type { ChildRuntime, Transcript, WaitResult } from "../runtime/port.js";
import { BudgetGuard } from "../batch/cost.js";
import { admitNext, attemptCost } from "../pricing/index.js";
import { correctiveMessage } from "../batch/json-contract.js";
import { judgeAttempt } from "../batch/judge.js";
import { classifyHostError, decide, firstModel, isHostNotReady } from "../batch/policy.js";
import { raceUntil } from "../batch/race.js";
import { ChildSessions, type Ended } from "./children.js";
import type { Redactor } from "../batch/redact.js";
import { childSessionKey } from "../batch/session-keys.js";
import { type Attempt, type AttemptOutcome, type BatchRecord, type RunRecord, TERMINAL_STATES, batchTotals, emptyUsage } from "../batch/types.js";
import type { BatchStore } from "../store/batch-store.js";
import { type EndedAttempt, type NextState, type Transition, applyTransition, liveAttempt } from "./transitions.js";

export interface SchedulerDeps {
  runtime: ChildRuntime;
  store: BatchStore;
  /** This gateway process: attempts of any other owner were cut off by a restart. */
  owner: string;
  redact: Redactor;
  random?: () => number;
  /** Renders a gated run's prompt once every other run is terminal (the research synthesis). */
  ungate?: (batch: BatchRecord, run: RunRecord) => string;
  changed: (batch: BatchRecord, run: RunRecord) => void; // after every committed change
}

/** Longest single host wait; shorter than any host-side request limit. */
const WAIT_SLICE_MS = 30_000;
/** Pause before asking a host that was not ready again. */
const NOT_READY_RETRY_MS = 1_000;

type StopOutcome = "timeout" | "cancelled" | "budget";
const WAKE = Symbol("wake");

export class BatchScheduler {
  private readonly now = Date.now;
  /** Indexes of runs in state `running`, queued with a backoff, and not yet terminal. */
  private readonly live = new Set<number>();
  private readonly delayed = new Set<number>();
  private readonly open = new Set<number>();
  /** Runs being stopped: their wait results are the stopper's to record, not the loop's. */
  private readonly stopping = new Set<number>();
  private readonly children: ChildSessions;
  private firstOpen = 0;
  /** Some run still waits for the others (checked only while true: a batch has few gated runs). */
  private gated: boolean;
  private wakeUp: (() => void) | undefined;

  constructor(readonly batch: BatchRecord, private readonly deps: SchedulerDeps) {
    this.children = new ChildSessions(deps.runtime);
    batch.runs.forEach((_, i) => this.track(i));
    this.gated = batch.runs.some((r) => r.spec.gate);
  }

  get complete(): boolean {
    return this.open.size === 0;
  }

  /** Makes the loop look again now (after a cancel, or new work). */
  wake(): void {
    this.wakeUp?.();
  }

  /**
   * Attempts left live by another process were cut off when it died (the host never finishes
   * them): their transcripts are read (tokens count), their sessions stopped, and they end as
   * `interrupted`, which re-runs them without using a retry.
   */
  async recover(): Promise<void> {
    await Promise.all(
      this.batch.runs.map(async (run, i) => {
        const attempt = liveAttempt(run);
        if (run.state === "running" && !attempt) return void this.commit(i, { kind: "requeue" });
        if (!attempt || attempt.owner === this.deps.owner) return;
        const transcript = await this.children.readBounded(attempt.sessionKey);
        await this.children.stopAndConfirm(attempt.sessionKey, undefined);
        await this.finish(i, attempt, "interrupted", "the gateway restarted while this attempt was running", transcript);
      }),
    );
  }

  /** Runs the batch until every run is terminal or `signal` aborts (the service stopping). */
  async run(signal: AbortSignal): Promise<void> {
    // Keyed by run id: a wait belongs to one attempt, never to a later attempt of the same run.
    const waits = new Map<string, Promise<Ended>>();
    while (!this.complete && !signal.aborted) {
      await this.ungateReady();
      await this.enforceBudget();
      await this.admit();
      await this.enforceTimeouts();
      if (this.complete) break;
      const now = this.now();
      for (const i of this.live) {
        const attempt = liveAttempt(this.batch.runs[i]);
        if (!attempt?.runId || waits.has(attempt.runId) || this.stopping.has(i)) continue;
        const slice = Math.max(1, Math.min(WAIT_SLICE_MS, this.runDeadline(i) - now));
        waits.set(attempt.runId, this.children.waitEnded(attempt.runId, attempt.sessionKey, slice));
      }
      const woken = new Promise<typeof WAKE>((resolve) => (this.wakeUp = () => resolve(WAKE)));
      const winner = await raceUntil<Ended | typeof WAKE>([...waits.values(), woken], this.nextTimer(), signal);
      this.wakeUp = undefined;
      if (!winner || winner === WAKE) continue;
      waits.delete(winner.runId);
      if (winner.result.state === "pending") continue;
      const i = [...this.live].find((j) => liveAttempt(this.batch.runs[j])?.runId === winner.runId);
      if (i !== undefined && !this.stopping.has(i)) await this.settle(i, winner.result, winner.transcript);
    }
    // Deletes issued from the engine complete on their own; waiting here only keeps tests tidy.
    if (this.complete) await this.children.drained();
  }

  /** Stops queued and running runs (all, or those labelled); returns the labels it stopped. */
  async cancel(labels?: string[]): Promise<string[]> {
    const targets = [...this.open].filter((i) => !labels || labels.includes(this.batch.runs[i].spec.label));
    await Promise.all(targets.map((i) => this.stopRun(i, "cancelled", "cancelled by parallel_cancel")));
    this.wake();
    return targets.map((i) => this.batch.runs[i].spec.label);
  }

  private async admit(): Promise<void> {
    const { runs, options } = this.batch;
    while (this.firstOpen < runs.length && TERMINAL_STATES.has(runs[this.firstOpen].state)) this.firstOpen++;
    const starting: Promise<void>[] = [];
    for (let i = this.firstOpen; i < runs.length && this.live.size < options.maxConcurrency; i++) {
      const run = runs[i];
      if (run.state !== "queued" || run.spec.gate || (run.notBefore ?? 0) > this.now()) continue;
      const budget = admitNext(this.batch, i, this.nextModel(i));
      if (budget.kind === "wait") continue;
      if (budget.kind === "refuse") starting.push(this.stopRun(i, "budget", budget.reason));
      else starting.push(this.startAttempt(i)); // commits `running` before its first await
    }
    await Promise.all(starting);
  }

  private async startAttempt(i: number): Promise<void> {
    const run = this.batch.runs[i];
    const previous = run.attempts[run.attempts.length - 1];
    const n = run.attempts.length + 1;
    const model = previous ? previous.nextModel : firstModel(run, this.batch.options);
    const attempt: Attempt = {
      n, model, sessionKey: childSessionKey(this.batch, i, n), owner: this.deps.owner, startedAt: this.now(), tokens: 0, usage: emptyUsage(), costUsd: 0,
    };
    if (!this.commit(i, { kind: "start", attempt })) return;
    try {
      const started = await this.deps.runtime.start({
        sessionKey: attempt.sessionKey, message: run.spec.prompt, model, idempotencyKey: `${this.batch.batchId}:${run.spec.label}:${n}`,
      });
      // Stopped (cancel, timeout) while the host was admitting it: stop the child we just got.
      if (!this.commit(i, { kind: "started", n, runId: started.runId, sessionKey: started.sessionKey, modelUsed: started.model })) {
        await this.children.stopAndConfirm(started.sessionKey, started.runId);
      }
    } catch (err) {
      // A gateway still booting refuses runs ("agent unavailable during gateway startup"): try again shortly.
      if (isHostNotReady(errorText(err))) return void this.commit(i, { kind: "defer", n, notBefore: this.now() + NOT_READY_RETRY_MS });
      await this.finish(i, attempt, classifyHostError(errorText(err)), `start failed: ${errorText(err)}`);
    }
  }

  /** A wait said the run ended: judge what it produced. */
  private async settle(i: number, result: WaitResult, transcript?: Transcript): Promise<void> {
    const run = this.batch.runs[i];
    const attempt = liveAttempt(run);
    if (result.state === "pending" || !attempt) return;
    const schema = run.spec.outputSchema;
    const verdict = judgeAttempt(result, transcript, schema, this.deps.redact);
    if (verdict.kind === "contract" && !attempt.corrected) return this.sendCorrection(i, attempt, verdict.errors, schema!, transcript);
    const reason = verdict.kind === "contract" ? verdict.errors.join("; ") : verdict.reason;
    const kept = verdict.kind === "done" ? { output: verdict.output, json: verdict.json } : { output: verdict.output };
    await this.finish(i, attempt, verdict.outcome, reason, transcript, kept);
  }

  /** One follow-up in the same session with the validation errors, before escalating. */
  private async sendCorrection(i: number, attempt: Attempt, errors: string[], schema: object, transcript?: Transcript): Promise<void> {
    const { batchId } = this.batch;
    try {
      const started = await this.deps.runtime.start({
        sessionKey: attempt.sessionKey, message: correctiveMessage(errors, schema), model: attempt.model, idempotencyKey: `${batchId}:${this.batch.runs[i].spec.label}:${attempt.n}:fix`,
      });
      const usage = transcript?.usage ?? attempt.usage;
      const reason = `corrective follow-up sent: ${errors.slice(0, 3).join("; ")}`;
      this.commit(i, { kind: "corrected", n: attempt.n, runId: started.runId, reason, usage, costUsd: this.costOf(usage, attempt, transcript) });
    } catch (err) {
      await this.finish(i, attempt, "invalid_json", `corrective follow-up failed: ${errorText(err)}`, transcript);
    }
  }

  /** Ends the live attempt as `outcome` and moves the run on as the policy decides. */
  private async finish(i: number, attempt: Attempt, outcome: AttemptOutcome, reason?: string, transcript?: Transcript, kept: { output?: string; json?: unknown } = {}): Promise<void> {
    const run = this.batch.runs[i];
    const usage = transcript?.usage ?? attempt.usage;
    const ended: EndedAttempt = {
      outcome, reason: reason === undefined ? undefined : this.deps.redact(reason), endedAt: this.now(), usage,
      modelUsed: transcript?.modelUsed ?? attempt.modelUsed, costUsd: this.costOf(usage, attempt, transcript),
    };
    const history = { ...run, attempts: [...run.attempts.slice(0, -1), { ...attempt, ...ended }] };
    const decision = decide(history, outcome, this.batch.options, this.deps.random);
    let next: NextState;
    if (decision.kind === "succeed") next = { state: "ok", output: kept.output, json: kept.json };
    else if (decision.kind === "retry") {
      ended.nextModel = decision.model;
      next = { state: "queued", notBefore: this.now() + decision.delayMs };
    } else next = { state: decision.state, error: decision.error, output: kept.output };
    if (!this.commit(i, { kind: "finish", n: attempt.n, ended, next })) return;
    const released = this.children.release(attempt.sessionKey);
    if (decision.kind === "retry") await released; // one live child per run, ever
  }

  /** Ends a run that is still going (timeout, cancel, budget): its tokens are read, its child stopped. */
  private async stopRun(i: number, outcome: StopOutcome, reason: string): Promise<void> {
    if (this.stopping.has(i)) return;
    const attempt = liveAttempt(this.batch.runs[i]);
    if (!attempt) {
      const state = outcome === "timeout" ? "timed_out" : outcome === "cancelled" ? "cancelled" : "failed";
      this.commit(i, { kind: "end", state, error: reason });
      return;
    }
    this.stopping.add(i);
    try {
      const transcript = await this.children.readBounded(attempt.sessionKey);
      const confirmed = await this.children.stopAndConfirm(attempt.sessionKey, attempt.runId);
      const note = confirmed ? "" : " (the host did not confirm the child stopped; attempt abandoned)";
      await this.finish(i, liveAttempt(this.batch.runs[i]) ?? attempt, outcome, reason + note, transcript);
    } finally {
      this.stopping.delete(i);
    }
  }

  /** The model run `i`'s next attempt asks for (as startAttempt picks it): the policy's pick after a retry, else its first rung. */
  private nextModel(i: number): string | undefined {
    const run = this.batch.runs[i];
    const previous = run.attempts[run.attempts.length - 1];
    return previous ? previous.nextModel : firstModel(run, this.batch.options);
  }

  private costOf(usage: Attempt["usage"], attempt: Attempt, transcript?: Transcript): number {
    const model = transcript?.modelUsed ?? attempt.modelUsed ?? attempt.model;
    return attemptCost(usage, model, this.batch.options.prices, transcript?.hostCostUsd) ?? 0; // unknown: listed as unpriced in the result
  }

  private async ungateReady(): Promise<void> {
    const { runs } = this.batch;
    if (!this.gated) return;
    const gated = [...this.open].filter((i) => runs[i].spec.gate);
    this.gated = gated.length > 0;
    if (!gated.length || gated.length < this.open.size) return;
    for (const i of gated) this.commit(i, { kind: "ungate", prompt: this.deps.ungate?.(this.batch, runs[i]) ?? runs[i].spec.prompt });
  }

  private runDeadline(i: number): number {
    const run = this.batch.runs[i];
    return (run.firstStartedAt ?? this.now()) + run.spec.timeoutSeconds * 1000;
  }

  private async enforceTimeouts(): Promise<void> {
    const late = [...this.live].filter((i) => this.now() >= this.runDeadline(i));
    await Promise.all(late.map((i) => this.stopRun(i, "timeout", `no result within ${this.batch.runs[i].spec.timeoutSeconds}s`)));
  }

  private async enforceBudget(): Promise<void> {
    const { budget } = this.batch.options;
    if (budget.maxTokens === undefined && budget.maxCostUsd === undefined) return;
    const spent = new BudgetGuard(budget);
    const { tokens, costUsd } = batchTotals(this.batch);
    spent.record({ inputTokens: tokens, outputTokens: 0 }, costUsd);
    const over = spent.exceeded();
    if (over) await Promise.all([...this.open].map((i) => this.stopRun(i, "budget", over)));
  }

  /** The earliest moment the loop must look again without a wait result. */
  private nextTimer(): number {
    let next = this.now() + WAIT_SLICE_MS;
    for (const i of this.live) next = Math.min(next, this.runDeadline(i));
    for (const i of this.delayed) next = Math.min(next, this.batch.runs[i].notBefore!);
    return next;
  }

  /** Applies `t` to run `i`: stored first, then in memory, then reported. False when refused. */
  private commit(i: number, t: Transition): boolean {
    const next = applyTransition(this.batch.runs[i], t);
    if (!next) return false;
    const closes = this.open.has(i) && TERMINAL_STATES.has(next.state);
    const { notify, collected, notifiedAt } = this.batch;
    // Once no run is left, the batch stays open only while a completion notice is owed.
    const open = this.open.size - (closes ? 1 : 0) > 0 || (notify === true && !collected && !notifiedAt);
    this.deps.store.saveRun({ ...this.batch, open }, i, next, open !== this.batch.open);
    this.batch.runs[i] = next;
    this.batch.open = open;
    this.track(i);
    this.deps.changed(this.batch, next);
    return true;
  }

  private track(i: number): void {
    const run = this.batch.runs[i];
    this.live.delete(i);
    this.delayed.delete(i);
    this.open.delete(i);
    if (run.state === "running") this.live.add(i);
    if (run.state === "queued" && run.notBefore) this.delayed.add(i);
    if (!TERMINAL_STATES.has(run.state)) this.open.add(i);
  }
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
