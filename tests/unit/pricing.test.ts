// Prices from the host and what the ladder saved: the price lookup (exact, dated, aliased, bare),
// cache tokens, the gateway's model table, the host's own per-run cost, the cost-cap refusal, and
// the batch's baseline and saving.
import { describe, expect, it } from "vitest";
import { addUsage, attemptCost, baseModelId, costOf, fmtUsd, priceOf, priceUsage, totalTokens } from "../../src/pricing/prices.js";
import { agentDefaultModel, hostPrices, priceTable } from "../../src/pricing/host-prices.js";
import { costCapRefusal, modelsToRun, unpricedModels, unpricedRefusal } from "../../src/pricing/cost-cap.js";
import { batchUsage, savingsPhrase, usageSummary } from "../../src/pricing/savings.js";
import type { Attempt } from "../../src/batch/types.js";
import { batchOf, spec } from "../support/batch.js";

const M = 1_000_000;

describe("priceOf", () => {
  const prices = { "anthropic/claude-haiku-4-5": { input: 1, output: 5 }, "fake/cheap": { input: 0.5, output: 1 } };

  it("an exact key wins over one that is the same model up to case; a dated id finds its own provider's base, not another's", () => {
    expect(priceOf("A/x", { "a/x": { input: 1, output: 1 }, "A/x": { input: 2, output: 2 } })).toEqual({ input: 2, output: 2 });
    const two = { "a/m": { input: 1, output: 1 }, "b/m": { input: 2, output: 2 } };
    expect(priceOf("b/m-20251001", two)).toEqual({ input: 2, output: 2 });
    expect(priceOf("m", two)).toBeUndefined(); // bare name, two providers: ambiguous
  });

  it("finds the exact key, and reads no inherited keys", () => {
    expect(priceOf("fake/cheap", prices)).toEqual({ input: 0.5, output: 1 });
    expect(priceOf("constructor", prices)).toBeUndefined();
    expect(priceOf("toString", {})).toBeUndefined();
    expect(priceOf(undefined, prices)).toBeUndefined();
    expect(priceOf("", prices)).toBeUndefined();
  });

  it("resolves dated, -latest, dotted and differently cased ids to the base model's price", () => {
    const haiku = { input: 1, output: 5 };
    expect(priceOf("anthropic/claude-haiku-4-5-20251001", prices)).toEqual(haiku);
    expect(priceOf("anthropic/claude-haiku-4-5-2025-10-01", prices)).toEqual(haiku);
    expect(priceOf("anthropic/claude-haiku-4-5@20251001", prices)).toEqual(haiku);
    expect(priceOf("anthropic/claude-haiku-4-5-latest", prices)).toEqual(haiku);
    expect(priceOf("anthropic/claude-haiku-4.5", prices)).toEqual(haiku);
    expect(priceOf("Anthropic/Claude-Haiku-4-5", prices)).toEqual(haiku);
    // and the other way round: a table keyed by the dated id prices the base id
    expect(priceOf("anthropic/claude-haiku-4-5", { "anthropic/claude-haiku-4-5-20251001": haiku })).toEqual(haiku);
  });

  it("does not stretch a dated match to another model or another provider", () => {
    expect(priceOf("anthropic/claude-haiku-4-6-20251001", prices)).toBeUndefined();
    expect(priceOf("anthropic/claude-haiku-4-5-2025", prices)).toBeUndefined(); // not a date
    expect(priceOf("other/claude-haiku-4-5x", prices)).toBeUndefined();
  });

  it("finds a model reported without its provider when one priced model has that name, not when two do", () => {
    expect(priceOf("claude-haiku-4-5-20251001", prices)).toEqual({ input: 1, output: 5 });
    expect(priceOf("cheap", { "a/cheap": { input: 1, output: 1 }, "b/cheap": { input: 2, output: 2 } })).toBeUndefined();
  });

  it("baseModelId: provider and model lower-cased, date and -latest dropped, dots between digits as dashes", () => {
    expect(baseModelId(" Anthropic/Claude-Opus-4.5-20251101 ")).toBe("anthropic/claude-opus-4-5");
    expect(baseModelId("gpt-4.1-latest")).toBe("gpt-4-1");
    expect(baseModelId("ns/a/b-v1.2")).toBe("ns/a/b-v1-2");
    expect(baseModelId("p/m-latest-x")).toBe("p/m-latest-x"); // only a trailing -latest
    expect(baseModelId("p/m-20251001-fast")).toBe("p/m-20251001-fast"); // only a trailing date
  });
});

