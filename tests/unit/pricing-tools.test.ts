// Prices and savings as a caller sees them through the tools (host-shaped fake): the gateway's model
// table prices a batch when the plugin names no price, the result's usage carries the baseline and
// the saving (details and text, in parallel_spawn, poll_until_complete and research_team), and a
// USD cap on unpriced models is a 400 naming them and `prices`.
import { describe, expect, it } from "vitest";
import { fakeHost } from "../support/fake-host.js";

const url = "http://127.0.0.1:9/v1";
const priced = {
  m: {
    baseUrl: url,
    models: [
      { id: "cheap", cost: { input: 1, output: 2, cacheRead: 0.1, cacheWrite: 1.25 } },
      { id: "mid", cost: { input: 3, output: 6 } },
      { id: "strong", cost: { input: 10, output: 20 } },
    ],
  },
};
const unpriced = { m: { baseUrl: url, models: [{ id: "cheap" }, { id: "mid" }, { id: "strong" }] } };
const ladder = ["m/cheap", "m/mid", "m/strong"];
const usage = { inputTokens: 1000, outputTokens: 100 };

describe("prices from the gateway's model table", () => {
  it("with cost rows and no plugin prices, a batch costs its tokens at those prices, with the saving against the strongest rung", async () => {
    const host = await fakeHost({ models: priced, pluginConfig: { ladder }, script: () => ({ reply: "ok", usage }) });
    const res = await host.call("parallel_spawn", { tasks: [{ task: "a" }, { task: "b" }], waitSeconds: 5 });
    // each: 1,000 in x $1 + 100 out x $2 per million = $0.0012; on m/strong: $0.012
    expect(res.details.usage).toEqual({ tokens: 2200, costUsd: 0.0024, baselineModel: "m/strong", baselineCostUsd: 0.024, savedUsd: 0.0216 });
    expect(res.details.runs[0].usage).toEqual({ tokens: 1100, costUsd: 0.0012 });
    expect(res.content[0].text).toContain("2,200 tokens, $0.0024, saved $0.0216 (90%) against all on m/strong.");
    const polled = await host.call("poll_until_complete", { batchId: res.details.batchId });
    expect(polled.details.usage).toEqual(res.details.usage);
    expect(polled.content[0].text).toContain("saved $0.0216 (90%) against all on m/strong");
    await host.stop();
  });

  it("research_team reports the same usage and saving", async () => {
    const host = await fakeHost({ models: priced, pluginConfig: { ladder }, script: () => ({ reply: '{"summary":"s","findings":[],"sources":[]}', usage }) });
    const res = await host.call("research_team", { topics: ["t1", "t2"], synthesize: false, waitSeconds: 5 });
    expect(res.details.usage).toMatchObject({ baselineModel: "m/strong", savedUsd: expect.any(Number) });
    expect(res.details.usage.savedUsd).toBeGreaterThan(0);
    expect(res.content[0].text).toMatch(/saved \$[0-9.]+ \(\d+%\) against all on m\/strong/);
    await host.stop();
  });

  it("the plugin's prices win where they name a model; a dated id the provider answers with costs the base model's price", async () => {
    const host = await fakeHost({
      models: priced,
      pluginConfig: { ladder, prices: { "m/cheap": { input: 100, output: 100 } } },
      script: (_req, i) => ({ reply: "ok", usage, ...(i === 1 ? { modelUsed: "m/mid-20251001" } : {}) }),
    });
    const res = await host.call("parallel_spawn", { tasks: [{ task: "a" }, { task: "b" }], waitSeconds: 5 });
    expect(res.details.runs[0].usage.costUsd).toBeCloseTo(0.11, 9); // 1,100 tokens x $100 per million
    expect(res.details.runs[1].usage.costUsd).toBeCloseTo(0.0036, 9); // m/mid's $3/$6 per million
    await host.stop();
  });
});

