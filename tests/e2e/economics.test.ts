// Model economics in the real gateway: the fake provider's models carry `cost` rows in the gateway's
// model table and the plugin names no `prices`. A batch costs exactly what the fake model's answers
// billed at those rows (cache reads and writes included), its baseline is the same tokens on the
// strongest rung, and every view says what was saved; a USD cap on unpriced models is a 400; a token
// cap holds with five runs allowed in flight.
import { describe, expect, it } from "vitest";
import { call, childRequests, pluginGateway, refuse } from "./support/plugin-calls.js";
import type { FakeRequest } from "./support/use-gateway.js";
import { useGateway } from "./support/use-gateway.js";
import { fmtUsd } from "../../src/pricing/prices.js";

type Rate = { input: number; output: number; cacheRead?: number; cacheWrite?: number };
const COSTS: Record<string, Rate> = {
  cheap: { input: 1, output: 2, cacheRead: 0.1, cacheWrite: 1.25 },
  mid: { input: 3, output: 6 },
  strong: { input: 10, output: 20, cacheRead: 1, cacheWrite: 12.5 },
};
// A generous ready bound: the machine is shared, and a slow start is not what this file tests.
const gw = useGateway({ ...pluginGateway("economics"), modelCosts: COSTS, readyTimeoutMs: 300_000 });

/** USD of one fake answer at `rate`, split the way OpenAI reports a prompt cache (cached and written tokens are part of prompt_tokens). */
function billed(q: FakeRequest, rate: Rate): number {
  const u = q.usage!;
  const cached = u.prompt_tokens_details?.cached_tokens ?? 0;
  const written = u.prompt_tokens_details?.cache_write_tokens ?? 0;
  const input = u.prompt_tokens - cached - written;
  return (input * rate.input + u.completion_tokens * rate.output + cached * (rate.cacheRead ?? rate.input) + written * (rate.cacheWrite ?? rate.input)) / 1e6;
}

describe("prices from the gateway's model table", () => {
  let batchId = "";

  it("a batch's costUsd is the answered requests' tokens times the table's prices, its baseline the same tokens on fake/strong, and the text says what was saved", async () => {
    gw().fake!.script({ name: "cached", match: "CACHED-TASK", subagent: true, reply: "CACHED", usage: { prompt_tokens: 6000, completion_tokens: 40, prompt_tokens_details: { cached_tokens: 4000, cache_write_tokens: 1000 } } });
    const schema = { type: "object", required: ["a"], properties: { a: { type: "number" } } };
    const { details, text } = await call(gw(), "parallel_spawn", {
      tasks: [
        { label: "one", task: "[[reply:ONE]]" },
        { label: "two", task: "[[reply:TWO]]" },
        { label: "cached", task: "CACHED-TASK" },
        { label: "climbs", task: '[[invalid-json@cheap]] [[reply:{"a":1}]]', outputSchema: schema },
      ],
      waitSeconds: 120,
    });
    batchId = details.batchId;
    expect(details.runs.map((r) => r.state)).toEqual(["ok", "ok", "ok", "ok"]);
    expect(details.runs[3].attempts.map((a) => a.modelUsed)).toEqual(["fake/cheap", "fake/mid"]);
    const answered = childRequests(gw(), batchId).filter((q) => q.usage);
    expect(answered.map((q) => q.model).sort()).toEqual(["cheap", "cheap", "cheap", "cheap", "cheap", "mid"]); // "climbs": cheap + its correction, then mid
    const cost = answered.reduce((usd, q) => usd + billed(q, COSTS[q.model]), 0);
    const baseline = answered.reduce((usd, q) => usd + billed(q, COSTS.strong), 0);
    const tokens = answered.reduce((n, q) => n + q.usage!.prompt_tokens + q.usage!.completion_tokens, 0);
    const usage = details.usage as Required<Omit<typeof details.usage, "unpriced">>;
    process.stderr.write(`[e2e] economics: ${answered.length} answers, ${tokens} tokens, cost $${cost.toFixed(6)}, baseline $${baseline.toFixed(6)}; plugin says ${JSON.stringify(usage)}\n`);
    expect(usage.tokens).toBe(tokens);
    expect(Math.abs(usage.costUsd - cost)).toBeLessThanOrEqual(1e-6);
    expect(usage.baselineModel).toBe("fake/strong");
    expect(Math.abs(usage.baselineCostUsd - baseline)).toBeLessThanOrEqual(1e-6);
    expect(Math.abs(usage.savedUsd - (baseline - cost))).toBeLessThanOrEqual(2e-6);
    expect(usage.savedUsd).toBeGreaterThan(0);
    const pct = Math.round((usage.savedUsd / usage.baselineCostUsd) * 100);
    expect(text).toContain(`saved ${fmtUsd(usage.savedUsd)} (${pct}%) against all on fake/strong`);
  });

  it("poll_until_complete and the CLI's show say the same", async () => {
    const polled = await call(gw(), "poll_until_complete", { batchId });
    expect(polled.text).toContain(`saved ${fmtUsd(polled.details.usage.savedUsd!)}`);
    const r = await gw().cli(["parallel-agents", "show", batchId, "--json"], { timeoutMs: 90_000 });
    expect(r.code, r.stderr).toBe(0);
    const shown = JSON.parse(r.stdout.slice(r.stdout.indexOf("{")));
    expect(shown.usage).toEqual(polled.details.usage);
  });

  it("a USD cap on a model priced nowhere is a 400 naming it and `prices`; on priced models it is accepted", async () => {
    const before = childRequests(gw()).length;
    const r = await refuse(gw(), "parallel_spawn", { tasks: [{ task: "[[reply:X]]", model: "fake/parent" }], retries: 0, budget: { maxCostUsd: 1 } });
    expect(r.status).toBe(400);
    expect(r.message).toMatch(/budget\.maxCostUsd cannot be enforced: no price for fake\/parent .*plugins\.entries\.parallel-agents\.config\.prices/);
    expect(childRequests(gw())).toHaveLength(before);
    const { details } = await call(gw(), "parallel_spawn", { tasks: [{ task: "[[reply:CAPPED]]" }], budget: { maxCostUsd: 1 }, waitSeconds: 60 });
    expect(details.runs[0]).toMatchObject({ state: "ok", output: "CAPPED" });
  });
});

