// Retry and escalation policy: what happens after an attempt ends, decided by its failure class.
// Pure functions of the run's history, so the same decision replays identically from the ledger.
import { nextRung } from "../models/ladder.js";
import type { AttemptOutcome, BatchOptions, RunRecord } from "./types.js";

export type Decision =
  | { kind: "succeed" }
  | { kind: "retry"; model: string | undefined; delayMs: number; escalated: boolean }
  | { kind: "fail"; state: "failed" | "timed_out" | "cancelled"; error: string };

/** Same-model tries a failing model gets before we climb the ladder. */
const TRIES_PER_MODEL_BEFORE_ESCALATION = 2;
/** Gateway restarts an attempt may live through before its run fails (they consume no retries). */
export const MAX_INTERRUPTIONS = 10;
/** Rate limits a run may meet before it fails (they consume no retries either: the provider's doing, not the task's). */
export const MAX_RATE_LIMITS = 8;

/** The host could not take the run yet (a gateway still starting, or going down): not the task's fault. */
const HOST_NOT_READY = /unavailable during gateway startup|gateway is (?:starting|draining|shutting down)|runtime is no longer active/i;
export const isHostNotReady = (message: string): boolean => HOST_NOT_READY.test(message);

/** Starts the host may refuse "for now" before the run fails (its own timeout bounds them too). */
export const MAX_HOST_REFUSALS = 20;

/** The pause before asking a host that refused again: 1 s, growing to 10 s. */
export const refusalDelayMs = (refusals: number): number => Math.min(1000 * 2 ** Math.max(0, refusals - 1), 10_000);

/** After the host refused a run's start for the `count`th time: when to ask again, or give up (bounded by count and the run's deadline). */
export function afterRefusal(count: number, now: number, deadline: number): { retryAt: number } | { giveUp: true } {
  const retryAt = now + refusalDelayMs(count);
  return count >= MAX_HOST_REFUSALS || retryAt >= deadline ? { giveUp: true } : { retryAt };
}

/** Why a run the host kept refusing failed, in words that tell the operator what to do. */
export function refusedReason(refusals: { count: number; last: string }, seconds: number): string {
  return (
    `the gateway refused to start this run ${refusals.count} time${refusals.count === 1 ? "" : "s"} over ${seconds}s (last: ${refusals.last}). ` +
    "It was starting, draining or shutting down the plugin's runtime: check `openclaw gateway status` and the gateway log, " +
    "restart the gateway if it stays that way (`openclaw gateway restart`), then run these labels again"
  );
}

export function classifyHostError(message: string): AttemptOutcome {
  if (HOST_NOT_READY.test(message)) return "interrupted";
  return /\b429\b|rate.?limit|too many requests|quota|overloaded/i.test(message) ? "rate_limit" : "provider_error";
}

/** The model of the first attempt: the caller's pin, else the role's starting rung. */
export function firstModel(run: RunRecord, options: BatchOptions): string | undefined {
  if (!options.modelOverride) return undefined;
  if (run.spec.model) return run.spec.model;
  const { ladder } = options;
  return ladder.length ? ladder[Math.min(run.spec.tier, ladder.length - 1)] : undefined;
}

/** The model to escalate to: the next stronger rung, never a lower one; from a pin off the ladder, the strongest. */
export const strongerModel = (current: string | undefined, ladder: string[]): string | undefined => nextRung(current, ladder);

export function backoffMs(outcome: AttemptOutcome, retryNumber: number, random: () => number = Math.random): number {
  if (outcome === "interrupted") return 0;
  const base = outcome === "rate_limit" ? 2000 : 500;
  const raw = Math.min(base * 2 ** Math.max(0, retryNumber - 1), 15_000);
  return Math.round(raw * (0.5 + random())); // jitter: spread retries of many runs apart
}

const FINAL: Partial<Record<AttemptOutcome, "timed_out" | "cancelled" | "failed">> = {
  timeout: "timed_out",
  cancelled: "cancelled",
  budget: "failed",
};

/** Decides what follows the last attempt of `run`, which ended with `outcome`. */
export function decide(run: RunRecord, outcome: AttemptOutcome, options: BatchOptions, random?: () => number): Decision {
  const last = run.attempts[run.attempts.length - 1];
  const reason = last?.reason ?? outcome;
  if (outcome === "ok") return { kind: "succeed" };
  const finalState = FINAL[outcome];
  if (finalState) return { kind: "fail", state: finalState, error: reason };
  const current = last?.model;
  // An interruption is the gateway's doing, not the task's: the same model again, at once.
  const interruptions = run.attempts.filter((a) => a.outcome === "interrupted").length;
  if (outcome === "interrupted") {
    if (interruptions > MAX_INTERRUPTIONS) return { kind: "fail", state: "failed", error: `${reason} (interrupted ${interruptions} times)` };
    // A child cut off by a restart re-runs at once; a host not ready yet gets a growing pause.
    const delayMs = HOST_NOT_READY.test(reason) ? Math.min(1000 * 2 ** (interruptions - 1), 15_000) : 0;
    return { kind: "retry", model: current, delayMs, escalated: false };
  }
  // A rate limit is the provider's pacing: the same model again after a growing pause, never a climb.
  const rateLimits = run.attempts.filter((a) => a.outcome === "rate_limit").length;
  if (outcome === "rate_limit") {
    if (rateLimits > MAX_RATE_LIMITS) return { kind: "fail", state: "failed", error: `${reason} (rate limited ${rateLimits} times)` };
    return { kind: "retry", model: current, delayMs: backoffMs(outcome, rateLimits, random), escalated: false };
  }
  const tries = run.attempts.length - interruptions - rateLimits;
  if (tries > options.retries) {
    return { kind: "fail", state: "failed", error: `${reason} (after ${tries} attempt${tries > 1 ? "s" : ""})` };
  }
  const sameModelTries = run.attempts.filter((a) => a.model === current && a.outcome !== "interrupted").length;
  const wantsStronger =
    outcome === "empty_output" ||
    outcome === "invalid_json" ||
    outcome === "schema_violation" ||
    (outcome === "provider_error" && sameModelTries >= TRIES_PER_MODEL_BEFORE_ESCALATION);
  const canEscalate = options.escalate && options.modelOverride;
  const stronger = wantsStronger && canEscalate ? strongerModel(current, options.ladder) : undefined;
  const delayMs = backoffMs(outcome, run.attempts.length, random);
  if (stronger) return { kind: "retry", model: stronger, delayMs, escalated: true };
  return { kind: "retry", model: current, delayMs, escalated: false };
}
