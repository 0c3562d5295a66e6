// The ladder at work in a real gateway: researcher runs that fail their JSON contract on fake/cheap
// make the next researcher runs start on fake/mid with a note (unless the call says adaptive: false),
// and `openclaw parallel-agents stats --json`, `doctor` and `/parallel-agents stats` show the per-model
// attempts, outcomes and cost, the savings against all on fake/strong, and the learned start.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BatchStore } from "../../src/store/batch-store.js";
import { type Details, call, chatCommand, childRequests, pluginGateway } from "./support/plugin-calls.js";
import { useGateway } from "./support/use-gateway.js";

const PRICES = { "fake/cheap": { input: 1, output: 2 }, "fake/mid": { input: 5, output: 10 }, "fake/strong": { input: 20, output: 40 } };
const gw = useGateway(pluginGateway("stats", { pluginConfig: { prices: PRICES, maxConcurrency: 6, retries: 2 } }));
const RESEARCH = JSON.stringify({ topic: "t", summary: "s", findings: [{ claim: "c", evidence: "e", sources: ["s"] }], confidence: 0.8, openQuestions: [] });

const researchers = (tag: string, n: number, extra: Record<string, unknown> = {}) => ({
  tasks: Array.from({ length: n }, (_, i) => ({ role: "researcher", vars: { topic: `LEARN ${tag} topic ${i}` }, label: `${tag}-${i}` })),
  waitSeconds: 240,
  ...extra,
});
const starts = (d: Details) => d.runs.map((r) => r.attempts[0].model);

