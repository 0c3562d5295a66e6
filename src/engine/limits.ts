// The batch's limits as questions the loop asks each turn: which runs are past their timeout (live,
// or waiting for another try), and is the budget spent. Pure: the loop records the stops.
import { BudgetGuard } from "../batch/cost.js";
import { refusedReason } from "../batch/policy.js";
import { type BatchRecord, type RunRecord, batchTotals } from "../batch/types.js";

/** When a run's time is up: its timeout counts from its first start, across retries and refusals. */
export function runDeadline(run: RunRecord, now: number): number {
  return (run.firstStartedAt ?? now) + run.spec.timeoutSeconds * 1000;
}

/** Runs among `candidates` past their deadline and not stopped yet, with the reason each is stopped. */
export function lateRuns(runs: RunRecord[], candidates: Iterable<number>, now: number): [number, string][] {
  const late: [number, string][] = [];
  for (const i of candidates) {
    const run = runs[i];
    if (run.stop || run.firstStartedAt === undefined || now < runDeadline(run, now)) continue;
    // Still waiting for a host that refused it: say so, since that is what the operator can act on.
    const waitingForHost = run.refusals && run.state === "queued";
    late.push([i, waitingForHost ? refusedReason(run.refusals!, run.spec.timeoutSeconds) : `no result within ${run.spec.timeoutSeconds}s`]);
  }
  return late;
}

/** Why the batch's budget is spent, or undefined while it is not (or it has none). */
export function budgetSpent(batch: BatchRecord): string | undefined {
  const { budget } = batch.options;
  if (budget.maxTokens === undefined && budget.maxCostUsd === undefined) return undefined;
  const spent = new BudgetGuard(budget);
  const { tokens, costUsd } = batchTotals(batch);
  spent.record({ inputTokens: tokens, outputTokens: 0 }, costUsd);
  return spent.exceeded() ?? undefined;
}