describe("budgets that hold", () => {
  it("with five runs allowed in flight under a token cap, spent never passes the cap by more than one attempt; runs not started fail naming the budget", async () => {
    // Each answer bills 10,000 tokens: well over the plugin's up-front guess (~3,800), so the batch is accepted.
    gw().fake!.script({ name: "heavy", match: "HEAVY-", subagent: true, delay: 1500, reply: "DONE", usage: { prompt_tokens: 9000, completion_tokens: 1000 } });
    const cap = 32_000;
    const tasks = Array.from({ length: 8 }, (_, i) => ({ label: `h${i}`, task: `HEAVY-${i}` }));
    const { details } = await call(gw(), "parallel_spawn", { tasks, maxConcurrency: 5, budget: { maxTokens: cap }, waitSeconds: 240 });
    expect(details.complete).toBe(true);
    const answered = childRequests(gw(), details.batchId).filter((q) => q.usage);
    const spent = answered.reduce((n, q) => n + q.usage!.prompt_tokens + q.usage!.completion_tokens, 0);
    const largest = Math.max(...answered.map((q) => q.usage!.prompt_tokens + q.usage!.completion_tokens));
    process.stderr.write(`[e2e] budget: ${answered.length} answers, ${spent} tokens spent under a cap of ${cap}; plugin says ${details.usage.tokens}\n`);
    expect(details.usage.tokens).toBe(spent);
    expect(spent).toBeLessThanOrEqual(cap + largest);
    const ok = details.runs.filter((r) => r.state === "ok");
    const notStarted = details.runs.filter((r) => r.attempts.length === 0);
    expect(ok.length).toBeGreaterThan(0);
    expect(ok.length + notStarted.length).toBe(8);
    for (const r of notStarted) {
      expect(r.state).toBe("failed");
      expect(r.error).toMatch(/^not started: budget maxTokens 32,000 has [\d,]+ tokens left/);
    }
  });

  it("never left loopback", () => gw().assertNoEgress());
});