describe("costing tokens", () => {
  it("charges input, output, cache reads and cache writes at their own rates", () => {
    const price = { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 };
    expect(priceUsage({ inputTokens: M, outputTokens: M, cacheReadTokens: M, cacheWriteTokens: M }, price)).toBeCloseTo(22.05, 10);
    expect(priceUsage({ inputTokens: 0, outputTokens: 0, cacheReadTokens: 2 * M }, price)).toBeCloseTo(0.6, 10);
    expect(priceUsage({ inputTokens: 0, outputTokens: 0, cacheWriteTokens: 2 * M }, price)).toBeCloseTo(7.5, 10);
  });

  it("without cache rates, charges cache tokens at the input rate (never free by omission)", () => {
    expect(priceUsage({ inputTokens: 0, outputTokens: 0, cacheReadTokens: M, cacheWriteTokens: M }, { input: 2, output: 9 })).toBe(4);
  });

  it("an explicit zero cache rate is free", () => {
    expect(priceUsage({ inputTokens: 0, outputTokens: 0, cacheReadTokens: M }, { input: 2, output: 9, cacheRead: 0 })).toBe(0);
  });

  it("counts garbage token counts and rates as 0", () => {
    expect(priceUsage({ inputTokens: Number.NaN, outputTokens: -5, cacheReadTokens: Infinity }, { input: 1, output: 1 })).toBe(0);
    expect(totalTokens({ inputTokens: 10, outputTokens: 5, cacheReadTokens: 3, cacheWriteTokens: 2 })).toBe(20);
    expect(totalTokens({ inputTokens: -1, outputTokens: Number.NaN })).toBe(0);
    expect(totalTokens({ inputTokens: -1, outputTokens: 3, cacheReadTokens: -7, cacheWriteTokens: Infinity })).toBe(3);
  });

  it("costOf is 0 for an unpriced model; attemptCost says unknown instead, or takes the host's own figure", () => {
    const prices = { "m/x": { input: 1, output: 1 } };
    const usage = { inputTokens: M, outputTokens: 0 };
    expect(costOf(usage, "m/unpriced", prices)).toBe(0);
    expect(costOf(usage, "m/x", prices)).toBe(1);
    expect(attemptCost(usage, "m/x", prices, 99)).toBe(1); // a table price wins over the host's figure
    expect(attemptCost(usage, "m/unpriced", prices)).toBeUndefined();
    expect(attemptCost(usage, "m/unpriced", prices, 0.25)).toBe(0.25);
    expect(attemptCost(usage, "m/unpriced", prices, 0)).toBe(0);
    expect(attemptCost(usage, "m/unpriced", prices, -1)).toBeUndefined();
    expect(attemptCost(usage, "m/unpriced", prices, Number.NaN)).toBeUndefined();
  });

  it("addUsage adds every bucket, leaving out empty cache buckets", () => {
    expect(addUsage({ inputTokens: 1, outputTokens: 2 }, { inputTokens: 3, outputTokens: 4 })).toEqual({ inputTokens: 4, outputTokens: 6 });
    expect(addUsage({ inputTokens: 1, outputTokens: 2, cacheReadTokens: 5 }, { inputTokens: 3, outputTokens: 4, cacheReadTokens: 2, cacheWriteTokens: 7 })).toStrictEqual({
      inputTokens: 4, outputTokens: 6, cacheReadTokens: 7, cacheWriteTokens: 7,
    });
  });

  it("fmtUsd: cents from $1, up to four decimals below", () => {
    expect(fmtUsd(1.234)).toBe("$1.23");
    expect(fmtUsd(0.0125)).toBe("$0.0125");
    expect(fmtUsd(0.5)).toBe("$0.50");
    expect(fmtUsd(0)).toBe("$0.00");
  });
});

