// The engine: one per gateway process, started by the plugin's service. It owns every batch from
// admission to the end, whether or not any tool call is waiting: tools hand batches over and read
// them back. Host calls run in the service's async scope (captured when the engine is made), since
// the host refuses them from a tool call's context once that call has returned.
import { AsyncResource } from "node:async_hooks";
import { createRedactor, type Redactor } from "../batch/redact.js";
import { raceUntil, withDeadline } from "../batch/race.js";
import { type BatchRecord, type RunRecord, TERMINAL_STATES } from "../batch/types.js";
import type { ChildRuntime } from "../runtime/port.js";
import type { BatchStore, RetentionOptions } from "../store/batch-store.js";
import type { HostDeadlines } from "./children.js";
import { Housekeeping, type HousekeepingOptions } from "./housekeeping.js";
import { type Notifier, noticeKey, noticeText } from "./notice.js";
import { BatchScheduler, errorText } from "./scheduler.js";
import { type CapChange, ProviderSlots, type ProviderSlotsOptions } from "../scheduling/provider-slots.js";
import { type HostAgentEvent, capChangeLine, endedSession, rateLimitedSession } from "../scheduling/host-events.js";
import { recallCaps, rememberCaps } from "../scheduling/remembered-caps.js";

export interface EngineDeps {
  store: BatchStore;
  runtime: ChildRuntime;
  owner: string;
  notifier?: Notifier;
  redact?: Redactor;
  random?: () => number;
  /** Renders the research synthesis prompt once its lanes are done. */
  ungate?: (batch: BatchRecord, run: RunRecord) => string;
  retention?: RetentionOptions;
  log?: (line: string) => void;
  /** Deadlines of host calls (tests shorten them). */
  deadlines?: Partial<HostDeadlines & { noticeMs: number; noticeRetryMs: number; loopRestartMs: number }>;
  /** Gateway-wide caps per provider/model and the host's sub-agent limit (none: batches only). */
  concurrency?: Omit<ProviderSlotsOptions, "onChange">;
  /** When finished children's sessions are deleted (none: as soon as their end is stored). */
  housekeeping?: HousekeepingOptions;
}

/** How often finished batches beyond retention are pruned. */
const PRUNE_EVERY_MS = 10 * 60_000;
/** A batch loop that throws is restarted this many times before its batch fails with the error. */
export const MAX_LOOP_RESTARTS = 3;
/** Tries of a completion notice (across restarts too) before the engine gives up and logs it. */
export const MAX_NOTICE_TRIES = 3;
/** How long the answer to a cancel waits for the stops it recorded to be carried out (it never waits longer). */
const CANCEL_ANSWER_MS = 250;

export class Engine {
  private readonly scope = new AsyncResource("parallel-agents.engine");
  private readonly schedulers = new Map<string, BatchScheduler>();
  private readonly loops = new Map<string, Promise<void>>();
  /** How many tool calls hold each batch: while held, its end is theirs to report. */
  private readonly holds = new Map<string, number>();
  /** Tool calls waiting for a batch's next change. */
  private readonly wakers = new Map<string, Set<() => void>>();
  private readonly abort = new AbortController();
  private readonly redact: Redactor;
  private pruneTimer: NodeJS.Timeout | undefined;
  /** Runs in flight per provider and model, across every batch and agent. */
  readonly slots: ProviderSlots | undefined;
  /** When the host said a child's run ended (lifecycle event), by session: how late its wait returned. */
  private readonly runEndedAt = new Map<string, number>();
  private readonly housekeeping: Housekeeping | undefined;

  constructor(private readonly deps: EngineDeps) {
    this.redact = deps.redact ?? createRedactor();
    if (deps.housekeeping) this.housekeeping = new Housekeeping(deps.housekeeping, this.abort.signal);
    if (deps.concurrency) this.slots = new ProviderSlots({ ...deps.concurrency, onChange: (c, ids) => this.capChanged(c, ids) });
  }

  /** An agent event from the host (see scheduling/host-events). */
  hostEvent(event: HostAgentEvent): void {
    const ended = endedSession(event);
    if (ended) this.housekeeping?.runEnded(ended);
    if (ended?.includes(":subagent:pa")) this.runEndedAt.set(ended, Date.now());
    if (this.runEndedAt.size > 1000) this.runEndedAt.delete(this.runEndedAt.keys().next().value!);
    const session = rateLimitedSession(event);
    const batchId = session ? this.slots?.throttled(session) : undefined;
    const scheduler = batchId ? this.schedulers.get(batchId) : undefined;
    if (!scheduler || !session) return;
    const reason = "rate limited (429) while its provider was over its concurrency cap: taken back to run when a slot frees";
    // In the service's scope: the host refuses its calls from the event's context.
    this.inScope(async () => scheduler.takeBack(session, reason)).catch((err) => this.log(`taking back ${session} failed: ${String(err)}`));
  }

