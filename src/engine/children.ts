// The engine's hands on child sessions: starting, waiting on, reading, stopping and releasing
// children. Every host call here has a deadline (a host that never answers cannot hold a batch),
// reads and stops never throw, and housekeeping runs beside the batch without holding anyone up.
import { raceUntil, withDeadline, HostDeadlineError } from "../batch/race.js";
import type { ChildRuntime, StartRequest, StartedRun, Transcript, WaitResult } from "../runtime/port.js";

/** What one bounded wait on a child saw, with its transcript when the child ended. */
export type Ended = { runId: string; result: WaitResult; transcript?: Transcript };

/** How long each kind of host call may take before the engine stops waiting for it. */
export interface HostDeadlines {
  /** A start (and a corrective follow-up) the host has not admitted by then fails as a provider error. */
  startMs: number;
  /** Beyond the wait's own timeout: a long-poll that overstays it counts as "still running". */
  waitGraceMs: number;
  /** A transcript read (a stopped or interrupted attempt's tokens count). */
  readMs: number;
  /** A session delete, the host's only stop. */
  stopMs: number;
  /** How long we wait for the host to confirm that a stopped child has ended. */
  confirmMs: number;
}

export const DEFAULT_HOST_DEADLINES: HostDeadlines = { startMs: 60_000, waitGraceMs: 10_000, readMs: 5_000, stopMs: 10_000, confirmMs: 5_000 };

export class ChildSessions {
  /** Starts and stops issued beside the loop (they write to the batch). */
  private readonly background = new Set<Promise<unknown>>();
  /** Session deletes of finished attempts (they write nothing). */
  private readonly releases = new Set<Promise<unknown>>();
  private readonly deadlines: HostDeadlines;

  constructor(private readonly runtime: ChildRuntime, deadlines: Partial<HostDeadlines> = {}) {
    this.deadlines = { ...DEFAULT_HOST_DEADLINES, ...deadlines };
  }

  start(req: StartRequest): Promise<StartedRun> {
    return withDeadline(this.runtime.start(req), this.deadlines.startMs, `the start of ${req.sessionKey}`);
  }

  /** One bounded host wait; a child that ended has its transcript read at once, beside the other waits. */
  async waitEnded(runId: string, sessionKey: string, timeoutMs: number): Promise<Ended> {
    const result = await withDeadline(this.runtime.wait(runId, timeoutMs), timeoutMs + this.deadlines.waitGraceMs, "a wait").catch(
      (err: unknown): WaitResult => (err instanceof HostDeadlineError ? { state: "pending" } : { state: "error", error: err instanceof Error ? err.message : String(err) }),
    );
    return { runId, result, transcript: result.state === "pending" ? undefined : await this.read(sessionKey) };
  }

  /** The child's transcript, or undefined when the host cannot say in time. */
  read(sessionKey: string): Promise<Transcript | undefined> {
    return withDeadline(this.runtime.read(sessionKey), this.deadlines.readMs, "a transcript read").catch(() => undefined);
  }

  /** Stops a live child (deleting its session is the host's only stop) and waits, bounded, until its run ended. */
  async stopAndConfirm(sessionKey: string, runId: string | undefined): Promise<boolean> {
    await this.stop(sessionKey);
    if (!runId) return true;
    const seen = await raceUntil([this.runtime.wait(runId, this.deadlines.confirmMs).catch(() => undefined)], Date.now() + this.deadlines.confirmMs + this.deadlines.waitGraceMs);
    return seen !== undefined && seen.state !== "pending";
  }

  /**
   * Deletes a finished attempt's session once `after` resolves (its end is stored); never when
   * `after` rejects: the transcript stays for whoever recovers the attempt. Await it only where the
   * next attempt must not overlap.
   */
  release(sessionKey: string, after: Promise<void> = Promise.resolve()): Promise<void> {
    return tracked(this.releases, after.then(() => this.stop(sessionKey), () => undefined));
  }

  /** Tracks work that goes on beside the batch (a start or stop in flight) so `settled` covers it. */
  beside<T>(work: Promise<T>): Promise<T> {
    return tracked(this.background, work);
  }

  /** Resolves when every start and stop issued beside the batch so far has finished. */
  settled(): Promise<void> {
    return Promise.allSettled(this.background).then(() => undefined);
  }

  /** Resolves when everything issued so far, session deletes included, has finished. */
  drained(): Promise<void> {
    return Promise.allSettled([...this.background, ...this.releases]).then(() => undefined);
  }

  private stop(sessionKey: string): Promise<void> {
    return withDeadline(this.runtime.stop(sessionKey), this.deadlines.stopMs, "a session delete").catch(() => undefined);
  }
}

function tracked<T>(set: Set<Promise<unknown>>, work: Promise<T>): Promise<T> {
  set.add(work);
  void work.finally(() => set.delete(work)).catch(() => undefined);
  return work;
}
