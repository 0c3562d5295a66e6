// The engine's hands on child sessions: reading a transcript (bounded, never throwing), stopping a
// child and confirming it ended, and releasing finished sessions without holding anyone up.
import { raceUntil } from "../batch/race.js";
import type { ChildRuntime, Transcript, WaitResult } from "../runtime/port.js";

/** What one bounded wait on a child saw, with its transcript when the child ended. */
export type Ended = { runId: string; result: WaitResult; transcript?: Transcript };

/** How long we wait for the host to confirm that a stopped child has ended. */
const STOP_CONFIRM_MS = 5_000;
/** How long a stopped or interrupted attempt's transcript read may take (its tokens count). */
const READ_BOUND_MS = 5_000;

export class ChildSessions {
  private readonly releases = new Set<Promise<void>>();

  constructor(private readonly runtime: ChildRuntime) {}

  /** One bounded host wait; a child that ended has its transcript read at once, beside the other waits. */
  async waitEnded(runId: string, sessionKey: string, timeoutMs: number): Promise<Ended> {
    const result = await this.runtime.wait(runId, timeoutMs).catch((err: unknown): WaitResult => ({ state: "error", error: err instanceof Error ? err.message : String(err) }));
    return { runId, result, transcript: result.state === "pending" ? undefined : await this.read(sessionKey) };
  }

  read(sessionKey: string): Promise<Transcript | undefined> {
    return this.runtime.read(sessionKey).catch(() => undefined);
  }

  readBounded(sessionKey: string): Promise<Transcript | undefined> {
    return raceUntil([this.read(sessionKey)], Date.now() + READ_BOUND_MS);
  }

  /** Stops a live child (deleting its session is the host's only stop) and waits, bounded, until its run ended. */
  async stopAndConfirm(sessionKey: string, runId: string | undefined): Promise<boolean> {
    await this.runtime.stop(sessionKey).catch(() => undefined);
    if (!runId) return true;
    const seen = await this.runtime.wait(runId, STOP_CONFIRM_MS).catch(() => undefined);
    return seen !== undefined && seen.state !== "pending";
  }

  /** Deletes a finished attempt's session; await it only where the next attempt must not overlap. */
  release(sessionKey: string): Promise<void> {
    const done: Promise<void> = this.runtime.stop(sessionKey).catch(() => undefined);
    this.releases.add(done);
    void done.finally(() => this.releases.delete(done));
    return done;
  }

  /** Resolves when every release issued so far has finished. */
  drained(): Promise<void> {
    return Promise.all(this.releases).then(() => undefined);
  }
}
