// Budgets that hold: whether a batch may start one more attempt. Attempts in flight count against
// the cap at their estimate until their usage is known; estimates come from the batch's own finished
// attempts once there are any. Until then the estimate is a guess (the prompt plus a typical host
// overhead), so attempts start side by side only while the budget would hold even if each cost
// UNCALIBRATED_MARGIN times its guess; otherwise one attempt runs alone and calibrates the rest.
// With estimates that cover what attempts really use, spent stays under the cap; an attempt larger
// than any seen before can carry it over, by at most that attempt.
import type { Attempt, BatchRecord } from "../batch/types.js";
import type { Usage } from "../runtime/port.js";
import { type Prices, count, fmtUsd, priceUsage, priceOf, totalTokens } from "./prices.js";

/** Rough characters per token for English prose and code; good enough for a pre-spawn estimate. */
export const CHARS_PER_TOKEN = 4;
/**
 * Input tokens every child pays before reading its task: the host wraps the prompt in its own system
 * prompt (agent identity, tool definitions, workspace notes). Without this, short tasks would be
 * estimated at a fraction of their real cost.
 */
export const RUN_OVERHEAD_TOKENS = 3000;
export const DEFAULT_EXPECTED_OUTPUT_TOKENS = 800;
/** How far off an uncalibrated guess may be before parallel starts could overrun the cap. */
export const UNCALIBRATED_MARGIN = 3;

export interface BudgetLimit {
  maxTokens?: number;
  maxCostUsd?: number;
}

export interface Spend {
  tokens: number;
  costUsd: number;
}

export const promptTokens = (promptChars: number): number => Math.ceil(count(promptChars) / CHARS_PER_TOKEN);

/** What finished attempts taught about this batch: the largest host overhead and output seen. */
export interface Calibration {
  overheadTokens: number;
  outputTokens: number;
}

/** From the batch's finished attempts that used tokens; undefined until there is one. */
export function calibrate(batch: Pick<BatchRecord, "runs">): Calibration | undefined {
  let seen: Calibration | undefined;
  for (const run of batch.runs) {
    for (const a of run.attempts) {
      if (a.outcome === undefined || count(a.tokens) === 0) continue;
      const input = totalTokens(a.usage) - count(a.usage.outputTokens);
      const overhead = Math.max(0, input - promptTokens(run.spec.prompt.length));
      seen = { overheadTokens: Math.max(seen?.overheadTokens ?? 0, overhead), outputTokens: Math.max(seen?.outputTokens ?? 0, count(a.usage.outputTokens)) };
    }
  }
  return seen;
}

/** One attempt of a prompt this long, on `model`: calibrated when the batch has finished attempts, else the guess. */
export function estimateAttempt(promptChars: number, model: string | undefined, prices: Prices, calibration?: Calibration): Spend & { usage: Usage } {
  const usage: Usage = {
    inputTokens: promptTokens(promptChars) + (calibration ? calibration.overheadTokens : RUN_OVERHEAD_TOKENS),
    outputTokens: calibration ? calibration.outputTokens : DEFAULT_EXPECTED_OUTPUT_TOKENS,
  };
  const price = priceOf(model, prices);
  return { usage, tokens: totalTokens(usage), costUsd: price ? priceUsage(usage, price) : 0 };
}

export type Admission = { kind: "start" } | { kind: "wait" } | { kind: "refuse"; reason: string };

export interface AdmissionInput {
  limit: BudgetLimit;
  /** What finished attempts used (and what live ones already reported). */
  spent: Spend;
  /** Live attempts at their estimate. */
  inFlight: Spend[];
  candidate: Spend;
  /** The estimates come from finished attempts, not from the guess. */
  calibrated: boolean;
}

/**
 * Start the candidate when the remaining budget covers it and everything in flight; wait while
 * attempts in flight may still settle below their estimate; refuse when nothing is in flight and
 * it still does not fit.
 */
export function admit(input: AdmissionInput): Admission {
  const { limit, spent, inFlight, candidate, calibrated } = input;
  if (limit.maxTokens === undefined && limit.maxCostUsd === undefined) return { kind: "start" };
  const reserved = inFlight.reduce((sum, e) => ({ tokens: sum.tokens + e.tokens, costUsd: sum.costUsd + e.costUsd }), { tokens: 0, costUsd: 0 });
  const fits = (margin: number): boolean =>
    (limit.maxTokens === undefined || spent.tokens + margin * (reserved.tokens + candidate.tokens) <= limit.maxTokens) &&
    (limit.maxCostUsd === undefined || spent.costUsd + margin * (reserved.costUsd + candidate.costUsd) <= limit.maxCostUsd);
  if (fits(calibrated ? 1 : UNCALIBRATED_MARGIN)) return { kind: "start" };
  if (inFlight.length > 0) return { kind: "wait" };
  if (fits(1)) return { kind: "start" }; // alone: the one attempt that calibrates the rest
  return { kind: "refuse", reason: notStarted(limit, spent, candidate) };
}

function notStarted(limit: BudgetLimit, spent: Spend, candidate: Spend): string {
  const n = (v: number) => Math.round(v).toLocaleString("en-US");
  if (limit.maxTokens !== undefined && spent.tokens + candidate.tokens > limit.maxTokens) {
    const left = Math.max(0, limit.maxTokens - spent.tokens);
    return `not started: budget maxTokens ${n(limit.maxTokens)} has ${n(left)} tokens left (${n(spent.tokens)} used) and this attempt is estimated at ${n(candidate.tokens)}`;
  }
  const max = limit.maxCostUsd ?? 0;
  return `not started: budget maxCostUsd ${fmtUsd(max)} has ${fmtUsd(Math.max(0, max - spent.costUsd))} left (${fmtUsd(spent.costUsd)} spent) and this attempt is estimated at ${fmtUsd(candidate.costUsd)}`;
}

/** The admission of run `i`'s next attempt on `model`, read off the batch record. */
export function admitNext(batch: Pick<BatchRecord, "runs" | "options">, i: number, model: string | undefined): Admission {
  const { budget, prices } = batch.options;
  if (budget.maxTokens === undefined && budget.maxCostUsd === undefined) return { kind: "start" };
  const calibration = calibrate(batch);
  const spent: Spend = { tokens: 0, costUsd: 0 };
  const inFlight: Spend[] = [];
  for (const run of batch.runs) {
    for (const a of run.attempts) {
      spent.tokens += count(a.tokens);
      spent.costUsd += count(a.costUsd);
      // A live attempt counts at a whole estimate: what it reported so far (a corrective follow-up's
      // first reply) is spent, and the follow-up still to come costs about an attempt again.
      if (isLive(a)) inFlight.push(estimateAttempt(run.spec.prompt.length, a.modelUsed ?? a.model ?? batch.options.defaultModel, prices, calibration));
    }
  }
  const candidate = estimateAttempt(batch.runs[i].spec.prompt.length, model ?? batch.options.defaultModel, prices, calibration);
  return admit({ limit: budget, spent, inFlight, candidate, calibrated: calibration !== undefined });
}

const isLive = (a: Attempt): boolean => a.outcome === undefined;
