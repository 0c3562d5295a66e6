// How an attempt's end is written down: what it used and cost (its transcript, when read, is the
// truth), and the run's next state as the policy decided, with the output cut at the stored cap.
import { attemptCost as priceAttempt } from "../pricing/index.js";
import type { Decision } from "../batch/policy.js";
import type { Redactor } from "../batch/redact.js";
import type { Attempt, AttemptOutcome, BatchOptions } from "../batch/types.js";
import type { Transcript, Usage } from "../runtime/port.js";
import { capOutput } from "./output-cap.js";
import type { EndedAttempt, NextState } from "./transitions.js";

/** What an attempt cost: its usage at its model's price, else the host's own figure; 0 when unknown (listed as unpriced in the result). */
export const attemptCost = (usage: Usage, attempt: Attempt, prices: BatchOptions["prices"], transcript?: Transcript): number =>
  priceAttempt(usage, transcript?.modelUsed ?? attempt.modelUsed ?? attempt.model, prices, transcript?.hostCostUsd) ?? 0;

export function endedAttempt(attempt: Attempt, outcome: AttemptOutcome, reason: string | undefined, transcript: Transcript | undefined, at: { now: number; redact: Redactor; prices: BatchOptions["prices"] }): EndedAttempt {
  const usage = transcript?.usage ?? attempt.usage;
  return {
    outcome, reason: reason === undefined ? undefined : at.redact(reason), endedAt: at.now, usage,
    modelUsed: transcript?.modelUsed ?? attempt.modelUsed, costUsd: attemptCost(usage, attempt, at.prices, transcript),
  };
}

/** The run's next state after `decision`; `cutFrom` is the output's full size in bytes when it was cut. */
export function nextState(decision: Decision, kept: { output?: string; json?: unknown }, now: number): { next: NextState; nextModel?: string; cutFrom?: number } {
  if (decision.kind === "retry") return { next: { state: "queued", notBefore: now + decision.delayMs }, nextModel: decision.model };
  const capped: { output?: string; cutFrom?: number } = kept.output === undefined ? {} : capOutput(kept.output);
  // A JSON value came from the whole output: it is not kept beside a cut one.
  const json = capped.cutFrom === undefined ? kept.json : undefined;
  if (decision.kind === "succeed") return { next: { state: "ok", output: capped.output, json }, cutFrom: capped.cutFrom };
  return { next: { state: decision.state, error: decision.error, output: capped.output }, cutFrom: capped.cutFrom };
}
