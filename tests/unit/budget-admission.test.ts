// Budgets that hold: the admission rule (pure), the estimate and its calibration, and the scheduler
// that asks it before every attempt: runs start only while the remaining budget covers them and
// everything in flight, and spent never passes the cap by more than one attempt.
import { afterEach, describe, expect, it } from "vitest";
import {
  DEFAULT_EXPECTED_OUTPUT_TOKENS,
  RUN_OVERHEAD_TOKENS,
  UNCALIBRATED_MARGIN,
  admit,
  admitNext,
  calibrate,
  estimateAttempt,
} from "../../src/pricing/budget.js";
import type { Attempt, RunRecord } from "../../src/batch/types.js";
import { batchTotals } from "../../src/batch/types.js";
import { MemoryRuntime } from "../support/memory-runtime.js";
import { batchOf, labelsOf, setup, spec } from "../support/batch.js";

const none = { tokens: 0, costUsd: 0 };
const e = (tokens: number, costUsd = 0) => ({ tokens, costUsd });

describe("admit (the rule)", () => {
  it("starts anything when the batch has no limit", () => {
    expect(admit({ limit: {}, spent: e(1e9, 1e6), inFlight: [e(1e9)], candidate: e(1e9, 1e6), calibrated: false })).toEqual({ kind: "start" });
  });

  it("calibrated: starts while spent + in flight + candidate fit the cap exactly, waits past it while something is in flight", () => {
    const limit = { maxTokens: 10_000 };
    expect(admit({ limit, spent: e(4000), inFlight: [e(3000)], candidate: e(3000), calibrated: true })).toEqual({ kind: "start" });
    expect(admit({ limit, spent: e(4000), inFlight: [e(3000)], candidate: e(3001), calibrated: true })).toEqual({ kind: "wait" });
  });

  it("counts every attempt in flight against the cap, not just the first", () => {
    const limit = { maxTokens: 10_000 };
    expect(admit({ limit, spent: none, inFlight: [e(3000), e(3000), e(3000)], candidate: e(1000), calibrated: true })).toEqual({ kind: "start" });
    expect(admit({ limit, spent: none, inFlight: [e(3000), e(3000), e(3000)], candidate: e(1001), calibrated: true })).toEqual({ kind: "wait" });
  });

  it("refuses, naming the budget, when nothing is in flight and the candidate does not fit", () => {
    const r = admit({ limit: { maxTokens: 10_000 }, spent: e(8000), inFlight: [], candidate: e(2500), calibrated: true });
    expect(r).toEqual({ kind: "refuse", reason: "not started: budget maxTokens 10,000 has 2,000 tokens left (8,000 used) and this attempt is estimated at 2,500" });
  });

  it("uncalibrated: side by side only while the cap holds at UNCALIBRATED_MARGIN times the guesses", () => {
    const limit = { maxTokens: 3 * UNCALIBRATED_MARGIN * 1000 };
    expect(admit({ limit, spent: none, inFlight: [e(1000), e(1000)], candidate: e(1000), calibrated: false })).toEqual({ kind: "start" });
    expect(admit({ limit, spent: none, inFlight: [e(1000), e(1000)], candidate: e(1001), calibrated: false })).toEqual({ kind: "wait" });
    expect(admit({ limit, spent: e(1), inFlight: [e(1000), e(1000)], candidate: e(1000), calibrated: false })).toEqual({ kind: "wait" });
  });

  it("uncalibrated with nothing in flight: one attempt starts alone when it fits at its guess (it calibrates the rest)", () => {
    const limit = { maxTokens: 5000 };
    expect(admit({ limit, spent: none, inFlight: [], candidate: e(5000), calibrated: false })).toEqual({ kind: "start" });
    expect(admit({ limit, spent: none, inFlight: [], candidate: e(5001), calibrated: false })).toMatchObject({ kind: "refuse" });
  });

  it("holds a cost cap the same way and names it when refusing", () => {
    const limit = { maxCostUsd: 1 };
    expect(admit({ limit, spent: e(0, 0.5), inFlight: [e(0, 0.25)], candidate: e(0, 0.25), calibrated: true })).toEqual({ kind: "start" });
    expect(admit({ limit, spent: e(0, 0.5), inFlight: [e(0, 0.25)], candidate: e(0, 0.26), calibrated: true })).toEqual({ kind: "wait" });
    expect(admit({ limit, spent: e(0, 0.9), inFlight: [], candidate: e(0, 0.2), calibrated: true })).toEqual({
      kind: "refuse",
      reason: "not started: budget maxCostUsd $1.00 has $0.10 left ($0.90 spent) and this attempt is estimated at $0.20",
    });
  });

  it("checks both limits: either one can hold a run back", () => {
    const limit = { maxTokens: 100, maxCostUsd: 1 };
    expect(admit({ limit, spent: none, inFlight: [], candidate: e(101, 0), calibrated: true })).toMatchObject({ kind: "refuse", reason: expect.stringContaining("maxTokens") });
    expect(admit({ limit, spent: none, inFlight: [], candidate: e(1, 1.01), calibrated: true })).toMatchObject({ kind: "refuse", reason: expect.stringContaining("maxCostUsd") });
    expect(admit({ limit, spent: none, inFlight: [], candidate: e(100, 1), calibrated: true })).toEqual({ kind: "start" });
    // tokens exactly at the cap fit: the refusal names the cost, the limit that is over
    expect(admit({ limit, spent: none, inFlight: [], candidate: e(100, 1.01), calibrated: true })).toMatchObject({ kind: "refuse", reason: expect.stringContaining("maxCostUsd") });
  });
});

