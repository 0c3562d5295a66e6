// The batch scheduler. The host only lets us call the sub-agent runtime while one of our tool
// calls is in flight, so nothing runs in the background: each tool call drives the batch
// (`drive`) until every run is terminal or its own deadline, then returns leaving no timers,
// waits or detached promises behind. Completion is noticed through the host's bounded
// long-poll (`wait`), never by sleeping. Every change is written to the ledger first.
import { type ChildRuntime, HostUnavailableError, type Transcript, type WaitResult } from "../runtime/port.js";
import { BudgetGuard, costOf } from "./cost.js";
import { raceUntil } from "./race.js";
import { createRedactor, type Redactor } from "./redact.js";
import { correctiveMessage } from "./json-contract.js";
import { judgeAttempt } from "./judge.js";
import type { Ledger } from "./ledger.js";
import { classifyHostError, decide, firstModel } from "./policy.js";
import { childSessionKey } from "./session-keys.js";
import { type Attempt, type AttemptOutcome, type BatchRecord, type RunRecord, TERMINAL_STATES, emptyUsage } from "./types.js";

export interface RunnerDeps {
  runtime: ChildRuntime;
  ledger: Ledger;
  /** Identifies this gateway process in attempts, to tell live attempts from interrupted ones. */
  owner: string;
  random?: () => number;
  /** Upper bound on waiting for session deletes when a drive returns (default 15 s). */
  releaseGraceMs?: number;
  /** Scrubs secrets from children's outputs and error texts (default: secret-looking env values, key shapes). */
  redact?: Redactor;
}

/** Longest single host wait; shorter than any host-side request limit. */
const WAIT_SLICE_MS = 30_000;
/** How long a returning drive() waits, at most, for finished children's session deletes. */
const RELEASE_GRACE_MS = 15_000;
/** How long we wait for the host to confirm that a stopped child has ended. */
const STOP_CONFIRM_MS = 5_000;

export class BatchRunner {
  private readonly now = Date.now;
  private readonly budget: BudgetGuard;
  private readonly redact: Redactor;
  private readonly releases = new Set<Promise<void>>();
  private driving: Promise<void> | undefined;
  private readonly listeners = new Set<(run: RunRecord) => void>();
  // Indexes kept in step with run states by setRun, so each loop step costs O(concurrency),
  // not O(tasks): a batch of n tasks was O(n^2)..O(n^3) overall without them (bench/).
  private readonly position = new Map<RunRecord, number>();
  /** Runs in state `running`. */
  private readonly live = new Set<RunRecord>();
  /** Queued runs waiting out a retry backoff (`notBefore`). */
  private readonly delayed = new Set<RunRecord>();
  /** Runs not yet in a terminal state. */
  private readonly open = new Set<RunRecord>();
  /** Every run before this index is terminal (terminal states are final). */
  private firstOpen = 0;

  constructor(readonly batch: BatchRecord, private readonly deps: RunnerDeps) {
    this.budget = new BudgetGuard(batch.options.budget);
    this.redact = deps.redact ?? createRedactor();
    for (const [i, run] of batch.runs.entries()) {
      for (const a of run.attempts) this.budget.record(a.usage, a.costUsd);
      this.position.set(run, i);
      this.track(run);
    }
  }

  get complete(): boolean {
    return this.open.size === 0;
  }

  totals(): { tokens: number; costUsd: number } {
    return this.budget.totals();
  }

