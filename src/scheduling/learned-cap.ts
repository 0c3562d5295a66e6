// A provider's learned concurrency cap (AIMD): a rate limit cuts the cap to the number of runs that
// were getting through (those in flight that the provider was not throttling), at least 1; successes
// raise it one step per cap's worth of them, never past the bound (the configured cap or the host's
// limit). Only runs started after the last cut earn credit: the ones before ran under the old cap.
// Pure state, no I/O.

export interface CapChange {
  provider: string;
  from: number;
  to: number;
  why: string;
  at: number;
}

export class LearnedCap {
  cap: number;
  /** When the cap last moved (what a restart remembers it by). */
  changedAt = 0;
  private lastDecreaseAt = -Infinity;
  private successes = 0;

  constructor(readonly provider: string, readonly bound: number) {
    this.cap = bound;
  }

  /** A run was rate limited while `inFlight` runs of this provider were out, `through` of them not throttled. */
  rateLimited(through: number, inFlight: number, now: number): CapChange | undefined {
    this.successes = 0;
    const to = Math.max(1, Math.min(this.cap - 1, through));
    if (to >= this.cap) return undefined; // already at 1
    this.lastDecreaseAt = now;
    return this.change(to, `rate limited (429) with ${inFlight} in flight, ${through} getting through`, now);
  }

  /** A run of this provider that started at `startedAt` ended without a rate limit. */
  succeeded(startedAt: number, now: number): CapChange | undefined {
    if (startedAt < this.lastDecreaseAt || this.cap >= this.bound) return undefined;
    if (++this.successes < this.cap) return undefined;
    this.successes = 0;
    return this.change(this.cap + 1, `${this.cap} runs in a row without a rate limit`, now);
  }

  /** Starts from a cap learned before the gateway restarted (within the bound, at least 1). */
  remembered(cap: number, learnedAt: number, now: number): CapChange | undefined {
    const to = Math.max(1, Math.min(this.bound, cap));
    if (to === this.cap) return undefined;
    const change = this.change(to, `remembered from before the restart, learned ${new Date(learnedAt).toISOString()}`, now);
    this.changedAt = learnedAt; // restarts do not renew it: the day it is remembered for counts from its learning
    return change;
  }

  private change(to: number, why: string, at: number): CapChange {
    const c = { provider: this.provider, from: this.cap, to, why, at };
    this.cap = to;
    this.changedAt = at;
    return c;
  }
}