const attempt = (over: Partial<Attempt>): Attempt => ({ n: 1, sessionKey: "k", owner: "o", startedAt: 0, tokens: 0, usage: { inputTokens: 0, outputTokens: 0 }, costUsd: 0, ...over });
const run = (prompt: string, attempts: Attempt[]): RunRecord => ({ spec: spec("x", { prompt }), state: "ok", attempts });

describe("estimates", () => {
  const prices = { "m/cheap": { input: 1, output: 5 }, "m/strong": { input: 10, output: 50 } };

  it("guess: the prompt at 4 characters a token, the host overhead and the typical output, priced at the attempt's model", () => {
    const g = estimateAttempt(4000, "m/strong", prices);
    expect(g.usage).toEqual({ inputTokens: 1000 + RUN_OVERHEAD_TOKENS, outputTokens: DEFAULT_EXPECTED_OUTPUT_TOKENS });
    expect(g.tokens).toBe(1000 + RUN_OVERHEAD_TOKENS + DEFAULT_EXPECTED_OUTPUT_TOKENS);
    expect(g.costUsd).toBeCloseTo(((1000 + RUN_OVERHEAD_TOKENS) * 10 + DEFAULT_EXPECTED_OUTPUT_TOKENS * 50) / 1e6, 12);
    expect(estimateAttempt(4000, "m/unpriced", prices).costUsd).toBe(0);
  });

  it("calibration: the largest overhead beyond the prompt and the largest output of the finished attempts that used tokens", () => {
    const batch = {
      runs: [
        run("a".repeat(400), [attempt({ outcome: "ok", tokens: 700, usage: { inputTokens: 600, outputTokens: 100 } })]), // overhead 500
        run("b".repeat(40), [attempt({ outcome: "invalid_json", tokens: 1040, usage: { inputTokens: 700, outputTokens: 40, cacheReadTokens: 300 } })]), // overhead 990
        run("c", [attempt({ outcome: "provider_error", tokens: 0 })]), // used nothing: teaches nothing
        run("d", [attempt({ tokens: 99_999, usage: { inputTokens: 99_999, outputTokens: 0 } })]), // still live
      ],
    };
    expect(calibrate(batch)).toEqual({ overheadTokens: 990, outputTokens: 100 });
    expect(calibrate({ runs: [run("x", [attempt({ outcome: "ok", tokens: 10, usage: { inputTokens: 5, outputTokens: 5 } })])] })).toEqual({ overheadTokens: 4, outputTokens: 5 });
    expect(calibrate({ runs: [run("short", [attempt({ outcome: "ok", tokens: 1, usage: { inputTokens: 0, outputTokens: 1 } })])] })).toEqual({ overheadTokens: 0, outputTokens: 1 });
    expect(calibrate({ runs: [] })).toBeUndefined();
    expect(calibrate({ runs: [run("c", [attempt({ outcome: "provider_error", tokens: 0 })])] })).toBeUndefined(); // nothing used, nothing learned
  });

  it("a calibrated estimate replaces the guessed overhead and output", () => {
    const c = estimateAttempt(400, "m/cheap", prices, { overheadTokens: 2000, outputTokens: 300 });
    expect(c.usage).toEqual({ inputTokens: 2100, outputTokens: 300 });
    expect(c.costUsd).toBeCloseTo((2100 * 1 + 300 * 5) / 1e6, 12);
  });
});

