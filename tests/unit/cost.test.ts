import { describe, expect, it } from "vitest";
import {
  BudgetGuard,
  DEFAULT_PRICES,
  RUN_OVERHEAD_TOKENS,
  addUsage,
  costOf,
  estimateBatch,
  fmtUsd,
} from "../../src/batch/cost.js";

const HAIKU = "anthropic/claude-haiku-4-5";
const OPUS = "anthropic/claude-opus-4-5";

describe("DEFAULT_PRICES", () => {
  it("prices the default ladder in USD per million tokens", () => {
    expect(DEFAULT_PRICES).toEqual({
      "anthropic/claude-haiku-4-5": { input: 1, output: 5 },
      "kimi-coding/k2p5": { input: 0.6, output: 2.5 },
      "anthropic/claude-opus-4-5": { input: 5, output: 25 },
    });
  });
});

describe("costOf", () => {
  it("charges input and output tokens at their own per-million prices", () => {
    expect(costOf({ inputTokens: 1_000_000, outputTokens: 1_000_000 }, HAIKU, DEFAULT_PRICES)).toBe(6);
    expect(costOf({ inputTokens: 2000, outputTokens: 400 }, OPUS, DEFAULT_PRICES)).toBeCloseTo(0.02, 10);
  });

  it("costs 0 for a model without a price, or no model at all", () => {
    expect(costOf({ inputTokens: 5000, outputTokens: 5000 }, "acme/unknown", DEFAULT_PRICES)).toBe(0);
    expect(costOf({ inputTokens: 5000, outputTokens: 5000 }, undefined, DEFAULT_PRICES)).toBe(0);
  });

  it("finds the price of a model reported without its provider", () => {
    expect(costOf({ inputTokens: 1_000_000, outputTokens: 0 }, "claude-opus-4-5", DEFAULT_PRICES)).toBe(5);
  });

  it("uses configured prices over nothing, and does not read inherited keys", () => {
    const prices = { "local/llama": { input: 0.1, output: 0.2 } };
    expect(costOf({ inputTokens: 1_000_000, outputTokens: 1_000_000 }, "local/llama", prices)).toBeCloseTo(0.3);
    expect(costOf({ inputTokens: 1, outputTokens: 1 }, "constructor", prices)).toBe(0);
  });

  it("treats missing or negative token counts as 0", () => {
    const garbage = { inputTokens: Number.NaN, outputTokens: -5 };
    expect(costOf(garbage, HAIKU, DEFAULT_PRICES)).toBe(0);
  });
});

describe("addUsage", () => {
  it("adds input and output tokens separately", () => {
    expect(addUsage({ inputTokens: 10, outputTokens: 2 }, { inputTokens: 5, outputTokens: 1 })).toEqual({
      inputTokens: 15,
      outputTokens: 3,
    });
  });
});

describe("estimateBatch", () => {
  it("counts chars/4 prompt tokens, the host's system-prompt overhead and the expected output per run", () => {
    const estimate = estimateBatch([{ promptChars: 4000 }, { promptChars: 401 }], { prices: {} });
    expect(estimate).toEqual({ tokens: 1000 + 101 + 2 * (RUN_OVERHEAD_TOKENS + 800), costUsd: 0 });
  });

  it("prices each run on its pinned model, else the default model", () => {
    const estimate = estimateBatch([{ promptChars: 4000, model: OPUS }, { promptChars: 4000 }], {
      prices: DEFAULT_PRICES,
      defaultModel: HAIKU,
      expectedOutputTokens: 1000,
    });
    // Opus: 4000 in, 1000 out = 0.02 + 0.025; Haiku: 4000 in, 1000 out = 0.004 + 0.005.
    expect(estimate).toEqual({ tokens: 2 * (1000 + RUN_OVERHEAD_TOKENS + 1000), costUsd: 0.054 });
  });

  it("estimates nothing for no runs", () => {
    expect(estimateBatch([], { prices: DEFAULT_PRICES })).toEqual({ tokens: 0, costUsd: 0 });
  });
});