describe("the gateway's model table", () => {
  const config = {
    models: {
      providers: {
        Fake: { baseUrl: "http://x", models: [{ id: "cheap", cost: { input: 0.1, output: 0.2, cacheRead: 0.01, cacheWrite: 0.125 } }, { id: "free", cost: { input: 0, output: 0 } }, { id: "nocost" }] },
        half: { models: [{ id: "in-only", cost: { input: 2 } }, { id: "cache-only", cost: { cacheRead: 1 } }, { id: "bad", cost: { input: -1, output: "x" } }, { id: " ", cost: { input: 1, output: 1 } }] },
        broken: { models: "not a list" },
      },
    },
  };

  it("reads models.providers.<id>.models[].cost as provider/model prices, cache rates included", () => {
    expect(hostPrices(config)).toEqual({
      "fake/cheap": { input: 0.1, output: 0.2, cacheRead: 0.01, cacheWrite: 0.125 },
      "half/in-only": { input: 2, output: 0 },
    });
  });

  it("skips odd rows without losing the good ones around them: nulls, non-lists, non-string ids, bad rates; trims ids", () => {
    const good = (id: string) => ({ id, cost: { input: 1, output: 1 } });
    const odd = {
      models: {
        providers: {
          a: { models: [good("one"), null, 7, { id: 7, cost: { input: 1, output: 1 } }, { id: " two ", cost: { input: 1, output: 1 } }, { id: "out-only", cost: { output: 3 } }] },
          b: null,
          c: { models: {} },
          " D ": { models: [good("x")] },
          e: { models: [{ id: "rates", cost: { input: Infinity, output: -1, cacheRead: "1", cacheWrite: 2 } }, { id: "arr", cost: [1, 2] }] },
        },
      },
    };
    expect(hostPrices(odd)).toStrictEqual({
      "a/one": { input: 1, output: 1 },
      "a/two": { input: 1, output: 1 },
      "a/out-only": { input: 0, output: 3 },
      "d/x": { input: 1, output: 1 },
    });
    expect(hostPrices({ models: { providers: [{ models: [good("z")] }] } })).toStrictEqual({}); // a list is not a provider map
    expect(hostPrices({ models: { providers: { e: { models: [{ id: "w", cost: { input: 2, output: Infinity, cacheWrite: 2 } }] } } } })).toStrictEqual({ "e/w": { input: 2, output: 0, cacheWrite: 2 } });
  });

  it("a row of zeros is no price: the host fills every rate the operator left out with 0", () => {
    const filled = { models: { providers: { fake: { models: [{ id: "parent", cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 } }, { id: "cached", cost: { input: 0, output: 0, cacheRead: 0.5, cacheWrite: 0 } }] } } } };
    expect(hostPrices(filled)).toEqual({ "fake/cached": { input: 0, output: 0, cacheRead: 0.5, cacheWrite: 0 } });
    expect(hostPrices({ models: { providers: { f: { models: [{ id: "w", cost: { input: 0, output: 0, cacheWrite: 2 } }] } } } })).toEqual({ "f/w": { input: 0, output: 0, cacheWrite: 2 } });
  });

  it("reads nothing from a config without a model table, or an odd one, and never throws", () => {
    expect(hostPrices(undefined)).toEqual({});
    expect(hostPrices({ models: { providers: [] } })).toEqual({});
    const hostile = { get models(): never { throw new Error("boom"); } };
    expect(hostPrices(hostile)).toEqual({});
  });

  it("priceTable: the plugin's prices over the gateway's table over the built-in list", () => {
    const table = priceTable({ "fake/cheap": { input: 9, output: 9 } }, config, { "fake/free": { input: 7, output: 7 }, "a/b": { input: 1, output: 1 } });
    expect(table["fake/cheap"]).toEqual({ input: 9, output: 9 });
    expect(table["fake/free"]).toEqual({ input: 7, output: 7 }); // the table's zeros are no price: the built-in one stays
    expect(table["a/b"]).toEqual({ input: 1, output: 1 });
    expect(priceTable(undefined, undefined)).toEqual({});
  });

  it("agentDefaultModel: the agent's own model, else agents.defaults.model (a ref or { primary })", () => {
    const agents = { defaults: { model: { primary: "fake/parent" } }, list: [{ id: "ops", model: "fake/strong" }], entries: { writer: { model: { primary: "fake/mid" } } } };
    expect(agentDefaultModel({ agents }, "main")).toBe("fake/parent");
    expect(agentDefaultModel({ agents }, "ops")).toBe("fake/strong");
    expect(agentDefaultModel({ agents }, "writer")).toBe("fake/mid");
    expect(agentDefaultModel({ agents: { defaults: { model: "x/y" } } }, undefined)).toBe("x/y");
    expect(agentDefaultModel({ agents: { defaults: { model: { primary: "  " } } } }, "main")).toBeUndefined();
    expect(agentDefaultModel(undefined, "main")).toBeUndefined();
    expect(agentDefaultModel({ agents: { defaults: { model: " x/y " } } }, "main")).toBe("x/y"); // no entries, no list
    expect(agentDefaultModel({ agents: { defaults: { model: "x/y" }, list: [null, { id: "ops", model: "a/b" }] } }, "main")).toBe("x/y");
  });
});

