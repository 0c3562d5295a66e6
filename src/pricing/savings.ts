// What the ladder saved: a batch's tokens and cost beside the same tokens priced at the strongest
// usable rung of its ladder ("all on the strong model"). Computed from the stored attempts, so the
// figure is the same in every tool result, the CLI and the notice, and survives restarts.
import type { Attempt, BatchRecord } from "../batch/types.js";
import { type Prices, count, fmtUsd, priceOf, priceUsage, roundUsd } from "./prices.js";

export interface BatchUsage {
  tokens: number;
  costUsd: number;
  /** The strongest usable rung; absent when the batch ran without a ladder (the agent's default model). */
  baselineModel?: string;
  /** Every attempt's tokens priced at `baselineModel`; absent when that model has no price. */
  baselineCostUsd?: number;
  /** baselineCostUsd - costUsd: negative when the ladder cost more than running everything on the baseline. */
  savedUsd?: number;
  /** Models that consumed tokens but have a price nowhere: their tokens are in `tokens`, not in `costUsd`. */
  unpriced?: string[];
}

/** The model an attempt was billed as: who answered, else whom we asked. */
export const billedModel = (a: Attempt): string | undefined => a.modelUsed ?? a.model;

/** The strongest rung a batch could have run everything on, or undefined without a ladder. */
export function baselineModelOf(batch: Pick<BatchRecord, "options">): string | undefined {
  const { ladder, modelOverride } = batch.options;
  return modelOverride && ladder.length ? ladder[ladder.length - 1] : undefined;
}

/** The batch's usage with its baseline and saving. */
export function batchUsage(batch: Pick<BatchRecord, "options" | "runs">): BatchUsage {
  const prices: Prices = batch.options.prices ?? {};
  const attempts = batch.runs.flatMap((r) => r.attempts);
  let tokens = 0;
  let costUsd = 0;
  const unpriced = new Set<string>();
  for (const a of attempts) {
    tokens += count(a.tokens);
    costUsd += count(a.costUsd);
    if (count(a.tokens) > 0 && !count(a.costUsd) && !priceOf(billedModel(a), prices)) unpriced.add(billedModel(a) ?? "default");
  }
  const usage: BatchUsage = { tokens, costUsd: roundUsd(costUsd) };
  const baselineModel = baselineModelOf(batch);
  if (baselineModel) {
    usage.baselineModel = baselineModel;
    const price = priceOf(baselineModel, prices);
    if (price) {
      const baseline = attempts.reduce((usd, a) => usd + priceUsage(a.usage, price), 0);
      usage.baselineCostUsd = roundUsd(baseline);
      usage.savedUsd = roundUsd(baseline - costUsd);
    }
  }
  if (unpriced.size) usage.unpriced = [...unpriced].sort();
  return usage;
}

/**
 * The saving as one phrase: "saved $0.54 (90%) against all on fake/strong", "cost $0.02 (5%) more
 * than all on fake/strong", or undefined when there is no priced baseline or nothing was spent.
 */
export function savingsPhrase(u: BatchUsage): string | undefined {
  if (u.baselineModel === undefined || u.baselineCostUsd === undefined || u.savedUsd === undefined) return undefined;
  if (u.baselineCostUsd <= 0 && u.costUsd <= 0) return undefined;
  const pct = u.baselineCostUsd > 0 ? ` (${Math.round((Math.abs(u.savedUsd) / u.baselineCostUsd) * 100)}%)` : "";
  return u.savedUsd >= 0
    ? `saved ${fmtUsd(u.savedUsd)}${pct} against all on ${u.baselineModel}`
    : `cost ${fmtUsd(-u.savedUsd)}${pct} more than all on ${u.baselineModel}`;
}

/** "12,345 tokens, $0.06, saved $0.54 (90%) against all on fake/strong" (plus what could not be priced). */
export function usageSummary(u: BatchUsage): string {
  const parts = [`${u.tokens.toLocaleString("en-US")} tokens`, fmtUsd(u.costUsd)];
  const saved = savingsPhrase(u);
  if (saved) parts.push(saved);
  if (u.unpriced?.length) parts.push(`no price for ${u.unpriced.join(", ")} (set plugins.entries.parallel-agents.config.prices)`);
  return parts.join(", ");
}
