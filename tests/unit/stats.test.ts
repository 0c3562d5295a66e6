// The stats view of the ladder at work, computed from the store: per model, per role, the totals
// against the strongest-rung baseline, learned starts; and where it is shown (CLI, gateway method,
// chat command, doctor).
import { describe, expect, it } from "vitest";
import type { Attempt, AttemptOutcome, BatchRecord, RunRecord, RunSpec } from "../../src/batch/types.js";
import { answerChatCommand } from "../../src/cli/chat-command.js";
import { type Cmd, offlineDoctor, registerCommands } from "../../src/cli/commands.js";
import { formatDoctor } from "../../src/cli/format.js";
import { registerGatewayMethods } from "../../src/cli/gateway-methods.js";
import { storeDirOf } from "../../src/cli/views.js";
import { resolveConfig } from "../../src/config.js";
import { setCurrentEngine } from "../../src/engine/process-engine.js";
import { batchBaseline } from "../../src/stats/baseline.js";
import { formatStats } from "../../src/stats/format.js";
import { parseSince } from "../../src/stats/since.js";
import { statsView } from "../../src/stats/view.js";
import { BatchStore } from "../../src/store/batch-store.js";
import { batchOf, engineOn, spec, tempDir } from "../support/batch.js";
import { MemoryRuntime } from "../support/memory-runtime.js";

const PRICES = { "m/cheap": { input: 1, output: 1 }, "m/mid": { input: 10, output: 10 }, "m/strong": { input: 100, output: 100 } };
const DAY = 86_400_000;
const NOW = Date.UTC(2026, 11, 4, 12);

/** An ended attempt of `tokens` input tokens on `model`, priced as PRICES says. */
function attempt(model: string | undefined, outcome: AttemptOutcome | undefined, tokens: number, nextModel?: string): Attempt {
  const p = model ? PRICES[model as keyof typeof PRICES] : undefined;
  return {
    n: 1, model, sessionKey: "s", owner: "o", startedAt: 1, endedAt: outcome ? 2 : undefined, outcome, tokens,
    usage: { inputTokens: tokens, outputTokens: 0 }, costUsd: p ? (tokens * p.input) / 1e6 : 0, ...(nextModel ? { nextModel } : {}),
  };
}
const run = (state: RunRecord["state"], attempts: Attempt[], s: Partial<RunSpec> = {}): RunRecord => ({
  spec: spec("r", s), state, attempts: attempts.map((a, i) => ({ ...a, n: i + 1 })),
});
function batch(runs: RunRecord[], extra: Partial<BatchRecord> = {}): BatchRecord {
  return { ...batchOf([], { prices: PRICES }), createdAt: NOW - DAY, runs, ...extra };
}
function storeWith(...batches: BatchRecord[]): BatchStore {
  const store = BatchStore.open(tempDir());
  for (const b of batches) store.create(b);
  return store;
}

/** Three researcher runs (one escalated twice), a free-form task, a coder on mid; another agent's run. */
function fixture() {
  const research = batch([
    run("ok", [attempt("m/cheap", "invalid_json", 1000, "m/mid"), attempt("m/mid", "ok", 1000)], { role: "researcher" }),
    run("ok", [attempt("m/cheap", "ok", 1000)], { role: "researcher" }),
    run("failed", [attempt("m/cheap", "empty_output", 500, "m/mid"), attempt("m/mid", "schema_violation", 500, "m/strong"), attempt("m/strong", "timeout", 500)], { role: "researcher" }),
    run("ok", [attempt("m/cheap", "provider_error", 10, "m/cheap"), attempt("m/cheap", "ok", 990)]),
  ]);
  const coder = batch([run("running", [attempt("m/mid", undefined, 0)], { role: "coder", tier: 1 })], { createdAt: NOW - 2 * DAY });
  const theirs = batch([run("ok", [attempt("m/strong", "ok", 7)], { role: "researcher" })], { agentId: "other", createdAt: NOW - 10 * DAY });
  return { research, coder, theirs };
}