  /** Subscribe to run state changes (progress lines). Returns the unsubscribe function. */
  onChange(listener: (run: RunRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Advances the batch until it is complete, `deadline` passes or `signal` aborts. Concurrent
   * callers share one driver: a second caller waits for the first, then drives with its own deadline.
   */
  async drive(deadline: number, signal?: AbortSignal): Promise<void> {
    while (!this.complete && !signal?.aborted) {
      if (this.driving) {
        await raceUntil([this.driving.then(() => undefined)], deadline, signal);
        if (this.now() >= deadline) return;
        continue;
      }
      const run = this.loop(deadline, signal);
      this.driving = run;
      try {
        await run;
      } finally {
        this.driving = undefined;
        // The host abandons a deleteSession still in flight when our tool call returns (measured), so
        // releases are awaited here; bounded, because under load one can take seconds (1-25 s seen at
        // 20 at once). A session left over stays visible in the host until its own session maintenance.
        await raceUntil([Promise.all(this.releases)], this.now() + (this.deps.releaseGraceMs ?? RELEASE_GRACE_MS));
      }
      return;
    }
  }

  /** Stops queued and running runs (all, or those labelled); returns the labels it stopped. */
  async cancel(labels?: string[]): Promise<string[]> {
    const targets = this.batch.runs.filter(
      (r) => !TERMINAL_STATES.has(r.state) && (!labels || labels.includes(r.spec.label)),
    );
    await Promise.all(targets.map((run) => this.stopRun(run, "cancelled", "cancelled by parallel_cancel")));
    return targets.map((r) => r.spec.label);
  }

  /**
   * After a gateway restart the host never finishes runs it had in flight (their ids stay
   * pending), so attempts started by another process are ended as `interrupted` here and go
   * through the retry policy like any failure: reported, never lost.
   */
  async recoverInterrupted(): Promise<void> {
    for (const run of this.batch.runs) {
      const attempt = liveAttempt(run);
      if (run.state !== "running" || !attempt || attempt.owner === this.deps.owner) continue;
      // Should the host ever resume it, the old child must not run beside the next attempt.
      await this.release(attempt);
      await this.finishAttempt(run, attempt, "interrupted", "the gateway restarted while this attempt was running");
    }
  }

  private async loop(deadline: number, signal?: AbortSignal): Promise<void> {
    // Keyed by run id: a wait belongs to one attempt, never to a later attempt of the same run.
    const waits = new Map<string, Promise<Ended>>();
    while (!this.complete && !signal?.aborted) {
      await this.enforceBudget();
      await this.admit();
      await this.enforceTimeouts();
      if (this.complete) return;
      const now = this.now();
      if (now >= deadline) return;
      for (const run of this.live) {
        const attempt = liveAttempt(run);
        if (!attempt?.runId || waits.has(attempt.runId)) continue;
        const until = Math.min(deadline, this.runDeadline(run));
        const slice = Math.max(1, Math.min(WAIT_SLICE_MS, until - now));
        const runId = attempt.runId;
        waits.set(
          runId,
          this.deps.runtime
            .wait(runId, slice)
            .catch((err: unknown): WaitResult => ({ state: "error", error: errorText(err) }))
            // Read the transcript as soon as this run ends, beside other runs' waits, not after them.
            .then(async (result) => ({ runId, result, transcript: result.state === "pending" ? undefined : await this.readTranscript(attempt) })),
        );
      }
      const winner = await raceUntil([...waits.values()], this.nextTimer(deadline), signal);
      if (!winner) continue; // a timer fired: loop re-checks timeouts, backoffs and the deadline
      waits.delete(winner.runId);
      if (winner.result.state === "pending") continue;
      const run = [...this.live].find((r) => liveAttempt(r)?.runId === winner.runId);
      if (run) await this.settle(run, liveAttempt(run)!, winner.result, winner.transcript);
    }
  }

  /** Starts attempts for queued runs in FIFO order while there is room. */
  private async admit(): Promise<void> {
    const { maxConcurrency } = this.batch.options;
    const { runs } = this.batch;
    while (this.firstOpen < runs.length && TERMINAL_STATES.has(runs[this.firstOpen].state)) this.firstOpen++;
    const starting: Promise<void>[] = [];
    for (let i = this.firstOpen; i < runs.length; i++) {
      if (this.live.size >= maxConcurrency) break;
      const run = runs[i];
      if (run.state !== "queued" || (run.notBefore ?? 0) > this.now()) continue;
      starting.push(this.startAttempt(run)); // marks the run live before its first await
    }
    await Promise.all(starting);
  }

  private async startAttempt(run: RunRecord): Promise<void> {
    const { batch, deps } = this;
    const previous = run.attempts[run.attempts.length - 1];
    const n = run.attempts.length + 1;
    const model = previous ? previous.nextModel : firstModel(run, batch.options);
    const attempt: Attempt = {
      n,
      model,
      sessionKey: childSessionKey(batch, this.position.get(run)!, n),
      owner: deps.owner,
      startedAt: this.now(),
      tokens: 0,
      usage: emptyUsage(),
      costUsd: 0,
    };
    run.attempts.push(attempt);
    run.firstStartedAt ??= attempt.startedAt;
    this.setRun(run, { state: "running", notBefore: undefined, firstStartedAt: run.firstStartedAt });
    deps.ledger.attempt(batch.batchId, run.spec.label, attempt);
    try {
      const started = await deps.runtime.start({
        sessionKey: attempt.sessionKey,
        message: run.spec.prompt,
        model,
        idempotencyKey: `${batch.batchId}:${run.spec.label}:${n}`,
      });
      attempt.runId = started.runId;
      attempt.sessionKey = started.sessionKey;
      attempt.modelUsed = started.model;
      // Cancelled (or timed out) while the host was admitting it: stop the child we just got.
      if (attempt.outcome) return void (await this.stopAndConfirm(attempt));
      deps.ledger.attempt(batch.batchId, run.spec.label, attempt);
    } catch (err) {
      if (err instanceof HostUnavailableError) {
        // Kept in the ledger as interrupted (retried by a later call made through a gateway), then reported.
        await this.finishAttempt(run, attempt, "interrupted", `not started: ${err.message}`);
        throw err;
      }
      await this.finishAttempt(run, attempt, classifyHostError(errorText(err)), `start failed: ${errorText(err)}`);
    }
  }

  /** A wait said the run ended: read what it produced and judge it. */
  private async settle(run: RunRecord, attempt: Attempt, result: WaitResult, read?: Transcript): Promise<void> {
    if (result.state === "pending") return;
    const transcript = read ?? (await this.readTranscript(attempt));
    if (transcript) {
      attempt.usage = transcript.usage;
      attempt.modelUsed = transcript.modelUsed ?? attempt.modelUsed;
    }
    const schema = run.spec.outputSchema;
    const verdict = judgeAttempt(result, transcript, schema, this.redact);
    if (verdict.output !== undefined) run.output = verdict.output;
    if (verdict.kind === "contract") {
      if (!attempt.corrected) return this.sendCorrection(run, attempt, verdict.errors, schema!);
      return this.finishAttempt(run, attempt, verdict.outcome, verdict.errors.join("; "));
    }
    if (verdict.json !== undefined) run.json = verdict.json;
    return this.finishAttempt(run, attempt, verdict.outcome, verdict.reason);
  }

  private readTranscript(attempt: Attempt): Promise<Transcript | undefined> {
    return this.deps.runtime.read(attempt.sessionKey).catch(() => undefined);
  }

  /** One follow-up in the same session with the validation errors, before escalating. */
  private async sendCorrection(run: RunRecord, attempt: Attempt, errors: string[], schema: object): Promise<void> {
    attempt.corrected = true;
    attempt.reason = `corrective follow-up sent: ${errors.slice(0, 3).join("; ")}`;
    try {
      const started = await this.deps.runtime.start({
        sessionKey: attempt.sessionKey,
        message: correctiveMessage(errors, schema),
        model: attempt.model,
        idempotencyKey: `${this.batch.batchId}:${run.spec.label}:${attempt.n}:fix`,
      });
      attempt.runId = started.runId;
      this.deps.ledger.attempt(this.batch.batchId, run.spec.label, attempt);
    } catch (err) {
      await this.finishAttempt(run, attempt, "invalid_json", `corrective follow-up failed: ${errorText(err)}`);
    }
  }

  private async finishAttempt(run: RunRecord, attempt: Attempt, outcome: AttemptOutcome, reason?: string): Promise<void> {
    attempt.outcome = outcome;
    attempt.reason = reason === undefined ? undefined : this.redact(reason);
    attempt.endedAt = this.now();
    attempt.tokens = attempt.usage.inputTokens + attempt.usage.outputTokens;
    attempt.costUsd = costOf(attempt.usage, attempt.modelUsed ?? attempt.model ?? "", this.batch.options.prices);
    this.budget.record(attempt.usage, attempt.costUsd);
    const decision = decide(run, outcome, this.batch.options, this.deps.random);
    if (decision.kind === "retry") attempt.nextModel = decision.model;
    this.deps.ledger.attempt(this.batch.batchId, run.spec.label, attempt);
    const released = this.release(attempt);
    if (decision.kind === "retry") await released; // one live attempt per run
    if (decision.kind === "succeed") {
      this.setRun(run, { state: "ok", output: run.output, json: run.json, error: undefined });
    } else if (decision.kind === "retry") {
      this.setRun(run, { state: "queued", notBefore: this.now() + decision.delayMs, output: undefined, json: undefined });
    } else {
      this.setRun(run, { state: decision.state, error: decision.error, output: run.output, json: undefined });
    }
  }

  /** Ends a run that is still going (timeout, cancel, budget): stop its child first. */
  private async stopRun(run: RunRecord, outcome: "timeout" | "cancelled" | "budget", reason: string): Promise<void> {
    const attempt = liveAttempt(run);
    if (run.state === "running" && attempt) {
      const confirmed = await this.stopAndConfirm(attempt);
      const note = confirmed ? "" : " (the host did not confirm the child stopped; attempt abandoned)";
      return this.finishAttempt(run, attempt, outcome, reason + note);
    }
    const state = outcome === "timeout" ? "timed_out" : outcome === "cancelled" ? "cancelled" : "failed";
    this.setRun(run, { state, error: reason });
  }

  /** Stops a live child and waits (bounded) until the host reports the run ended. */
  private async stopAndConfirm(attempt: Attempt): Promise<boolean> {
    await this.deps.runtime.stop(attempt.sessionKey).catch(() => undefined);
    attempt.released = true;
    if (!attempt.runId) return true;
    const seen = await this.deps.runtime.wait(attempt.runId, STOP_CONFIRM_MS).catch(() => undefined);
    return seen !== undefined && seen.state !== "pending";
  }

  /** Finished attempts give their session back to the host (their output is in the ledger). */
  /**
   * Deletes a finished attempt's session. Callers await it only when another attempt of the run
   * follows; otherwise a session delete must not hold up noticing the next finished child.
   */
  private release(attempt: Attempt): Promise<void> {
    if (attempt.released) return Promise.resolve();
    attempt.released = true;
    const done: Promise<void> = this.deps.runtime.stop(attempt.sessionKey).catch(() => undefined);
    this.releases.add(done);
    void done.finally(() => this.releases.delete(done));
    return done;
  }

  private runDeadline(run: RunRecord): number {
    return (run.firstStartedAt ?? this.now()) + run.spec.timeoutSeconds * 1000;
  }

  private async enforceTimeouts(): Promise<void> {
    const late = [...this.live].filter((r) => this.now() >= this.runDeadline(r));
    await Promise.all(late.map((r) => this.stopRun(r, "timeout", `no result within ${r.spec.timeoutSeconds}s`)));
  }

  private async enforceBudget(): Promise<void> {
    const over = this.budget.exceeded();
    if (!over) return;
    const open = this.batch.runs.filter((r) => !TERMINAL_STATES.has(r.state));
    await Promise.all(open.map((r) => this.stopRun(r, "budget", over)));
  }

  /** The earliest moment the loop must look again without a wait result. */
  private nextTimer(deadline: number): number {
    let next = deadline;
    for (const run of this.live) next = Math.min(next, this.runDeadline(run));
    for (const run of this.delayed) next = Math.min(next, run.notBefore!);
    return next;
  }

  /** Files a run into the state indexes (after any change of its state or backoff). */
  private track(run: RunRecord): void {
    this.live.delete(run);
    this.delayed.delete(run);
    this.open.delete(run);
    if (run.state === "running") this.live.add(run);
    if (run.state === "queued" && run.notBefore) this.delayed.add(run);
    if (!TERMINAL_STATES.has(run.state)) this.open.add(run);
  }

  private setRun(run: RunRecord, patch: Partial<RunRecord>): void {
    Object.assign(run, patch);
    this.track(run);
    this.deps.ledger.run(this.batch.batchId, run.spec.label, patch);
    for (const listener of this.listeners) listener(run);
  }
}

type Ended = { runId: string; result: WaitResult; transcript?: Transcript };

function liveAttempt(run: RunRecord): Attempt | undefined {
  const last = run.attempts[run.attempts.length - 1];
  return last && !last.outcome ? last : undefined;
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
