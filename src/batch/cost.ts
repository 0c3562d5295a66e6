// Tokens and money: what a run cost, what a batch will roughly cost before it starts, and whether
// a batch budget still allows more work.
import type { Usage } from "../runtime/port.js";
import { type BudgetLimit, estimateAttempt } from "../pricing/budget.js";
import { type Prices, costOf, count, fmtUsd, roundUsd, totalTokens } from "../pricing/prices.js";

export type { Usage };

/**
 * List prices of the default ladder models. Defaults only: the gateway's model table and the plugin
 * config's `prices` override or extend them (src/pricing/host-prices.ts).
 */
export const DEFAULT_PRICES: Prices = {
  "anthropic/claude-haiku-4-5": { input: 1, output: 5 },
  "kimi-coding/k2p5": { input: 0.6, output: 2.5 },
  "anthropic/claude-opus-4-5": { input: 5, output: 25 },
};

export { CHARS_PER_TOKEN, DEFAULT_EXPECTED_OUTPUT_TOKENS, RUN_OVERHEAD_TOKENS } from "../pricing/budget.js";
export { type Price, type Prices, addUsage, costOf, fmtUsd, priceOf, totalTokens } from "../pricing/prices.js";

export interface Estimate {
  tokens: number;
  costUsd: number;
}

export interface EstimateOptions {
  prices: Prices;
  /** Output tokens expected per run (default 800). */
  expectedOutputTokens?: number;
  /** Model of runs that pin none (the first ladder rung, or the agent's default). */
  defaultModel?: string;
}

/** Pre-spawn estimate of a batch: one attempt per run at the rung it starts on, no retries. */
export function estimateBatch(runs: Array<{ promptChars: number; model?: string }>, opts: EstimateOptions): Estimate {
  let tokens = 0;
  let costUsd = 0;
  for (const run of runs) {
    const guess = estimateAttempt(run.promptChars, run.model ?? opts.defaultModel, opts.prices).usage;
    const usage = { ...guess, outputTokens: opts.expectedOutputTokens ?? guess.outputTokens };
    tokens += totalTokens(usage);
    costUsd += costOf(usage, run.model ?? opts.defaultModel, opts.prices);
  }
  return { tokens, costUsd: roundUsd(costUsd) };
}

export type { BudgetLimit };

/** Tracks what a batch spent against its limits. Absent limits are unlimited; 0 is a real limit. */
export class BudgetGuard {
  private tokens = 0;
  private costUsd = 0;

  constructor(private readonly limit: BudgetLimit) {
    for (const [name, v] of Object.entries(limit)) {
      if (v !== undefined && !(typeof v === "number" && Number.isFinite(v) && v >= 0)) {
        throw new Error(`budget.${name} must be a non-negative number, got ${String(v)}`);
      }
    }
  }

  /** Why starting work of this estimated size would break the budget, or null when it fits. */
  wouldExceed(estimate: Estimate): string | null {
    const { maxTokens, maxCostUsd } = this.limit;
    const spent = (used: string) => (this.tokens > 0 || this.costUsd > 0 ? ` on top of ${used} already used` : "");
    if (maxTokens !== undefined && this.tokens + estimate.tokens > maxTokens) {
      return `estimated ${fmtTokens(estimate.tokens)} tokens${spent(fmtTokens(this.tokens))} would exceed the budget maxTokens ${fmtTokens(maxTokens)}`;
    }
    if (maxCostUsd !== undefined && this.costUsd + estimate.costUsd > maxCostUsd) {
      return `estimated cost ${fmtUsd(estimate.costUsd)}${spent(fmtUsd(this.costUsd))} would exceed the budget maxCostUsd ${fmtUsd(maxCostUsd)}`;
    }
    return null;
  }

  record(usage: Usage, costUsd: number): void {
    this.tokens += totalTokens(usage);
    this.costUsd += count(costUsd);
  }

  /** Which limit the recorded spending went over, or null while within budget. */
  exceeded(): string | null {
    const { maxTokens, maxCostUsd } = this.limit;
    if (maxTokens !== undefined && this.tokens > maxTokens) {
      return `token budget exceeded: used ${fmtTokens(this.tokens)} tokens, maxTokens is ${fmtTokens(maxTokens)}`;
    }
    if (maxCostUsd !== undefined && this.costUsd > maxCostUsd) {
      return `cost budget exceeded: spent ${fmtUsd(this.costUsd)}, maxCostUsd is ${fmtUsd(maxCostUsd)}`;
    }
    return null;
  }

  totals(): Estimate {
    return { tokens: this.tokens, costUsd: roundUsd(this.costUsd) };
  }
}

const fmtTokens = (n: number): string => n.toLocaleString("en-US");
