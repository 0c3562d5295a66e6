// When a finished child's session is deleted. A delete is heavy host work (the session store, the
// transcript, session_end hooks), and a batch's last children end together, just as the requester's
// next turn is being prepared. Measured in the real gateway (trace log, 5 children): the woken
// turn's preparation took 1.6-2.0 s while those deletes ran and 0.2-0.6 s without them. So a delete
// waits a moment after its child ended, and none starts while a requester woken by a completion
// notice has that turn ahead of it (until its run ends, or a bound). Deletes that must not wait (a
// retry needs the old session gone, a stop) do not come through here; nor does anything once the
// engine stops.

export interface HousekeepingOptions {
  /** How long after its child ended a finished session is deleted, at the soonest. */
  delayMs: number;
  /** The longest a notified requester's turn holds deletes back. */
  holdMs: number;
}

export class Housekeeping {
  /** Requesters whose woken turn is ahead, with the timer that ends their hold regardless. */
  private readonly holds = new Map<string, NodeJS.Timeout>();
  private waiting: (() => void)[] = [];
  /** Deletes in their delay, by the timer that ends it: the engine stopping ends them all at once. */
  private readonly delayed = new Map<NodeJS.Timeout, () => void>();

  constructor(private readonly opts: HousekeepingOptions, private readonly signal: AbortSignal) {
    signal.addEventListener("abort", () => {
      for (const [timer, resolve] of this.delayed) (clearTimeout(timer), resolve());
      this.delayed.clear();
      for (const key of [...this.holds.keys()]) this.unhold(key);
    });
  }

  /** Resolves when a finished child's session may be deleted (at once when the engine stops). */
  async settle(): Promise<void> {
    if (this.signal.aborted) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => (this.delayed.delete(timer), resolve()), this.opts.delayMs);
      this.delayed.set(timer, resolve);
    });
    while (this.holds.size && !this.signal.aborted) await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  /** A notice is waking `requester`: deletes wait until its run ends, or holdMs at most. */
  hold(requester: string): void {
    clearTimeout(this.holds.get(requester));
    const timer = setTimeout(() => this.unhold(requester), this.opts.holdMs);
    timer.unref?.();
    this.holds.set(requester, timer);
  }

  /** A run in `sessionKey` ended (the host's lifecycle event). */
  runEnded(sessionKey: string): void {
    if (this.holds.has(sessionKey)) this.unhold(sessionKey);
  }

  private unhold(requester: string): void {
    clearTimeout(this.holds.get(requester));
    this.holds.delete(requester);
    if (this.holds.size) return;
    const waiting = this.waiting;
    this.waiting = [];
    for (const wake of waiting) wake();
  }
}
