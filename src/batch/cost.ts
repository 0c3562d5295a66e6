// Tokens and money: what a run cost, what a batch will roughly cost before it starts, and whether
// a batch budget still allows more work.
import type { Usage } from "../runtime/port.js";

export type { Usage };

/** USD per million tokens, keyed by `provider/model`. */
export type Prices = Record<string, { input: number; output: number }>;

/**
 * List prices of the default ladder models. Defaults only: the plugin config's `prices` overrides
 * or extends them, and a model without a price costs 0 (its tokens are still counted).
 */
export const DEFAULT_PRICES: Prices = {
  "anthropic/claude-haiku-4-5": { input: 1, output: 5 },
  "kimi-coding/k2p5": { input: 0.6, output: 2.5 },
  "anthropic/claude-opus-4-5": { input: 5, output: 25 },
};

/** Rough characters per token for English prose and code; good enough for a pre-spawn estimate. */
export const CHARS_PER_TOKEN = 4;
/**
 * Input tokens every child pays before reading its task: the host wraps the prompt in its own system
 * prompt (agent identity, tool definitions, workspace notes). Without this, short tasks would be
 * estimated at a fraction of their real cost.
 */
export const RUN_OVERHEAD_TOKENS = 3000;
export const DEFAULT_EXPECTED_OUTPUT_TOKENS = 800;

/**
 * Price of a model: the exact `provider/model` key, else the one priced model with the same bare
 * name (transcripts sometimes report `claude-haiku-4-5` without its provider).
 */
export function priceOf(model: string | undefined, prices: Prices): { input: number; output: number } | undefined {
  if (!model) return undefined;
  if (Object.hasOwn(prices, model)) return prices[model];
  const bare = bareName(model);
  const matches = Object.keys(prices).filter((k) => bareName(k) === bare);
  return matches.length === 1 ? prices[matches[0]] : undefined;
}

const bareName = (model: string): string => model.slice(model.lastIndexOf("/") + 1);

/** USD for `usage` on `model`; 0 when the model has no price. */
export function costOf(usage: Usage, model: string | undefined, prices: Prices): number {
  const price = priceOf(model, prices);
  if (!price) return 0;
  return (count(usage.inputTokens) * price.input + count(usage.outputTokens) * price.output) / 1_000_000;
}

export function addUsage(a: Usage, b: Usage): Usage {
  return {
    inputTokens: count(a.inputTokens) + count(b.inputTokens),
    outputTokens: count(a.outputTokens) + count(b.outputTokens),
  };
}

export const totalTokens = (u: Usage): number => count(u.inputTokens) + count(u.outputTokens);

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

/** Pre-spawn estimate of a batch: one attempt per run, no retries. */
export function estimateBatch(runs: Array<{ promptChars: number; model?: string }>, opts: EstimateOptions): Estimate {
  const output = opts.expectedOutputTokens ?? DEFAULT_EXPECTED_OUTPUT_TOKENS;
  let tokens = 0;
  let costUsd = 0;
  for (const run of runs) {
    const usage = { inputTokens: Math.ceil(count(run.promptChars) / CHARS_PER_TOKEN) + RUN_OVERHEAD_TOKENS, outputTokens: output };
    tokens += totalTokens(usage);
    costUsd += costOf(usage, run.model ?? opts.defaultModel, opts.prices);
  }
  return { tokens, costUsd: roundUsd(costUsd) };
}

export interface BudgetLimit {
  maxTokens?: number;
  maxCostUsd?: number;
}

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

/** Host-reported counts can be missing or garbage; they count as 0 rather than poisoning totals. */
const count = (n: number): number => (Number.isFinite(n) && n > 0 ? n : 0);

/** Micro-dollar precision: enough for per-run costs, no float noise like 0.30000000000000004. */
const roundUsd = (usd: number): number => Math.round(usd * 1e6) / 1e6;

const fmtTokens = (n: number): string => n.toLocaleString("en-US");

/** Dollars as people write them: cents from $1 up, up to four decimals below (so $0.0125 ≠ $0.01). */
export function fmtUsd(usd: number): string {
  if (Math.abs(usd) >= 1) return `$${usd.toFixed(2)}`;
  const [whole, decimals] = usd.toFixed(4).split(".");
  return `$${whole}.${decimals.replace(/0+$/, "").padEnd(2, "0")}`;
}