describe("a USD cap needs prices", () => {
  it("budget.maxCostUsd on models priced nowhere is a 400 naming them and `prices`, before anything runs", async () => {
    const host = await fakeHost({ models: unpriced, pluginConfig: { ladder } });
    const call = host.call("parallel_spawn", { tasks: [{ task: "a" }], budget: { maxCostUsd: 1 } });
    await expect(call).rejects.toMatchObject({ name: "ToolInputError", status: 400 });
    await expect(call).rejects.toThrow(/parallel_spawn: budget\.maxCostUsd cannot be enforced: no price for m\/cheap, m\/mid, m\/strong .*plugins\.entries\.parallel-agents\.config\.prices/);
    expect(host.memory.runs).toHaveLength(0);
    await host.stop();
  });

  it("without model overrides, runs are the agent's default model: unpriced unless the gateway config names and prices it", async () => {
    const host = await fakeHost({ models: priced, pluginConfig: { ladder }, allowModelOverride: false });
    await expect(host.call("parallel_spawn", { tasks: [{ task: "a" }], budget: { maxCostUsd: 1 } })).rejects.toThrow(/no price for the agent's default model \(/);
    await host.stop();
  });

  it("names only the rungs a run can reach: without escalation, its own", async () => {
    const host = await fakeHost({ models: unpriced, pluginConfig: { ladder } });
    await expect(host.call("parallel_spawn", { tasks: [{ task: "a" }], escalate: false, budget: { maxCostUsd: 1 } })).rejects.toThrow(/no price for m\/cheap \(/);
    await expect(host.call("parallel_spawn", { tasks: [{ task: "a", model: "m/mid" }], retries: 0, budget: { maxCostUsd: 1 } })).rejects.toThrow(/no price for m\/mid \(/);
    await host.stop();
  });

  it("a token cap on the same models is fine, and so is a cost cap once the models are priced", async () => {
    const host = await fakeHost({ models: unpriced, pluginConfig: { ladder }, script: () => ({ reply: "ok", usage }) });
    const tokens = await host.call("parallel_spawn", { tasks: [{ task: "a" }], budget: { maxTokens: 100_000 }, waitSeconds: 5 });
    expect(tokens.details.runs[0].state).toBe("ok");
    expect(tokens.details.usage.unpriced).toEqual(["m/cheap"]);
    expect(tokens.content[0].text).toContain("no price for m/cheap");
    await host.stop();
    const ok = await fakeHost({ models: priced, pluginConfig: { ladder }, script: () => ({ reply: "ok", usage }) });
    const res = await ok.call("parallel_spawn", { tasks: [{ task: "a" }], budget: { maxCostUsd: 1 }, waitSeconds: 5 });
    expect(res.details.runs[0].state).toBe("ok");
    await ok.stop();
  });
});

describe("the CLI's show", () => {
  it("has the batch's usage with its saving, in --json and in the table", async () => {
    const { batchOf, spec } = await import("../support/batch.js");
    const { showView } = await import("../../src/cli/views.js");
    const { formatShow } = await import("../../src/cli/format.js");
    const b = batchOf([spec("a")], { prices: { "m/cheap": { input: 1, output: 2 }, "m/strong": { input: 10, output: 20 } } });
    b.runs[0].state = "ok";
    b.runs[0].attempts = [{ n: 1, model: "m/cheap", modelUsed: "m/cheap", sessionKey: "k", owner: "o", startedAt: 0, endedAt: 1, outcome: "ok", tokens: 1100, usage, costUsd: 0.0012 }];
    const v = showView(b);
    expect(v.usage).toEqual({ tokens: 1100, costUsd: 0.0012, baselineModel: "m/strong", baselineCostUsd: 0.012, savedUsd: 0.0108 });
    expect(formatShow(v)).toContain("Usage: 1,100 tokens, $0.0012, saved $0.0108 (90%) against all on m/strong");
  });
});

describe("the completion notice", () => {
  it("says what was used and saved (counts only, never a child's text)", async () => {
    const { batchOf, spec } = await import("../support/batch.js");
    const { noticeText } = await import("../../src/engine/notice.js");
    const b = batchOf([spec("a")], { prices: { "m/cheap": { input: 1, output: 2 }, "m/strong": { input: 10, output: 20 } } });
    b.runs[0].state = "ok";
    b.runs[0].output = "SECRET CHILD TEXT";
    b.runs[0].attempts = [{ n: 1, model: "m/cheap", modelUsed: "m/cheap", sessionKey: "k", owner: "o", startedAt: 0, endedAt: 1, outcome: "ok", tokens: 1100, usage, costUsd: 0.0012 }];
    const text = noticeText(b);
    expect(text).toMatch(/ Used 1,100 tokens, \$0\.0012, saved \$0\.0108 \(90%\) against all on m\/strong\.$/);
    expect(text).not.toContain("SECRET");
  });
});
