// Gateway-wide run slots, one limiter per engine, consulted by every batch before it starts an
// attempt and released when the attempt ends. A run needs room under three caps at once: the host's
// sub-agent limit (all runs), its provider's cap (configured `providerConcurrency["<provider>"]`,
// lowered while that provider rate-limits: see LearnedCap) and its model's configured cap
// (`providerConcurrency["<provider>/<model>"]`). A batch's own maxConcurrency is checked by the batch.
//
// Fairness: a free slot goes to the agent with the fewest runs in flight, then the batch with the
// fewest, then whoever has waited longest, so an agent with 2 tasks never queues behind another
// agent's 24. Batches that were refused wait here (with a wake callback) until a slot frees.
//
// A run the provider throttles while its provider is over the (just lowered) cap is taken back: the
// host would only keep retrying it into the same limit, so it ends `rate_limit` and queues for a slot.
import { type CapChange, LearnedCap } from "./learned-cap.js";
import type { RememberedCap } from "./remembered-caps.js";

export type { CapChange } from "./learned-cap.js";

export interface SlotParty {
  agentId: string;
  batchId: string;
}

/** How an attempt holding a slot ended, as far as the provider's cap is concerned. */
export type SlotOutcome = "ok" | "rate_limit" | "other";

export interface ProviderSlotsOptions {
  /** `providerConcurrency`: caps by "<provider>" or "<provider>/<model>". */
  caps?: Record<string, number>;
  /** The host's sub-agent limit (agents.defaults.subagents.maxConcurrent): never hand it more. */
  hostMax: number;
  /** The model runs without a pinned model use (the agent's default), for their provider's cap. */
  defaultModel?: string;
  /** Told whenever a learned cap changes (logs, batch notes). */
  onChange?: (change: CapChange, batchIds: string[]) => void;
  now?: () => number;
  /** A waiting batch that has not asked again for this long no longer holds others back. */
  waiterTtlMs?: number;
}

interface Lease {
  party: SlotParty;
  provider: string;
  model: string;
  startedAt: number;
  throttled: boolean;
  /** Over the cap while throttled: being stopped, to run again when a slot frees. */
  takenBack: boolean;
}

interface Waiter {
  party: SlotParty;
  models: Set<string>;
  since: number;
  seen: number;
  wake: () => void;
}

const ALL = "*";

export class ProviderSlots {
  private readonly leases = new Map<string, Lease>();
  private readonly inFlight = new Map<string, number>(); // by "*", provider, provider/model, agent:, batch:
  private readonly learned = new Map<string, LearnedCap>();
  private readonly waiters = new Map<string, Waiter>();
  private readonly changes: CapChange[] = [];
  private readonly now: () => number;
  private readonly ttl: number;

  constructor(private readonly opts: ProviderSlotsOptions) {
    this.now = opts.now ?? Date.now;
    this.ttl = opts.waiterTtlMs ?? 5_000;
  }

  /** A batch starts a round of admissions: what it wanted before is forgotten (it asks again). */
  beginAdmit(party: SlotParty): void {
    this.waiters.get(party.batchId)?.models.clear();
  }

  /** Takes a slot for attempt `id` of `model`, or records the batch as waiting and returns false. */
  take(party: SlotParty, model: string | undefined, id: string, wake: () => void): boolean {
    const m = this.modelOf(model);
    if (this.leases.has(id)) return true;
    const ahead = this.room(m) ? this.betterWaiter(party) : undefined;
    if (!this.room(m) || ahead) {
      this.wait(party, m, wake);
      if (ahead) this.nudge(ahead);
      return false;
    }
    const provider = providerOf(m);
    this.leases.set(id, { party, provider, model: m, startedAt: this.now(), throttled: false, takenBack: false });
    for (const k of this.keysOf(party, m)) this.inFlight.set(k, (this.inFlight.get(k) ?? 0) + 1);
    this.waiters.get(party.batchId)?.models.delete(m);
    this.pump();
    return true;
  }

  /** The attempt holding slot `id` ended; a rate limit lowers its provider's cap, a success may raise it. */
  release(id: string, outcome: SlotOutcome): void {
    const lease = this.leases.get(id);
    if (!lease) return;
    if (outcome === "rate_limit") this.throttle(lease);
    this.leases.delete(id);
    for (const k of this.keysOf(lease.party, lease.model)) this.inFlight.set(k, (this.inFlight.get(k) ?? 1) - 1);
    if (outcome === "ok" && !lease.throttled) this.report(this.learnedFor(lease.provider).succeeded(lease.startedAt, this.now()), [lease.party.batchId]);
    this.pump();
  }

  /**
   * The host reported that the run in session `id` was rate limited and is retrying it itself.
   * Returns the batch to take it back from when its provider is over its cap (undefined: let it be).
   */
  throttled(id: string): string | undefined {
    const lease = this.leases.get(id);
    if (!lease || lease.takenBack) return undefined;
    this.throttle(lease);
    const holding = [...this.leases.values()].filter((l) => l.provider === lease.provider && !l.takenBack).length;
    if (holding <= this.capOf(lease.provider)) return undefined;
    lease.takenBack = true;
    return lease.party.batchId;
  }