describe("BudgetGuard", () => {
  it("allows anything without limits", () => {
    const guard = new BudgetGuard({});
    expect(guard.wouldExceed({ tokens: 1e9, costUsd: 1e6 })).toBeNull();
    guard.record({ inputTokens: 1e9, outputTokens: 0 }, 1e6);
    expect(guard.exceeded()).toBeNull();
  });

  it("refuses an estimate over maxTokens, naming the limit and the estimate", () => {
    const guard = new BudgetGuard({ maxTokens: 10_000 });
    expect(guard.wouldExceed({ tokens: 10_000, costUsd: 0 })).toBeNull();
    expect(guard.wouldExceed({ tokens: 12_345, costUsd: 0 })).toBe(
      "estimated 12,345 tokens would exceed the budget maxTokens 10,000",
    );
  });

  it("refuses an estimate over maxCostUsd", () => {
    const guard = new BudgetGuard({ maxCostUsd: 0.05 });
    expect(guard.wouldExceed({ tokens: 1, costUsd: 0.0612 })).toBe(
      "estimated cost $0.0612 would exceed the budget maxCostUsd $0.05",
    );
  });

  it("counts what was already spent against a new estimate", () => {
    const guard = new BudgetGuard({ maxTokens: 10_000 });
    guard.record({ inputTokens: 6000, outputTokens: 2000 }, 0);
    expect(guard.wouldExceed({ tokens: 3000, costUsd: 0 })).toBe(
      "estimated 3,000 tokens on top of 8,000 already used would exceed the budget maxTokens 10,000",
    );
  });

  it("reports which limit the recorded spending exceeded", () => {
    const tokens = new BudgetGuard({ maxTokens: 1000 });
    tokens.record({ inputTokens: 800, outputTokens: 200 }, 0);
    expect(tokens.exceeded()).toBeNull();
    tokens.record({ inputTokens: 1, outputTokens: 0 }, 0);
    expect(tokens.exceeded()).toBe("token budget exceeded: used 1,001 tokens, maxTokens is 1,000");

    const cost = new BudgetGuard({ maxCostUsd: 0.01 });
    cost.record({ inputTokens: 0, outputTokens: 0 }, 0.0125);
    expect(cost.exceeded()).toBe("cost budget exceeded: spent $0.0125, maxCostUsd is $0.01");
  });

  it("keeps running totals without float noise", () => {
    const guard = new BudgetGuard({});
    guard.record({ inputTokens: 10, outputTokens: 5 }, 0.1);
    guard.record({ inputTokens: 1, outputTokens: 1 }, 0.2);
    expect(guard.totals()).toEqual({ tokens: 17, costUsd: 0.3 });
  });

  it("treats 0 as a real limit", () => {
    expect(new BudgetGuard({ maxTokens: 0 }).wouldExceed({ tokens: 1, costUsd: 0 })).toMatch(/maxTokens 0/);
  });

  it("rejects nonsensical limits as a programming error", () => {
    expect(() => new BudgetGuard({ maxTokens: -1 })).toThrow("budget.maxTokens must be a non-negative number, got -1");
    expect(() => new BudgetGuard({ maxCostUsd: Number.NaN })).toThrow("budget.maxCostUsd");
  });
});

describe("fmtUsd", () => {
  it("shows cents from $1 up, and up to four decimals below", () => {
    expect(fmtUsd(12.3456)).toBe("$12.35");
    expect(fmtUsd(1.5)).toBe("$1.50");
    expect(fmtUsd(0.05)).toBe("$0.05");
    expect(fmtUsd(0.0125)).toBe("$0.0125");
    expect(fmtUsd(0.0042)).toBe("$0.0042");
    expect(fmtUsd(0)).toBe("$0.00");
  });
});