  get store(): BatchStore {
    return this.deps.store;
  }

  get running(): boolean {
    return !this.abort.signal.aborted;
  }

  /** Resumes every open batch: another process's live attempts end `interrupted` and re-run. */
  async start(): Promise<void> {
    this.prune();
    this.pruneTimer = setInterval(() => this.prune(), PRUNE_EVERY_MS);
    this.pruneTimer.unref?.();
    for (const change of this.slots?.recall(recallCaps(this.deps.store)) ?? []) this.log(capChangeLine(change));
    const ids = this.deps.store.openBatchIds();
    await Promise.all(
      ids.map(async (id) => {
        const batch = this.deps.store.load(id);
        if (!batch) return;
        const scheduler = this.scheduler(batch);
        await this.inScope(() => scheduler.recover()).catch((err) => this.log(`recovering ${id} failed: ${String(err)}`));
        this.drive(scheduler);
      }),
    );
    if (ids.length) this.log(`resumed ${ids.length} open batch${ids.length === 1 ? "" : "es"}`);
  }

  /** Ends the engine's timers and loops; batches stay open in the store and resume at the next start. */
  async stop(): Promise<void> {
    this.abort.abort();
    clearInterval(this.pruneTimer);
    await raceUntil([Promise.allSettled(this.loops.values())], Date.now() + 5_000);
  }

  /** Records a new batch and starts running it. */
  submit(batch: BatchRecord): void {
    batch.owner = this.deps.owner;
    batch.open = true;
    this.deps.store.create(batch);
    this.drive(this.scheduler(batch));
  }

  /**
   * The batch as stored: open batches from memory once their pending changes are stored (when that
   * fails, as last stored: never a change that is not on disk), finished ones from the store.
   */
  get(batchId: string): BatchRecord | undefined {
    const scheduler = this.schedulers.get(batchId);
    try {
      scheduler?.flush();
      if (scheduler) return scheduler.batch;
    } catch {
      // the loop heard of it and restarts; readers see the last stored state meanwhile
    }
    return this.deps.store.load(batchId);
  }

  /**
   * Stops queued and running runs of a batch; returns the labels it stopped. The stops are recorded
   * (durable, final) before this answers; the engine carries them out, and the answer waits a
   * moment at most for that, so a cancel answers within a second even while the host is slow.
   */
  async cancel(batchId: string, labels?: string[]): Promise<string[]> {
    const scheduler = this.schedulers.get(batchId);
    if (!scheduler) return [];
    const t0 = Date.now();
    const stopped = scheduler.cancel(labels);
    scheduler.flush();
    const recordedMs = Date.now() - t0;
    const deadline = t0 + CANCEL_ANSWER_MS;
    const ended = () => scheduler.batch.runs.every((r) => !stopped.includes(r.spec.label) || TERMINAL_STATES.has(r.state));
    // Only a running loop carries stops out; while the batch is still being recovered, answer at once.
    while (this.loops.has(batchId) && !ended() && Date.now() < deadline) await this.nextChange(batchId, deadline);
    this.log(`batch ${batchId}: cancel of ${stopped.length} run(s) recorded in ${recordedMs} ms, answered in ${Date.now() - t0} ms`);
    return stopped;
  }