async function cli(args: string[]) {
  const r = await gw().cli(["parallel-agents", ...args], { timeoutMs: 240_000 }); // the CLI boots the host: slow on a loaded machine
  expect(r.code, `${args.join(" ")}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(0);
  return r;
}
const json = async (args: string[]) => {
  const r = await cli([...args, "--json"]);
  return JSON.parse(r.stdout.slice(r.stdout.indexOf("{")));
};

describe("a ladder that learns, and the stats that show it", () => {
  it("six researcher runs failing on fake/cheap escalate to fake/mid", async () => {
    gw().fake!.script([
      { name: "cheap-fails", model: "fake/cheap", subagent: true, match: "LEARN", invalidJson: true },
      { name: "research-json", subagent: true, match: "LEARN", reply: RESEARCH },
    ]);
    const { details } = await call(gw(), "parallel_spawn", researchers("first", 6));
    expect(details.runs.map((r) => r.state)).toEqual(Array(6).fill("ok"));
    expect(starts(details)).toEqual(Array(6).fill("fake/cheap"));
    // The fake's truncated JSON fails the contract as invalid_json, or as schema_violation once repaired.
    const contract = expect.stringMatching(/^(invalid_json|schema_violation)$/);
    for (const r of details.runs) expect(r.attempts.map((a) => [a.model, a.outcome])).toEqual([["fake/cheap", contract], ["fake/mid", "ok"]]);
    expect(details.notes ?? []).not.toEqual(expect.arrayContaining([expect.stringMatching(/starts on/)]));
  });

  it("the next researcher runs start on fake/mid, and the note says which role, the rung and why", async () => {
    const { details, text } = await call(gw(), "parallel_spawn", researchers("next", 4));
    const note = (details.notes ?? []).find((n) => n.startsWith("researcher starts on fake/mid"));
    expect(note, JSON.stringify(details.notes)).toMatch(/^researcher starts on fake\/mid: fake\/cheap failed 6 of its last 6 researcher runs/);
    expect(text).toContain("Note: researcher starts on fake/mid: fake/cheap failed 6 of its last 6 researcher runs");
    // About one in ten still starts on cheap (to keep checking it); the note counts exactly those.
    const kept = Number(/\((\d+) of 4 researcher runs? in this batch still starts? on fake\/cheap/.exec(note!)?.[1] ?? 0);
    expect(starts(details).filter((m) => m === "fake/cheap")).toHaveLength(kept);
    expect(starts(details).filter((m) => m === "fake/mid")).toHaveLength(4 - kept);
    expect(kept).toBeLessThan(4);
    // What the scripted model saw: each run's first request went to the rung its first attempt names.
    const firstModels = details.runs.map((r) => childRequests(gw(), details.batchId).find((q) => q.sessionKey?.includes(`-a1`) && q.lastUser.includes(`LEARN next topic ${r.label.split("-")[1]}`))?.model);
    expect(firstModels).toEqual(starts(details).map((m) => m.replace("fake/", "")));
    expect(details.runs.map((r) => r.state)).toEqual(Array(4).fill("ok"));
  });

  it("adaptive: false on the call keeps them on fake/cheap", async () => {
    const { details } = await call(gw(), "parallel_spawn", researchers("fixed", 2, { adaptive: false }));
    expect(starts(details)).toEqual(["fake/cheap", "fake/cheap"]);
    expect((details.notes ?? []).some((n) => /starts on/.test(n))).toBe(false);
  });

  it("stats --json lists per-model attempts, outcomes and cost, the savings against fake/strong, and the learned start", async () => {
    const s = await json(["stats", "--since", "1h"]);
    expect(s.source).toBe("gateway");
    const by = Object.fromEntries(s.models.map((m: { model: string }) => [m.model, m]));
    // Recompute from the store: each attempt's recorded tokens times the configured prices.
    const store = BatchStore.open(join(gw().dirs.state, "plugins", "parallel-agents"), { readOnly: true });
    const expected: Record<string, { attempts: number; failures: Record<string, number>; cost: number; tokens: number }> = {};
    let baseline = 0;
    for (const { batchId } of store.list(100)) {
      for (const run of store.load(batchId)!.runs) {
        for (const a of run.attempts) {
          const p = PRICES[a.model as keyof typeof PRICES];
          const e = (expected[a.model!] ??= { attempts: 0, failures: {}, cost: 0, tokens: 0 });
          e.attempts++;
          e.tokens += a.tokens;
          if (a.outcome !== "ok") e.failures[a.outcome!] = (e.failures[a.outcome!] ?? 0) + 1;
          e.cost += (a.usage.inputTokens * p.input + a.usage.outputTokens * p.output) / 1e6;
          baseline += (a.usage.inputTokens * PRICES["fake/strong"].input + a.usage.outputTokens * PRICES["fake/strong"].output) / 1e6;
        }
      }
    }
    store.close();
    expect(expected["fake/cheap"].attempts).toBeGreaterThanOrEqual(8);
    for (const [model, e] of Object.entries(expected)) {
      expect(by[model], model).toMatchObject({ attempts: e.attempts, tokens: e.tokens, failures: e.failures });
      expect(by[model].costUsd).toBeCloseTo(e.cost, 5);
      expect(by[model].costUsd).toBeGreaterThan(0);
    }
    expect(by["fake/cheap"]).toMatchObject({ ok: 0, escalations: expected["fake/cheap"].attempts });
    expect(Object.keys(by["fake/cheap"].failures).every((k) => k === "invalid_json" || k === "schema_violation")).toBe(true);
    expect(by["fake/mid"].ok).toBe(expected["fake/mid"].attempts);
    const researcher = s.roles.find((r: { role: string }) => r.role === "researcher");
    expect(researcher.runs).toBe(12);
    expect(researcher.firstRungSuccessRate).toBeGreaterThan(0);
    expect(researcher.firstRungSuccessRate).toBeLessThan(1);
    expect(s.totals.baselineModels).toEqual(["fake/strong"]);
    expect(s.totals.baselineCostUsd).toBeCloseTo(baseline, 5);
    expect(s.totals.savedUsd).toBeCloseTo(baseline - s.totals.costUsd, 5);
    expect(s.totals.savedUsd).toBeGreaterThan(0);
    expect(s.learnedStarts).toEqual([expect.objectContaining({ agentId: "main", role: "researcher", from: "fake/cheap", to: "fake/mid" })]);
    const table = await cli(["stats"]);
    expect(table.stdout).toMatch(/MODEL\s+ATTEMPTS\s+OK\s+FAILURES/);
    expect(table.stdout).toMatch(/fake\/cheap\s+\d+\s+0\s+(invalid_json|schema_violation) \d+/);
    expect(table.stdout).toMatch(/saved \$[\d.]+ \([\d.]+%\) against all on fake\/strong/);
  }, 600_000); // several CLI boots on a shared machine

  it("doctor lists the learned start; /parallel-agents stats in a chat shows this agent's", async () => {
    const d = await json(["doctor"]);
    expect(d.adaptiveLadder).toBe(true);
    expect(d.learnedStarts).toEqual([expect.objectContaining({ agentId: "main", role: "researcher", from: "fake/cheap", to: "fake/mid" })]);
    expect((await cli(["doctor"])).stdout).toMatch(/learned starts:\n\s+\[main\] researcher starts on fake\/mid: fake\/cheap failed \d+ of its last \d+ researcher runs/);

    const sessionKey = "agent:main:stats-cmd";
    const reply = await chatCommand(gw(), sessionKey, "/parallel-agents stats 1d", "parallel-agents stats (agent");
    expect(reply).toContain("parallel-agents stats (agent main");
    expect(reply).toContain("researcher starts on fake/mid");
    expect(gw().fake!.requests((q) => q.sessionKey === sessionKey)).toEqual([]);
  }, 600_000); // several CLI boots on a shared machine

  it("never left loopback", () => gw().assertNoEgress());
});