describe("statsView", () => {
  it("per model: attempts, ok, failures by outcome, escalations away from it, tokens, cost", () => {
    const f = fixture();
    const v = statsView(storeWith(f.research, f.coder, f.theirs), { now: NOW });
    const by = Object.fromEntries(v.models.map((m) => [m.model, m]));
    expect(v.models.map((m) => m.model)).toEqual(["m/cheap", "m/mid", "m/strong"]);
    expect(by["m/cheap"]).toEqual({
      model: "m/cheap", attempts: 5, ok: 2, failures: { invalid_json: 1, empty_output: 1, provider_error: 1 }, running: 0, escalations: 2, tokens: 3500, costUsd: 0.0035,
    });
    expect(by["m/mid"]).toEqual({ model: "m/mid", attempts: 3, ok: 1, failures: { schema_violation: 1 }, running: 1, escalations: 1, tokens: 1500, costUsd: 0.015 });
    expect(by["m/strong"]).toEqual({ model: "m/strong", attempts: 2, ok: 1, failures: { timeout: 1 }, running: 0, escalations: 0, tokens: 507, costUsd: 0.0507 });
  });

  it("per role: runs, first-rung success rate, mean attempts, cost; free-form tasks as (task)", () => {
    const f = fixture();
    const v = statsView(storeWith(f.research, f.coder, f.theirs), { now: NOW });
    const by = Object.fromEntries(v.roles.map((r) => [r.role, r]));
    expect(v.roles.map((r) => r.role)).toEqual(["researcher", "(task)", "coder"]);
    // other's run on strong passed its first rung: 2 of 4 judged researcher runs.
    expect(by.researcher).toEqual({ role: "researcher", runs: 4, judged: 4, firstRungOk: 2, firstRungSuccessRate: 0.5, meanAttempts: 1.75, tokens: 4507, costUsd: 0.0682 });
    expect(by["(task)"]).toMatchObject({ runs: 1, judged: 1, firstRungOk: 1, firstRungSuccessRate: 1, meanAttempts: 2 });
    expect(by.coder).toMatchObject({ runs: 1, judged: 0, firstRungSuccessRate: null, meanAttempts: 1 });
  });

  it("totals: cost against the same tokens on each batch's strongest rung, and what that saved", () => {
    const f = fixture();
    const v = statsView(storeWith(f.research, f.coder), { now: NOW });
    // 5,500 tokens answered at $100/M on m/strong = $0.55; spent 0.0035 + 0.015 + 0.05 = $0.0685.
    expect(v.totals).toEqual({
      batches: 2, runs: 5, attempts: 9, tokens: 5500, costUsd: 0.0685, baselineCostUsd: 0.55, savedUsd: 0.4815, savedPct: 87.5, baselineModels: ["m/strong"],
    });
  });

  it("scopes to one agent and to batches created since a time; says the scope", () => {
    const f = fixture();
    const store = storeWith(f.research, f.coder, f.theirs);
    expect(statsView(store, { agentId: "other", now: NOW }).totals).toMatchObject({ batches: 1, runs: 1, tokens: 7 });
    const recent = statsView(store, { since: "36h", now: NOW });
    expect(recent.totals).toMatchObject({ batches: 1, runs: 4 });
    expect(recent.scope).toEqual({ agentId: null, since: new Date(NOW - 36 * 3_600_000).toISOString() });
    expect(statsView(store, { since: "7d", now: NOW }).totals.batches).toBe(2);
    expect(statsView(store, { now: NOW }).scope).toEqual({ agentId: null, since: null });
  });

  it("runs on the agent's default model count as \"default\"; runs never started count as runs but not in mean attempts; since includes its own instant", () => {
    const b = batch([run("ok", [attempt(undefined, "ok", 10)], { role: "writer" }), run("cancelled", [], { role: "writer" })], { createdAt: NOW - DAY });
    const v = statsView(storeWith(b), { since: NOW - DAY, now: NOW });
    expect(v.models.map((m) => m.model)).toEqual(["default"]);
    expect(v.roles).toEqual([expect.objectContaining({ role: "writer", runs: 2, meanAttempts: 1 })]);
    expect(v.totals.batches).toBe(1);
  });

  it("an empty store has zero totals and no savings figure", () => {
    const v = statsView(storeWith(), { now: NOW });
    expect(v.totals).toMatchObject({ batches: 0, attempts: 0, costUsd: 0, baselineCostUsd: 0, savedUsd: 0, savedPct: null });
    expect(v.models).toEqual([]);
    expect(formatStats(v)).toMatch(/0 batches[\s\S]*No attempts yet\./);
  });

  it("lists the learned starts of the agents in scope, with their notes", () => {
    const failing = Array.from({ length: 6 }, () => run("ok", [attempt("m/cheap", "invalid_json", 10, "m/mid"), attempt("m/mid", "ok", 10)], { role: "researcher" }));
    const store = storeWith(batch(failing));
    const v = statsView(store, { now: NOW });
    expect(v.learnedStarts).toEqual([
      { agentId: "main", role: "researcher", from: "m/cheap", to: "m/mid", failed: 6, of: 6, note: "researcher starts on m/mid: m/cheap failed 6 of its last 6 researcher runs" },
    ]);
    expect(statsView(store, { agentId: "other", now: NOW }).learnedStarts).toEqual([]);
    expect(statsView(store, { now: NOW, adaptiveLadder: false }).learnedStarts).toEqual([]);
    expect(formatStats(v)).toContain("[main] researcher starts on m/mid: m/cheap failed 6 of its last 6 researcher runs");
  });

  it("the table names every model, its failures and the savings", () => {
    const f = fixture();
    const text = formatStats({ source: "gateway", ...statsView(storeWith(f.research, f.coder), { agentId: "main", now: NOW }) });
    expect(text).toMatch(/^parallel-agents stats \(agent main, all stored batches; from gateway\)/);
    expect(text).toContain("2 batches, 5 runs, 9 attempts, 5500 tokens, $0.0685; saved $0.4815 (87.5%) against all on m/strong ($0.55)");
    expect(text).toMatch(/MODEL\s+ATTEMPTS\s+OK\s+FAILURES\s+ESCALATED AWAY\s+TOKENS\s+COST/);
    expect(text).toMatch(/m\/cheap\s+5\s+2\s+invalid_json 1, empty_output 1, provider_error 1\s+2\s+3500\s+\$0\.0035/);
    expect(text).toMatch(/researcher\s+3\s+33% \(1\/3\)\s+2\s+4500/);
    expect(text).toContain("Learned starts: none");
  });
});