describe("a cost cap on unpriced models", () => {
  const prices = { "fake/cheap": { input: 1, output: 1 } };

  it("lists each unpriced model once; an unpinned run is the agent's default model", () => {
    expect(unpricedModels(["fake/cheap", "fake/mid", "fake/mid", undefined], prices, "fake/parent")).toEqual(["fake/mid", "fake/parent"]);
    expect(unpricedModels([undefined], prices)).toEqual(["the agent's default model"]);
    expect(unpricedModels([undefined], { "fake/parent": { input: 0, output: 0 } }, "fake/parent")).toEqual([]);
  });

  it("is refused naming the models and the prices key; priced models pass", () => {
    expect(unpricedRefusal(["fake/cheap"], prices)).toBeUndefined();
    const why = unpricedRefusal(["fake/cheap", "fake/mid", "fake/strong"], prices)!;
    expect(why).toContain("no price for fake/mid, fake/strong");
    expect(why).toContain("plugins.entries.parallel-agents.config.prices");
    expect(why).toContain("models.providers.<id>.models[].cost");
    expect(why).toContain('{"fake/mid":{"input":1,"output":5}}');
    expect(why).toContain("Add them");
    expect(unpricedRefusal(["x/one"], {})).toContain("Add it to");
    expect(unpricedRefusal([undefined], {})).toContain('{"provider/model":');
  });
});

const done = (model: string | undefined, inputTokens: number, outputTokens: number, costUsd: number, over: Partial<Attempt> = {}): Attempt => ({
  n: 1, model, modelUsed: model, sessionKey: "k", owner: "o", startedAt: 0, outcome: "ok", tokens: inputTokens + outputTokens, usage: { inputTokens, outputTokens }, costUsd, ...over,
});

describe("the models a batch may run", () => {
  const ladder = ["m/cheap", "m/mid", "m/strong"];
  const runs = [{ spec: spec("a"), state: "queued" as const, attempts: [] }, { spec: spec("b", { tier: 1 }), state: "queued" as const, attempts: [] }, { spec: spec("p", { model: "x/pin" }), state: "queued" as const, attempts: [] }];

  it("each run's first model, the rungs above it when it may escalate, and the strongest rung for a pin off the ladder", () => {
    const b = batchOf([], { ladder });
    expect(modelsToRun(runs, b.options)).toEqual(["m/cheap", "m/mid", "m/strong", "m/mid", "m/strong", "x/pin", "m/strong"]);
    expect(modelsToRun(runs, { ...b.options, escalate: false })).toEqual(["m/cheap", "m/mid", "x/pin"]);
    expect(modelsToRun(runs, { ...b.options, retries: 0 })).toEqual(["m/cheap", "m/mid", "x/pin"]);
    expect(modelsToRun(runs, { ...b.options, modelOverride: false })).toEqual([undefined, undefined, undefined]);
  });

  it("costCapRefusal: only with a cost cap", () => {
    const b = batchOf([], { ladder, prices: {} });
    expect(costCapRefusal(runs, b.options)).toBeUndefined();
    expect(costCapRefusal(runs, { ...b.options, budget: { maxTokens: 5 } })).toBeUndefined();
    expect(costCapRefusal(runs, { ...b.options, budget: { maxCostUsd: 5 } })).toContain("no price for m/cheap, m/mid, m/strong, x/pin (");
    expect(costCapRefusal(runs, { ...b.options, modelOverride: false, budget: { maxCostUsd: 5 }, defaultModel: "m/dflt" })).toContain("no price for m/dflt (");
  });
});