  /**
   * A tool call holds a batch while it waits on it: a batch that ends while held is reported by
   * that call, so no notice is sent. Release, then read the batch: what it says is then final.
   * Only the requester's own calls hold (`by`, its session key): a wait by anyone else (a sub-agent,
   * another session) reports nothing to the requester, so it must not stand in for its notice.
   */
  hold(batchId: string, by?: string): () => void {
    if (by !== undefined && this.get(batchId)?.requester !== by) return () => undefined;
    this.holds.set(batchId, (this.holds.get(batchId) ?? 0) + 1);
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      const n = (this.holds.get(batchId) ?? 1) - 1;
      if (n > 0) this.holds.set(batchId, n);
      else this.holds.delete(batchId);
    };
  }

  /** Waits until the batch changes, `deadline` passes or `signal` aborts. */
  async nextChange(batchId: string, deadline: number, signal?: AbortSignal): Promise<void> {
    let wake!: () => void;
    const changed = new Promise<void>((resolve) => (wake = resolve));
    const set = this.wakers.get(batchId) ?? new Set();
    this.wakers.set(batchId, set.add(wake));
    try {
      await raceUntil([changed], deadline, signal);
    } finally {
      set.delete(wake);
      if (!set.size) this.wakers.delete(batchId);
    }
  }

  /** A tool call by the requester (`by`) returned the batch complete: it has its results, no notice is due. */
  collected(seen: BatchRecord, by: string = seen.requester): void {
    const batch = this.schedulers.get(seen.batchId)?.batch ?? seen; // the live record, never a stored copy of it
    if (by !== batch.requester || batch.collected || batch.open === undefined) return;
    batch.collected = true;
    if (!batch.runs.some((r) => r.state === "queued" || r.state === "running")) batch.open = false;
    this.saveHeader(batch);
  }

  private scheduler(batch: BatchRecord): BatchScheduler {
    let s = this.schedulers.get(batch.batchId);
    if (!s) this.schedulers.set(batch.batchId, (s = new BatchScheduler(batch, this.schedulerDeps())));
    return s;
  }

  private schedulerDeps() {
    return {
      runtime: this.deps.runtime,
      store: this.deps.store,
      owner: this.deps.owner,
      redact: this.redact,
      random: this.deps.random,
      ungate: this.deps.ungate,
      deadlines: this.deps.deadlines,
      changed: (batch: BatchRecord) => this.changed(batch.batchId),
      slots: this.slots,
      housekeeping: this.housekeeping && (() => this.housekeeping!.settle()),
    };
  }

  private drive(scheduler: BatchScheduler, restarts = 0): void {
    const { batchId } = scheduler.batch;
    if (this.loops.has(batchId) || !this.running) return;
    const loop = this.inScope(() => scheduler.run(this.abort.signal))
      .then(async () => {
        if (!scheduler.complete) return;
        await this.ended(scheduler.batch); // the notice never waits for session housekeeping
        if (scheduler.batch.notifiedAt) this.logNoticeTiming(scheduler);
        this.slots?.withdraw(batchId);
        await scheduler.drained();
      })
      // A store error while ending the batch (its header, the notice's try) restarts it like one in the loop.
      .catch((err: unknown) => this.loopFailed(scheduler, restarts, err))
      .catch((err: unknown) => this.log(`batch ${batchId} stopped on an error: ${err instanceof Error ? err.stack : String(err)}`))
      .finally(() => {
        this.loops.delete(batchId);
        // A loop that failed (say, storing the batch's last changes) runs again before anything else.
        if (this.restartDue.delete(batchId)) this.drive(scheduler, restarts + 1);
        // A finished batch leaves memory once all of it is stored: reads come from the store from now on.
        else if (scheduler.batch.open === false && !scheduler.pendingWrites && this.schedulers.get(batchId) === scheduler) this.schedulers.delete(batchId);
      });
    this.loops.set(batchId, loop);
  }

  private readonly restartDue = new Set<string>();

  /** A batch loop threw (a store error, a render error): restarted a few times, then its batch fails with the reason. */
  private async loopFailed(scheduler: BatchScheduler, restarts: number, err: unknown): Promise<void> {
    const { batchId } = scheduler.batch;
    this.log(`batch ${batchId}: its scheduler stopped on an error (${restarts + 1} of ${MAX_LOOP_RESTARTS + 1}): ${err instanceof Error ? err.stack : String(err)}`);
    if (restarts < MAX_LOOP_RESTARTS) {
      await raceUntil([], Date.now() + (this.deps.deadlines?.loopRestartMs ?? 1_000) * (restarts + 1), this.abort.signal);
      if (this.running) this.restartDue.add(batchId);
      return;
    }
    const reason = this.redact(`the batch's scheduler failed ${restarts + 1} times and gave up: ${errorText(err)}`);
    await this.inScope(() => scheduler.failAll(reason));
    scheduler.flush();
    this.log(`batch ${batchId} failed: ${reason}`);
    await this.ended(scheduler.batch);
  }

  /** A batch ended: its watcher, if any, reports it; otherwise the requester is told once. */
  private async ended(batch: BatchRecord): Promise<void> {
    if (this.holds.has(batch.batchId)) return this.collected(batch);
    if (!batch.open) return;
    if (batch.notify && !batch.collected && !batch.notifiedAt && this.deps.notifier) {
      await this.sendNotice(batch, this.deps.notifier);
      if (!batch.notifiedAt && !batch.notice?.gaveUpAt) return; // the engine stopped first: the next start sends it
    }
    batch.open = false;
    this.saveHeader(batch);
  }

  /**
   * Exactly once: each try is recorded before it is made (bounded, across restarts too), and the
   * notice is marked sent only when the host took it, in the same tick, so a failed send is tried
   * again and a delivered one is never sent twice. The key is the same on every try.
   */
  private async sendNotice(batch: BatchRecord, notifier: Notifier): Promise<void> {
    const target = { agentId: batch.agentId, sessionKey: batch.requester, batchId: batch.batchId, idempotencyKey: noticeKey(batch.batchId) };
    const text = this.redact(noticeText(batch));
    const deadlines = this.deps.deadlines;
    while ((batch.notice?.tries ?? 0) < MAX_NOTICE_TRIES && this.running) {
      const tries = (batch.notice?.tries ?? 0) + 1;
      batch.notice = { ...batch.notice, tries, lastTryAt: Date.now() };
      this.saveHeader(batch);
      try {
        this.housekeeping?.hold(batch.requester); // its woken turn is prepared without session deletes beside it
        const route = await withDeadline(this.inScope(() => notifier.notify(target, text)), deadlines?.noticeMs ?? 10_000, "the completion notice");
        batch.notifiedAt = Date.now();
        batch.notice = { ...batch.notice, route, error: undefined };
        this.log(`batch ${batch.batchId}: completion notice sent to ${batch.requester} (${route})`);
        return;
      } catch (err) {
        batch.notice = { ...batch.notice, error: this.redact(errorText(err)) };
        this.log(`batch ${batch.batchId}: completion notice failed (try ${tries} of ${MAX_NOTICE_TRIES}): ${errorText(err)}`);
        if (tries < MAX_NOTICE_TRIES) await raceUntil([], Date.now() + (deadlines?.noticeRetryMs ?? 2_000) * tries, this.abort.signal);
      }
    }
    if (!this.running) return;
    batch.notice = { ...batch.notice!, gaveUpAt: Date.now() };
    this.log(`batch ${batch.batchId}: gave up on the completion notice after ${MAX_NOTICE_TRIES} tries; poll_until_complete still returns it`);
  }

  /** Where a notice's time went: host lifecycle end, host wait back, our commit, handed over (bench "continue" reads it). */
  private logNoticeTiming(scheduler: BatchScheduler): void {
    const { batch, timing } = scheduler;
    const lifecycleEnd = Math.max(0, ...batch.runs.map((r) => this.runEndedAt.get(r.attempts.at(-1)?.sessionKey ?? "") ?? 0));
    const since = (t: number) => `+${t - timing.waitReturnedAt} ms`;
    this.log(`batch ${batch.batchId} ended: last child's lifecycle end ${iso(lifecycleEnd)}, host wait returned ${iso(timing.waitReturnedAt)}, committed ${since(timing.committedAt)}, notice handed over ${since(Date.now())}`);
  }

  /** A learned provider cap moved: the log says so, and so do the notes of the batches it touches. */
  private capChanged(change: CapChange, batchIds: string[]): void {
    const line = capChangeLine(change);
    this.log(line);
    try {
      rememberCaps(this.deps.store, this.slots!.learnedCaps());
    } catch (err) {
      this.log(`remembering the learned caps failed: ${String(err)}`); // runs inside a slot release: never throw
    }
    for (const id of batchIds) {
      const scheduler = this.schedulers.get(id);
      // Stored with the batch's next write: this runs inside another batch's slot release, which a store error must not break.
      if (scheduler && scheduler.batch.notes.filter((n) => n.startsWith("provider ")).length < 10) scheduler.note(line);
    }
  }

  /** A header change is stored with its batch's pending run changes, in one transaction. */
  private saveHeader(batch: BatchRecord): void {
    const scheduler = this.schedulers.get(batch.batchId);
    if (scheduler?.batch === batch) scheduler.saveHeader();
    else this.deps.store.saveHeader(batch);
  }

  private changed(batchId: string): void {
    for (const wake of this.wakers.get(batchId) ?? []) wake();
  }

  private prune(): void {
    try {
      const removed = this.deps.store.prune(this.deps.retention);
      for (const [id, s] of this.schedulers) if (s.complete && !this.deps.store.load(id)) this.schedulers.delete(id);
      if (removed) this.log(`pruned ${removed} finished batch${removed === 1 ? "" : "es"}`);
    } catch (err) {
      this.log(`pruning failed: ${String(err)}`);
    }
  }

  private inScope<T>(body: () => Promise<T>): Promise<T> {
    return this.scope.runInAsyncScope(body);
  }

  private log(line: string): void {
    this.deps.log?.(`parallel-agents: ${line}`);
  }
}

const iso = (ms: number): string => (ms ? new Date(ms).toISOString() : "-");