describe("batchBaseline", () => {
  it("prices every attempt's tokens on the strongest rung of the batch's ladder", () => {
    const b = batch([run("ok", [attempt("m/cheap", "invalid_json", 1000), attempt("m/mid", "ok", 2000)])]);
    expect(batchBaseline(b)).toEqual({ model: "m/strong", costUsd: 0.3 });
  });

  it("claims no savings when the strongest rung has no price or runs could not choose models", () => {
    const unpriced = batch([run("ok", [attempt("m/cheap", "ok", 1000)])], { options: { ...batchOf([]).options, prices: { "m/cheap": PRICES["m/cheap"] } } });
    expect(batchBaseline(unpriced)).toEqual({ costUsd: 0.001 });
    const noOverride = batch([run("ok", [attempt("m/cheap", "ok", 1000)])], { options: { ...batchOf([], { prices: PRICES }).options, modelOverride: false } });
    expect(batchBaseline(noOverride)).toEqual({ costUsd: 0.001 });
  });
});

describe("parseSince", () => {
  it("takes durations back from now, dates and epoch ms; absent is all time", () => {
    expect(parseSince("7d", NOW)).toBe(NOW - 7 * DAY);
    expect(parseSince("12h", NOW)).toBe(NOW - 12 * 3_600_000);
    expect(parseSince("30m", NOW)).toBe(NOW - 30 * 60_000);
    expect(parseSince("2w", NOW)).toBe(NOW - 14 * DAY);
    expect(parseSince(" 1.5D ", NOW)).toBe(NOW - 1.5 * DAY);
    expect(parseSince("2026-12-01", NOW)).toBe(Date.UTC(2026, 11, 1));
    expect(parseSince(12345, NOW)).toBe(12345);
    expect(parseSince(0, NOW)).toBe(0);
    expect(parseSince(null, NOW)).toBeUndefined();
    expect(parseSince("10 h", NOW)).toBe(NOW - 10 * 3_600_000);
    expect(parseSince("2.25h", NOW)).toBe(NOW - 2.25 * 3_600_000);
    expect(parseSince("2026-12-01T06:00:00Z", NOW)).toBe(Date.UTC(2026, 11, 1, 6));
    expect(parseSince(undefined, NOW)).toBeUndefined();
    expect(parseSince("", NOW)).toBeUndefined();
  });

  it("refuses anything else, saying what it takes", () => {
    for (const bad of ["7", "soon", "7y", "-3d", "12/01/2026", -5, "7dx", "7d ago", "7-d", "x2026-12-01", "2026-12-1", Number.NaN, "123"]) {
      expect(() => parseSince(bad, NOW), String(bad)).toThrow(/since: ".*" is not a duration or a date; use e\.g\. 30m, 12h, 7d, 2w or 2026-12-01/);
    }
    expect(() => parseSince("x".repeat(100), NOW)).toThrow(`since: "${"x".repeat(40)}" is not`);
  });
});