describe("admitNext (read off the batch record)", () => {
  it("counts live attempts at their estimate, finished ones at what they used, and prices the candidate at its model", () => {
    const b = batchOf([spec("done"), spec("live"), spec("next")], { budget: { maxTokens: 10_000 } });
    b.runs[0].attempts = [attempt({ outcome: "ok", tokens: 3000, usage: { inputTokens: 2500, outputTokens: 500 } })];
    b.runs[0].state = "ok";
    b.runs[1].attempts = [attempt({ model: "m/cheap" })];
    b.runs[1].state = "running";
    // calibrated: ~2,500 input, 500 output an attempt; spent 3,000 + live ~3,000 + next ~3,000 fits 10,000
    expect(admitNext(b, 2, "m/cheap")).toEqual({ kind: "start" });
    b.options.budget = { maxTokens: 8_000 };
    expect(admitNext(b, 2, "m/cheap")).toEqual({ kind: "wait" });
    b.runs[1].attempts[0] = attempt({ outcome: "ok", tokens: 3000, usage: { inputTokens: 2500, outputTokens: 500 } });
    b.runs[1].state = "ok";
    expect(admitNext(b, 2, "m/cheap")).toMatchObject({ kind: "refuse", reason: expect.stringMatching(/^not started: budget maxTokens 8,000 has 2,000 tokens left/) });
  });

  it("prices runs without a model (the agent's default) at the batch's defaultModel, live ones too", () => {
    const b = batchOf([spec("live"), spec("next")], { budget: { maxCostUsd: 0.01 }, prices: { "m/dear": { input: 1, output: 1 } }, modelOverride: false, defaultModel: "m/dear" });
    b.runs[0].attempts = [attempt({})];
    b.runs[0].state = "running";
    // each guess: ~3,800 tokens at $1 per million = ~$0.0038; live + next fit $0.01 only at 1x, not at the uncalibrated 3x
    expect(admitNext(b, 1, undefined)).toEqual({ kind: "wait" });
    b.options.defaultModel = undefined; // unpriced: nothing to hold the cost cap against
    expect(admitNext(b, 1, undefined)).toEqual({ kind: "start" });
  });

  it("always starts without a budget", () => {
    expect(admitNext(batchOf([spec("a")]), 0, "m/cheap")).toEqual({ kind: "start" });
  });
});

const running: { engine: { stop(): Promise<void> } }[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((t) => t.engine.stop()));
});

describe("the scheduler under a budget", () => {
  /** Every child uses 10,000 tokens: far more than the up-front guess of ~3,800. */
  const heavy = () => new MemoryRuntime(() => ({ delayMs: 30, usage: { inputTokens: 9_000, outputTokens: 1_000 } }));

  it("five runs in flight under a token cap: spent never passes the cap by more than one attempt, the rest end failed naming the budget", async () => {
    const rt = heavy();
    const cap = 32_000;
    const t = setup(Array.from({ length: 10 }, (_, i) => spec(`r${i}`)), rt, { maxConcurrency: 5, budget: { maxTokens: cap } });
    running.push(t);
    const b = await t.done();
    const spent = batchTotals(b).tokens;
    expect(spent).toBeLessThanOrEqual(cap + 10_000);
    expect(spent).toBe(30_000); // three attempts fit; the fourth would not
    const notStarted = b.runs.filter((r) => r.attempts.length === 0);
    expect(notStarted).toHaveLength(7);
    for (const r of notStarted) {
      expect(r.state).toBe("failed");
      expect(r.error).toMatch(/^not started: budget maxTokens 32,000 has 2,000 tokens left \(30,000 used\) and this attempt is estimated at 10,0\d\d$/);
    }
    expect(rt.runs).toHaveLength(3);
  });

  it("with room for everything, runs still start side by side up to maxConcurrency", async () => {
    const rt = heavy();
    const t = setup(Array.from({ length: 6 }, (_, i) => spec(`r${i}`)), rt, { maxConcurrency: 5, budget: { maxTokens: 1_000_000 } });
    running.push(t);
    const b = await t.done();
    expect(Object.values(labelsOf(b))).toEqual(Array(6).fill("ok"));
    expect(rt.peakLive).toBe(5);
  });

  it("a cost cap holds the same way, each attempt priced at the rung it runs on", async () => {
    const rt = heavy();
    // m/cheap at $1/$5 per million: 9,000 in + 1,000 out = $0.014 an attempt.
    const t = setup(Array.from({ length: 8 }, (_, i) => spec(`r${i}`)), rt, { maxConcurrency: 5, budget: { maxCostUsd: 0.05 } });
    running.push(t);
    const b = await t.done();
    expect(batchTotals(b).costUsd).toBeCloseTo(0.042, 9);
    expect(b.runs.filter((r) => r.state === "ok")).toHaveLength(3);
    for (const r of b.runs.filter((x) => x.state === "failed")) expect(r.error).toMatch(/^not started: budget maxCostUsd \$0\.05 has \$0\.008 left/);
  });
});