describe("what the ladder saved", () => {
  const prices = { "m/cheap": { input: 1, output: 2 }, "m/mid": { input: 3, output: 6 }, "m/strong": { input: 10, output: 20 } };

  it("prices the batch's own tokens at the strongest usable rung: baseline, saving, and the phrase", () => {
    const b = batchOf([spec("a"), spec("b")], { prices });
    b.runs[0].attempts = [done("m/cheap", 100_000, 10_000, 0.12)];
    b.runs[1].attempts = [done("m/cheap", 50_000, 0, 0.05, { outcome: "invalid_json" }), done("m/mid", 50_000, 5_000, 0.18, { n: 2 })];
    const u = batchUsage(b);
    // baseline: 200,000 in x $10 + 15,000 out x $20 per million = $2.30; spent $0.35
    expect(u).toEqual({ tokens: 215_000, costUsd: 0.35, baselineModel: "m/strong", baselineCostUsd: 2.3, savedUsd: 1.95 });
    expect(savingsPhrase(u)).toBe("saved $1.95 (85%) against all on m/strong");
    expect(usageSummary(u)).toBe("215,000 tokens, $0.35, saved $1.95 (85%) against all on m/strong");
  });

  it("says when the ladder cost more than the baseline (a pin above the ladder, or a priced-up answer)", () => {
    const b = batchOf([spec("a")], { prices, ladder: ["m/cheap", "m/mid"] });
    b.runs[0].attempts = [done("m/strong", 100_000, 0, 1)];
    const u = batchUsage(b);
    expect(u).toMatchObject({ baselineModel: "m/mid", baselineCostUsd: 0.3, savedUsd: -0.7 });
    expect(savingsPhrase(u)).toBe("cost $0.70 (233%) more than all on m/mid");
  });

  it("has no baseline without a ladder (model overrides off, or no usable rung), and no saving when the baseline is unpriced", () => {
    const off = batchOf([spec("a")], { prices, modelOverride: false });
    off.runs[0].attempts = [done(undefined, 10, 0, 0, { modelUsed: "m/cheap" })];
    expect(batchUsage(off)).toStrictEqual({ tokens: 10, costUsd: 0 });
    expect(batchUsage(batchOf([spec("a")], { prices, ladder: [] }))).toEqual({ tokens: 0, costUsd: 0 });
    const unpricedTop = batchOf([spec("a")], { prices, ladder: ["m/cheap", "m/top"] });
    unpricedTop.runs[0].attempts = [done("m/cheap", 1000, 0, 0.001)];
    const u = batchUsage(unpricedTop);
    expect(u).toEqual({ tokens: 1000, costUsd: 0.001, baselineModel: "m/top" });
    expect(savingsPhrase(u)).toBeUndefined();
    expect(usageSummary(u)).toBe("1,000 tokens, $0.001");
  });

  it("names the models whose tokens could not be priced, instead of calling them $0", () => {
    const b = batchOf([spec("a"), spec("b"), spec("c")], { prices });
    b.runs[0].attempts = [done("m/other", 1000, 0, 0)];
    b.runs[1].attempts = [done(undefined, 500, 0, 0, { modelUsed: undefined })];
    b.runs[2].attempts = [done("m/hostpriced", 500, 0, 0.01), done("m/none", 0, 0, 0, { outcome: "provider_error" })];
    const u = batchUsage(b);
    expect(u.unpriced).toEqual(["default", "m/other"]);
    expect(usageSummary(u)).toContain("no price for default, m/other (set plugins.entries.parallel-agents.config.prices)");
  });

  it("the phrase needs a whole baseline; a free baseline gets no percentage; an even run is 'saved $0.00 (0%)'", () => {
    const whole = { tokens: 1, costUsd: 1, baselineModel: "m/s", baselineCostUsd: 2, savedUsd: 1 };
    expect(savingsPhrase(whole)).toBe("saved $1.00 (50%) against all on m/s");
    expect(savingsPhrase({ ...whole, baselineModel: undefined })).toBeUndefined();
    expect(savingsPhrase({ ...whole, baselineCostUsd: undefined })).toBeUndefined();
    expect(savingsPhrase({ ...whole, savedUsd: undefined })).toBeUndefined();
    expect(savingsPhrase({ ...whole, baselineCostUsd: 0, savedUsd: -1 })).toBe("cost $1.00 more than all on m/s");
    expect(savingsPhrase({ ...whole, baselineCostUsd: 1, savedUsd: 0 })).toBe("saved $0.00 (0%) against all on m/s");
    expect(savingsPhrase({ ...whole, costUsd: 0, baselineCostUsd: 0, savedUsd: 0 })).toBeUndefined();
  });

  it("nothing spent, nothing claimed", () => {
    const u = batchUsage(batchOf([spec("a")], { prices }));
    expect(u).toEqual({ tokens: 0, costUsd: 0, baselineModel: "m/strong", baselineCostUsd: 0, savedUsd: 0 });
    expect(savingsPhrase(u)).toBeUndefined();
  });

  it("cache tokens count in the baseline at the baseline's cache rates", () => {
    const b = batchOf([spec("a")], { prices: { "m/cheap": { input: 1, output: 1, cacheRead: 0.1 }, "m/strong": { input: 10, output: 10, cacheRead: 1 } }, ladder: ["m/cheap", "m/strong"] });
    b.runs[0].attempts = [done("m/cheap", 0, 0, 0.1, { tokens: M, usage: { inputTokens: 0, outputTokens: 0, cacheReadTokens: M } })];
    expect(batchUsage(b)).toMatchObject({ tokens: M, baselineCostUsd: 1, savedUsd: 0.9 });
  });
});