/** The registered `stats` command's action, from the command tree registerCommands builds. */
function statsCommand(deps: Parameters<typeof registerCommands>[1]): (opts: Record<string, unknown>) => Promise<unknown> {
  const actions = new Map<string, (...a: any[]) => unknown>();
  const node = (name: string): Cmd => {
    const self: Cmd = {
      command: (n) => node(n),
      description: () => self,
      argument: () => self,
      option: () => self,
      action: (fn) => (actions.set(name, fn), self),
    };
    return self;
  };
  registerCommands(node("root"), deps);
  return async (opts) => actions.get("stats")!(opts);
}

describe("where stats are shown", () => {
  const deps = { config: resolveConfig({ ladder: ["m/cheap", "m/mid", "m/strong"] }), hostConfig: () => ({}), host: () => ({}) };

  it("the gateway method answers from the engine's store, scoped and filtered; a bad since is INVALID_REQUEST", async () => {
    const methods = new Map<string, (o: { params?: unknown; respond: (ok: boolean, p?: unknown, e?: unknown) => void }) => unknown>();
    registerGatewayMethods({ registerGatewayMethod: (m, h) => void methods.set(m, h as never) }, deps);
    const ask = async (params?: unknown) => {
      let r: unknown[] = [];
      await methods.get("parallel-agents.stats")!({ params, respond: (...a) => (r = a) });
      return r as [boolean, any, any];
    };
    setCurrentEngine(undefined);
    expect((await ask())[0]).toBe(false);
    const dir = tempDir();
    const f = fixture();
    storeWith(f.research, f.theirs).close();
    const engine = engineOn(dir, new MemoryRuntime());
    engine.store.create(f.research);
    engine.store.create(f.theirs);
    setCurrentEngine(engine);
    try {
      const [ok, all] = await ask();
      expect(ok).toBe(true);
      expect(all).toMatchObject({ source: "gateway", totals: { batches: 2 } });
      expect((await ask({ agentId: "other" }))[1].totals).toMatchObject({ batches: 1, tokens: 7 });
      expect((await ask({ since: "3d" }))[1].totals.batches).toBe(1);
      expect((await ask({ since: "soon" }))[2]).toMatchObject({ code: "INVALID_REQUEST", message: expect.stringMatching(/since: "soon"/) });
      expect((await ask({ agentId: 5 }))[2]).toMatchObject({ code: "INVALID_REQUEST" });
    } finally {
      setCurrentEngine(undefined);
      engine.store.close();
    }
  });

  it("/parallel-agents stats shows the conversation's agent only", async () => {
    const f = fixture();
    const engine = engineOn(tempDir(), new MemoryRuntime());
    engine.store.create(f.research);
    engine.store.create(f.theirs);
    setCurrentEngine(engine);
    await engine.start();
    try {
      const mine = await answerChatCommand({ args: "stats", agentId: "main" }, deps);
      expect(mine).toMatch(/^parallel-agents stats \(agent main, all stored batches; from gateway, agent main\)/);
      expect(mine).toContain("1 batches, 4 runs");
      const theirs = await answerChatCommand({ args: "stats", agentId: "other" }, deps);
      expect(theirs).toContain("1 batches, 1 runs, 1 attempts, 7 tokens");
      expect(await answerChatCommand({ args: "stats 1m", agentId: "main" }, deps)).toContain("0 batches");
      expect(await answerChatCommand({ args: "stats whenever", agentId: "main" }, deps)).toMatch(/since: "whenever" is not a duration/);
    } finally {
      setCurrentEngine(undefined);
      await engine.stop();
      engine.store.close();
    }
  });

  it("the CLI without a gateway reads the store read-only; doctor lists the learned starts", async () => {
    const state = tempDir("pa-unit-stats-");
    const failing = Array.from({ length: 5 }, () => run("ok", [attempt("m/cheap", "invalid_json", 10, "m/mid"), attempt("m/mid", "ok", 10)], { role: "researcher" }));
    const store = BatchStore.open(storeDirOf(state));
    store.create(batch(failing));
    store.close();
    const out: string[] = [];
    const err: string[] = [];
    const asked: unknown[] = [];
    const call = async (method: string, params: unknown) => (asked.push([method, params]), { ok: false as const, unreachable: true, message: "down" });
    const stats = statsCommand({ hostConfig: {}, stateDir: () => state, out: (t: string) => void out.push(t), err: (t: string) => void err.push(t), call });
    await stats({ json: true, since: "7d", agent: "main" });
    expect(asked).toEqual([["parallel-agents.stats", { since: "7d", agentId: "main" }]]);
    expect(err.join("\n")).toMatch(/gateway not reachable \(down\); reading .*batches\.sqlite read-only/);
    const view = JSON.parse(out[0]);
    expect(view).toMatchObject({ source: "store (read-only; gateway not reachable)", scope: { agentId: "main" }, totals: { batches: 1, runs: 5 } });
    expect(view.learnedStarts).toHaveLength(1);
    await stats({});
    expect(out[1]).toMatch(/^parallel-agents stats \(all agents, all stored batches; from store/);
    await stats({ since: "whenever" });
    expect(err.at(-1)).toMatch(/since: "whenever" is not a duration or a date/);
    expect(process.exitCode).toBe(1);
    process.exitCode = 0;
    const statsOff = statsCommand({ hostConfig: {}, pluginConfig: { adaptiveLadder: false }, stateDir: () => state, out: (t: string) => void out.push(t), err: () => undefined, call });
    await statsOff({ json: true });
    expect(JSON.parse(out.at(-1)!).learnedStarts).toEqual([]);
    const doctor = offlineDoctor({ hostConfig: {}, stateDir: () => state });
    expect(doctor.adaptiveLadder).toBe(true);
    expect(doctor.learnedStarts).toMatchObject([{ agentId: "main", role: "researcher", from: "m/cheap", to: "m/mid", failed: 5, of: 5 }]);
    expect(formatDoctor(doctor)).toContain("learned starts:\n  [main] researcher starts on m/mid: m/cheap failed 5 of its last 5 researcher runs");
    const off = offlineDoctor({ hostConfig: {}, pluginConfig: { adaptiveLadder: false }, stateDir: () => state });
    expect(off.learnedStarts).toEqual([]);
    expect(formatDoctor(off)).toContain("adaptiveLadder: false (off: every role starts on its own rung)");
    expect(formatDoctor(off)).toContain("learned starts: none");
  });
});
