// A batch's book of runs, under the scheduler: every change is a guarded transition, applied in
// memory and stored with the rest of its turn's changes in one transaction (group commit), then
// reported; an attempt's end is written down as the policy decides (cost, next state, the output
// cap) and its session released once that is stored; notes go in the batch.
import type { ChildRuntime, Transcript } from "../runtime/port.js";
import { decide } from "../batch/policy.js";
import type { Redactor } from "../batch/redact.js";
import { type Attempt, type AttemptOutcome, type BatchRecord, type RunRecord, TERMINAL_STATES } from "../batch/types.js";
import type { BatchStore } from "../store/batch-store.js";
import { endedAttempt, nextState } from "./attempt-end.js";
import { ChildSessions, type HostDeadlines } from "./children.js";
import { GroupCommit } from "./group-commit.js";
import { runDeadline } from "./limits.js";
import { RunIndex } from "./run-index.js";
import { childSessionKey } from "../batch/session-keys.js";
import { type SlotGate, slotOutcome } from "../scheduling/slot-gate.js";
import { type EndedAttempt, type Transition, applyTransition } from "./transitions.js";

export interface SchedulerDeps {
  runtime: ChildRuntime;
  store: BatchStore;
  /** This gateway process: attempts of any other owner were cut off by a restart. */
  owner: string;
  redact: Redactor;
  random?: () => number;
  /** Renders a gated run's prompt once every other run is terminal (the research synthesis). */
  ungate?: (batch: BatchRecord, run: RunRecord) => string;
  changed: (batch: BatchRecord, run: RunRecord) => void; // after every stored change
  deadlines?: Partial<HostDeadlines>;
  /** Gateway-wide slots per provider and model, shared by every batch (none: only maxConcurrency). */
  slots?: SlotGate;
  /** Resolves when a finished child's session may be deleted (see housekeeping.ts; none: at once). */
  housekeeping?: () => Promise<void>;
}

export abstract class RunBook {
  protected readonly now = Date.now;
  protected readonly index: RunIndex;
  protected readonly children: ChildSessions;
  /** When the last host wait that ended a run returned, and when the last change was stored (ms; the notice timing line reads them). */
  readonly timing = { waitReturnedAt: 0, committedAt: 0 };
  private readonly writes: GroupCommit;
  /** An error in work done beside the loop (a start, a stop, a write): the loop throws it. */
  protected failure: unknown;

  constructor(readonly batch: BatchRecord, protected readonly deps: SchedulerDeps) {
    this.children = new ChildSessions(deps.runtime, deps.deadlines);
    this.index = new RunIndex(batch.runs);
    this.writes = new GroupCommit((runs, header) => this.store(runs, header), (err) => this.writeFailed(err));
  }

  /** Some change is not stored yet. */
  get pendingWrites(): boolean {
    return this.writes.pending;
  }

  /** Stores every change made so far now (one transaction); throws when the store cannot. */
  flush(): void {
    this.writes.flush();
  }

  /** Stores the batch's header (flags, notes, notice) now, with any change still pending. */
  saveHeader(): void {
    this.writes.add(undefined, true);
    this.writes.flush();
  }

  /** Makes the loop look again now (after a cancel, new work, or an error beside it). */
  abstract wake(): void;

  /** Resolves once every change made so far is stored: anything seen outside the process waits for it. */
  protected stored(): Promise<void> {
    return this.writes.stored();
  }

  /** Ends the live attempt as `outcome` and moves the run on as the policy decides (a stopped run ends as stopped). */
  protected async finish(i: number, attempt: Attempt, outcome: AttemptOutcome, reason?: string, transcript?: Transcript, kept: { output?: string; json?: unknown } = {}): Promise<void> {
    const run = this.batch.runs[i];
    const ended = this.ended(attempt, outcome, reason, transcript);
    const history = { ...run, attempts: [...run.attempts.slice(0, -1), { ...attempt, ...ended }] };
    const { next, nextModel, cutFrom } = nextState(decide(history, outcome, this.batch.options, this.deps.random), kept, this.now());
    ended.nextModel = nextModel;
    this.releaseSlot(i, attempt.n, outcome); // the child's run is over either way: its slot is free
    if (!this.commit(i, { kind: "finish", n: attempt.n, ended, next })) return;
    if (cutFrom !== undefined) this.note(`${run.spec.label}: output of ${cutFrom.toLocaleString("en-US")} bytes cut to the stored cap of 1 MB`);
    // Deleted only once the end is stored: until then the transcript is what a restart recovers from.
    const stored = this.stored();
    const retried = this.batch.runs[i].state === "queued";
    const released = this.children.release(attempt.sessionKey, retried || !this.deps.housekeeping ? stored : stored.then(this.deps.housekeeping));
    if (!retried) return;
    await stored; // a store error is the caller's (the loop restarts), not a retry's
    await released; // one live child per run, ever
  }

  protected ended(attempt: Attempt, outcome: AttemptOutcome, reason: string | undefined, transcript: Transcript | undefined): EndedAttempt {
    return endedAttempt(attempt, outcome, reason, transcript, { now: this.now(), redact: this.deps.redact, prices: this.batch.options.prices });
  }

  /** Frees the gateway-wide slot attempt `n` of run `i` held (a no-op when it held none). */
  protected releaseSlot(i: number, n: number, outcome?: AttemptOutcome): void {
    this.deps.slots?.release(childSessionKey(this.batch, i, n), slotOutcome(outcome));
  }

  /** Adds a note to the batch, stored with its next write. */
  note(text: string): void {
    this.batch.notes.push(text);
    this.writes.add(undefined, true);
  }

  protected runDeadline(i: number): number {
    return runDeadline(this.batch.runs[i], this.now());
  }

  /** Work done beside the loop: tracked, wakes the loop when done, and its error reaches the loop. */
  protected beside(work: Promise<void>): void {
    void this.children.beside(
      work.catch((err: unknown) => void (this.failure ??= err)).finally(() => this.wake()),
    );
  }

  /** A group of changes could not be stored (they stay pending): the loop must hear of it. */
  protected writeFailed(err: unknown): void {
    this.failure ??= err;
    this.wake();
  }

  /** Rethrows (once) an error of work done beside the loop: a restarted loop starts clean. */
  protected throwFailure(): void {
    const failure = this.failure;
    this.failure = undefined;
    if (failure) throw failure;
  }

  /** Applies `t` to run `i` in memory and queues it for storing (see GroupCommit). False when refused. */
  protected commit(i: number, t: Transition): boolean {
    const next = applyTransition(this.batch.runs[i], t);
    if (!next) return false;
    const closes = this.index.open.has(i) && TERMINAL_STATES.has(next.state);
    const { notify, collected, notifiedAt } = this.batch;
    // Once no run is left, the batch stays open only while a completion notice is owed.
    const open = this.index.open.size - (closes ? 1 : 0) > 0 || (notify === true && !collected && !notifiedAt);
    this.writes.add(i, open !== this.batch.open);
    this.batch.runs[i] = next;
    this.batch.open = open;
    this.index.track(i);
    return true;
  }

  /** One transaction for a group of changes; then they are reported. */
  private store(runs: number[], header: boolean): void {
    this.deps.store.saveRuns(this.batch, runs.map((i) => [i, this.batch.runs[i]] as const), header);
    this.timing.committedAt = this.now();
    for (const i of runs) this.deps.changed(this.batch, this.batch.runs[i]);
  }
}