  /** Starts from caps learned before a restart; returns the changes that made (for the log and doctor). */
  recall(caps: Record<string, RememberedCap>): CapChange[] {
    const changes = Object.entries(caps).flatMap(([provider, r]) => this.learnedFor(provider).remembered(r.cap, r.at, this.now()) ?? []);
    this.changes.push(...changes);
    return changes;
  }

  /** The learned caps below their bound, to remember across a restart. */
  learnedCaps(): Record<string, RememberedCap> {
    const below = [...this.learned.values()].filter((l) => l.cap < l.bound);
    return Object.fromEntries(below.map((l) => [l.provider, { cap: l.cap, at: l.changedAt }]));
  }

  /** The batch ended: it waits for nothing any more. */
  withdraw(batchId: string): void {
    this.waiters.delete(batchId);
  }

  /** Caps, runs in flight and the recent cap changes, for doctor. */
  snapshot(): SlotsSnapshot {
    const providers = new Set([...this.learned.keys(), ...Object.keys(this.opts.caps ?? {}).map(providerOf)]);
    return {
      hostMax: this.opts.hostMax,
      inFlight: this.inFlight.get(ALL) ?? 0,
      configured: { ...this.opts.caps },
      providers: [...providers].map((p) => ({ provider: p, cap: this.capOf(p), bound: this.learnedFor(p).bound, inFlight: this.inFlight.get(p) ?? 0 })),
      changes: this.changes.slice(-20),
    };
  }

  /** The cap a provider runs under now. */
  capOf(provider: string): number {
    return this.learnedFor(provider).cap;
  }

  private throttle(lease: Lease): void {
    if (lease.throttled) return;
    lease.throttled = true;
    const on = [...this.leases.values()].filter((l) => l.provider === lease.provider);
    const through = on.filter((l) => !l.throttled).length;
    const change = this.learnedFor(lease.provider).rateLimited(through, on.length, this.now());
    this.report(change, [...new Set([lease.party.batchId, ...this.batchesOn(lease.provider)])]);
  }

  private report(change: CapChange | undefined, batchIds: string[]): void {
    if (!change) return;
    this.changes.push(change);
    if (this.changes.length > 100) this.changes.shift();
    this.opts.onChange?.(change, batchIds);
  }

  private room(model: string): boolean {
    const configured = this.opts.caps?.[model];
    return (
      (this.inFlight.get(ALL) ?? 0) < this.opts.hostMax &&
      (this.inFlight.get(providerOf(model)) ?? 0) < this.capOf(providerOf(model)) &&
      (configured === undefined || (this.inFlight.get(model) ?? 0) < configured)
    );
  }

  /** A waiting batch, fresher than the TTL, that could start now and ranks before `party`. */
  private betterWaiter(party: SlotParty): Waiter | undefined {
    const mine = this.rank(party, this.waiters.get(party.batchId)?.since ?? this.now());
    let best: Waiter | undefined;
    for (const w of this.waiters.values()) {
      if (w.party.batchId === party.batchId || this.now() - w.seen > this.ttl) continue;
      if (![...w.models].some((m) => this.room(m))) continue;
      const r = this.rank(w.party, w.since);
      if (before(r, mine) && (!best || before(r, this.rank(best.party, best.since)))) best = w;
    }
    return best;
  }

  private rank(p: SlotParty, since: number): number[] {
    return [this.inFlight.get(`agent:${p.agentId}`) ?? 0, this.inFlight.get(`batch:${p.batchId}`) ?? 0, since];
  }

  private wait(party: SlotParty, model: string, wake: () => void): void {
    const w = this.waiters.get(party.batchId) ?? { party, models: new Set<string>(), since: this.now(), seen: 0, wake };
    w.models.add(model);
    w.seen = this.now();
    w.wake = wake;
    this.waiters.set(party.batchId, w);
  }

  /** Wakes the batch ahead, and the one held back once that batch's claim would have gone stale. */
  private nudge(ahead: Waiter): void {
    ahead.wake();
    const timer = setTimeout(() => this.pump(), this.ttl + 50);
    timer.unref?.();
  }

  /** Wakes every waiting batch that has room for something it wants. */
  private pump(): void {
    for (const w of this.waiters.values()) if ([...w.models].some((m) => this.room(m))) w.wake();
  }

  private batchesOn(provider: string): string[] {
    return [...this.leases.values()].filter((l) => l.provider === provider).map((l) => l.party.batchId);
  }

  private learnedFor(provider: string): LearnedCap {
    let l = this.learned.get(provider);
    if (!l) this.learned.set(provider, (l = new LearnedCap(provider, Math.min(this.opts.caps?.[provider] ?? Infinity, this.opts.hostMax))));
    return l;
  }

  private keysOf(party: SlotParty, model: string): string[] {
    return [...new Set([ALL, providerOf(model), model, `agent:${party.agentId}`, `batch:${party.batchId}`])];
  }

  private modelOf(model: string | undefined): string {
    return model ?? this.opts.defaultModel ?? "default";
  }
}

export interface SlotsSnapshot {
  hostMax: number;
  inFlight: number;
  configured: Record<string, number>;
  providers: { provider: string; cap: number; bound: number; inFlight: number }[];
  changes: CapChange[];
}

export function providerOf(model: string): string {
  const slash = model.indexOf("/");
  return slash > 0 ? model.slice(0, slash) : model;
}

function before(a: number[], b: number[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] < b[i];
  return false;
}
