// The adaptive ladder: the rule (what a run says about its starting rung, when a role moves up, the
// one-in-ten exploration), its evidence read from the store, and the tools applying it.
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Attempt, AttemptOutcome, RunRecord, RunSpec, RunState } from "../../src/batch/types.js";
import { adaptStarts, adaptiveOn } from "../../src/ladder-learning/apply.js";
import { learnedStarts, roleHistory } from "../../src/ladder-learning/history.js";
import { EXPLORE_RATE, THRESHOLD, WINDOW, explores, learnStart, learnedNote, startVerdict, type StartVerdict } from "../../src/ladder-learning/rule.js";
import { BatchStore } from "../../src/store/batch-store.js";
import { batchOf, spec, tempDir } from "../support/batch.js";
import { fakeHost } from "../support/fake-host.js";

const LADDER = ["m/cheap", "m/mid", "m/strong"];
let t = 1_000;
const attempt = (model: string | undefined, outcome: AttemptOutcome | undefined, extra: Partial<Attempt> = {}): Attempt => ({
  n: 1, model, sessionKey: "s", owner: "o", startedAt: t, endedAt: outcome ? ++t : undefined, tokens: 0, usage: { inputTokens: 0, outputTokens: 0 }, costUsd: 0, outcome, ...extra,
});
const run = (state: RunState, attempts: Attempt[], s: Partial<RunSpec> = {}): RunRecord => ({ spec: spec("r", { role: "researcher", ...s }), state, attempts });
const fail = (start = "m/cheap"): StartVerdict => ({ start, failed: true });
const pass = (start = "m/cheap"): StartVerdict => ({ start, failed: false });
/** A random source that returns these values in turn. */
const sequence = (...values: number[]) => {
  let i = 0;
  return () => values[i++ % values.length];
};

describe("startVerdict: what a finished run says about the rung it started on", () => {
  it("ok on its first rung is a pass; escalated and ok higher up is a failure of the first rung", () => {
    expect(startVerdict(run("ok", [attempt("m/cheap", "ok")]))).toEqual({ start: "m/cheap", failed: false });
    expect(startVerdict(run("ok", [attempt("m/cheap", "invalid_json"), attempt("m/mid", "ok")]))).toEqual({ start: "m/cheap", failed: true });
    expect(startVerdict(run("failed", [attempt("m/cheap", "schema_violation")]))).toEqual({ start: "m/cheap", failed: true });
    expect(startVerdict(run("timed_out", [attempt("m/cheap", "timeout")]))).toEqual({ start: "m/cheap", failed: true });
  });

  it("a retry on the same rung that succeeds is a pass", () => {
    expect(startVerdict(run("ok", [attempt("m/cheap", "provider_error"), attempt("m/cheap", "ok")]))).toEqual({ start: "m/cheap", failed: false });
  });

  it("says nothing while the run is going, without a ladder model, or when only the gateway, a cancel or the budget ended it", () => {
    expect(startVerdict(run("running", [attempt("m/cheap", "invalid_json"), attempt("m/mid", undefined)]))).toBeUndefined();
    expect(startVerdict(run("queued", []))).toBeUndefined();
    expect(startVerdict(run("failed", []))).toBeUndefined();
    expect(startVerdict(run("ok", [attempt(undefined, "ok")]))).toBeUndefined();
    expect(startVerdict(run("cancelled", [attempt("m/cheap", "cancelled")]))).toBeUndefined();
    expect(startVerdict(run("failed", [attempt("m/cheap", "budget")]))).toBeUndefined();
    expect(startVerdict(run("cancelled", [attempt("m/cheap", "interrupted"), attempt("m/cheap", "cancelled")]))).toBeUndefined();
  });

  it("an attempt that never ended (a run ended around it) is no evidence", () => {
    expect(startVerdict(run("failed", [attempt("m/cheap", undefined)]))).toBeUndefined();
  });

  it("an interruption before an ok on the same rung is still a pass", () => {
    expect(startVerdict(run("ok", [attempt("m/cheap", "interrupted"), attempt("m/cheap", "ok")]))).toEqual({ start: "m/cheap", failed: false });
  });
});

describe("learnStart: at least 5 of the last 10 finished runs failed on their starting rung", () => {
  it("the thresholds are the issue's: 5 of 10, one in ten explores", () => {
    expect([THRESHOLD, WINDOW, EXPLORE_RATE]).toEqual([5, 10, 0.1]);
  });

  it("4 failures of 10 keep the rung; 5 move one usable rung up", () => {
    const four = [fail(), fail(), fail(), fail(), ...Array(6).fill(pass())];
    expect(learnStart("researcher", "m/cheap", LADDER, four)).toBeUndefined();
    expect(learnStart("researcher", "m/cheap", LADDER, [fail(), ...four])).toEqual({ role: "researcher", from: "m/cheap", to: "m/mid", failed: 5, of: 10 });
  });

  it("fewer than 10 runs count as they are: 6 of 6 and 5 of 5 move, 4 of 4 does not", () => {
    expect(learnStart("researcher", "m/cheap", LADDER, Array(6).fill(fail()))).toMatchObject({ failed: 6, of: 6 });
    expect(learnStart("researcher", "m/cheap", LADDER, Array(5).fill(fail()))).toMatchObject({ failed: 5, of: 5 });
    expect(learnStart("researcher", "m/cheap", LADDER, Array(4).fill(fail()))).toBeUndefined();
  });

  it("only the newest 10 runs count: old failures behind 10 passes are forgotten", () => {
    const history = [...Array(6).fill(pass()), ...Array(4).fill(fail()), ...Array(10).fill(fail())];
    expect(learnStart("researcher", "m/cheap", LADDER, history)).toBeUndefined();
    expect(learnStart("researcher", "m/cheap", LADDER, [...Array(5).fill(pass()), ...Array(5).fill(fail()), ...Array(10).fill(pass())])).toMatchObject({ failed: 5, of: 10 });
  });

  it("only runs that started on that rung count (runs that already started higher are no evidence about it)", () => {
    const history = [...Array(8).fill(pass("m/mid")), fail(), fail(), fail(), fail()];
    expect(learnStart("researcher", "m/cheap", LADDER, history)).toBeUndefined();
    expect(learnStart("researcher", "m/cheap", LADDER, [...history, fail()])).toMatchObject({ failed: 5, of: 5 });
  });

  it("a role on the top rung, or on a rung off the usable ladder, stays where it is", () => {
    expect(learnStart("r", "m/strong", LADDER, Array(10).fill(fail("m/strong")))).toBeUndefined();
    expect(learnStart("r", "gone/model", LADDER, Array(10).fill(fail("gone/model")))).toBeUndefined();
  });

  it("moves from a middle rung to the one above it", () => {
    expect(learnStart("coder", "m/mid", LADDER, Array(5).fill(fail("m/mid")))).toMatchObject({ from: "m/mid", to: "m/strong" });
  });

  it("one run in ten explores: below 0.1 it keeps the lower rung", () => {
    expect(explores(() => 0)).toBe(true);
    expect(explores(() => 0.0999)).toBe(true);
    expect(explores(() => 0.1)).toBe(false);
    expect(explores(() => 0.99)).toBe(false);
  });

  it("the note says which role, the rung and why, and how many runs still try the lower rung", () => {
    const l = { role: "researcher", from: "fake/cheap", to: "fake/mid", failed: 6, of: 6 };
    expect(learnedNote(l)).toBe("researcher starts on fake/mid: fake/cheap failed 6 of its last 6 researcher runs");
    expect(learnedNote(l, 1, 4)).toBe(
      "researcher starts on fake/mid: fake/cheap failed 6 of its last 6 researcher runs (1 of 4 researcher runs in this batch still starts on fake/cheap, to keep checking it)",
    );
    expect(learnedNote(l, 2, 1 + 1)).toMatch(/\(2 of 2 researcher runs in this batch still start on fake\/cheap/);
    expect(learnedNote(l, 1, 1)).toMatch(/\(1 of 1 researcher run in this batch still starts on/);
  });
});

describe("adaptStarts: applying learned starts to a batch's runs", () => {
  const failing = () => new Map([["researcher", Array(6).fill(fail())]]);

  it("runs of a learned role start one rung up, except the ones the dice keep on the lower rung; the note counts them", () => {
    const specs = ["a", "b", "c", "d"].map((l) => spec(l, { role: "researcher" }));
    const out = adaptStarts({ specs, ladder: LADDER, history: failing, random: sequence(0.5, 0.05, 0.9, 0.2) });
    expect(out.specs.map((s) => [s.tier, s.learnedFrom])).toEqual([[1, "m/cheap"], [0, undefined], [1, "m/cheap"], [1, "m/cheap"]]);
    expect(out.notes).toEqual([
      "researcher starts on m/mid: m/cheap failed 6 of its last 6 researcher runs (1 of 4 researcher runs in this batch still starts on m/cheap, to keep checking it)",
    ]);
    expect(specs[0].tier).toBe(0); // the input is not changed
  });

  it("pinned runs, free-form tasks and other roles keep their starts; the history is asked about learnable roles only", () => {
    const asked: Map<string, string>[] = [];
    const specs = [spec("pin", { role: "researcher", model: "m/cheap" }), spec("free"), spec("coder", { role: "coder", tier: 1 }), spec("r", { role: "researcher" })];
    const out = adaptStarts({
      specs, ladder: LADDER, random: () => 0.5,
      history: (wanted) => (asked.push(wanted), new Map([["researcher", Array(6).fill(fail())], ["coder", Array(4).fill(fail("m/mid"))]])),
    });
    expect(asked).toEqual([new Map([["researcher", "m/cheap"], ["coder", "m/mid"]])]);
    expect(out.specs.slice(0, 3)).toEqual(specs.slice(0, 3));
    expect(out.specs[3]).toMatchObject({ tier: 1, learnedFrom: "m/cheap" });
    expect(out.notes).toHaveLength(1);
    expect(out.learned.map((l) => l.role)).toEqual(["researcher"]);
  });

  it("without learnable runs the history is not read", () => {
    const history = vi.fn(() => new Map());
    const specs = [spec("free"), spec("pin", { role: "researcher", model: "m/mid" })];
    expect(adaptStarts({ specs, ladder: LADDER, history, random: () => 0.5 })).toEqual({ specs, notes: [], learned: [] });
    expect(history).not.toHaveBeenCalled();
  });

  it("a role whose rung has too few failures keeps it and gets no note", () => {
    const specs = [spec("r", { role: "researcher" })];
    const out = adaptStarts({ specs, ladder: LADDER, history: () => new Map([["researcher", Array(4).fill(fail())]]), random: () => 0.5 });
    expect(out).toEqual({ specs, notes: [], learned: [] });
  });

  it("a tier past the top of a short usable ladder counts as its top rung", () => {
    const asked: Map<string, string>[] = [];
    const history = (wanted: Map<string, string>) => (asked.push(wanted), new Map([["researcher", Array(5).fill(fail("m/mid"))]]));
    const out = adaptStarts({ specs: [spec("r", { role: "researcher", tier: 5 })], ladder: ["m/cheap", "m/mid"], history, random: () => 0.5 });
    expect(asked).toEqual([new Map([["researcher", "m/mid"]])]);
    expect(out.specs[0].tier).toBe(5);
    expect(out.notes).toEqual([]);
  });

  it("with no usable rung nothing is learnable and the history is not read", () => {
    const history = vi.fn(() => new Map());
    const specs = [spec("r", { role: "researcher" })];
    expect(adaptStarts({ specs, ladder: [], history, random: () => 0.5 }).specs).toEqual(specs);
    expect(history).not.toHaveBeenCalled();
  });

  it("only runs of the role on the learned rung move; the same role started higher keeps its start", () => {
    const specs = [spec("high", { role: "researcher", tier: 1 }), spec("low", { role: "researcher" })];
    const out = adaptStarts({ specs, ladder: LADDER, history: () => new Map([["researcher", Array(5).fill(fail())]]), random: () => 0.5 });
    expect(out.specs.map((x) => [x.label, x.tier, x.learnedFrom])).toEqual([["high", 1, undefined], ["low", 1, "m/cheap"]]);
  });

  it("learning is on unless the config or the call turns it off, the call gives its own ladder, or models cannot be chosen", () => {
    const on = { configured: true, call: undefined, explicitLadder: false, modelOverride: true };
    expect(adaptiveOn(on)).toBe(true);
    expect(adaptiveOn({ ...on, call: true })).toBe(true);
    expect(adaptiveOn({ ...on, call: false })).toBe(false);
    expect(adaptiveOn({ ...on, configured: false })).toBe(false);
    expect(adaptiveOn({ ...on, explicitLadder: true })).toBe(false);
    expect(adaptiveOn({ ...on, modelOverride: false })).toBe(false);
  });
});

describe("the evidence in the store", () => {
  const finished = (label: string, outcomes: [string, AttemptOutcome][], s: Partial<RunSpec> = {}): RunRecord => ({
    spec: spec(label, { role: "researcher", ...s }), state: outcomes.at(-1)![1] === "ok" ? "ok" : "failed",
    attempts: outcomes.map(([model, outcome], i) => attempt(model, outcome, { n: i + 1 })),
  });
  const storeWith = (...batches: { agentId?: string; runs: RunRecord[]; ladder?: string[] }[]) => {
    const store = BatchStore.open(tempDir());
    batches.forEach((b, i) => {
      const batch = { ...batchOf([], { ladder: b.ladder ?? LADDER }), agentId: b.agentId ?? "main", createdAt: 1_000 + i, runs: b.runs };
      store.create(batch);
    });
    return store;
  };

  it("roleHistory: newest batch first, newest-ended run first, one agent only", () => {
    const store = storeWith(
      { runs: [finished("old", [["m/cheap", "ok"]])] },
      { agentId: "other", runs: [finished("theirs", [["m/cheap", "invalid_json"], ["m/mid", "ok"]])] },
      { runs: [finished("a", [["m/cheap", "invalid_json"], ["m/mid", "ok"]]), finished("b", [["m/cheap", "empty_output"], ["m/mid", "ok"]]), finished("free", [["m/cheap", "ok"]], { role: undefined })] },
    );
    const h = roleHistory(store, "main", new Map([["researcher", "m/cheap"]]));
    expect(h.get("researcher")).toEqual([fail(), fail(), pass()]);
    expect(roleHistory(store, "other", new Map([["researcher", "m/cheap"]])).get("researcher")).toEqual([fail()]);
  });

  it("roleHistory orders a batch's runs by when they ended, skips runs never started and roles not asked about", () => {
    const late = finished("late", [["m/cheap", "ok"]]);
    const early = finished("early", [["m/cheap", "invalid_json"], ["m/mid", "ok"]]);
    for (const a of late.attempts) a.endedAt = 9_000_000;
    const never: RunRecord = { spec: spec("never", { role: "researcher" }), state: "cancelled", attempts: [] };
    const coder = finished("coder", [["m/mid", "ok"]], { role: "coder" });
    const store = storeWith({ runs: [late, never, early, coder] });
    expect(roleHistory(store, "main", new Map([["researcher", "m/cheap"]])).get("researcher")).toEqual([pass(), fail()]);
  });

  it("roleHistory reads on until every role asked about has a full window on its own rung", () => {
    const olderCheap = Array.from({ length: 3 }, (_, i) => finished(`c${i}`, [["m/cheap", "invalid_json"], ["m/mid", "ok"]]));
    const newerOnMid = Array.from({ length: 10 }, (_, i) => finished(`m${i}`, [["m/mid", "ok"]], { learnedFrom: "m/cheap" }));
    const coders = Array.from({ length: 10 }, (_, i) => finished(`k${i}`, [["m/mid", "ok"]], { role: "coder" }));
    const store = storeWith({ runs: olderCheap }, { runs: [...newerOnMid, ...coders] });
    const h = roleHistory(store, "main", new Map([["researcher", "m/cheap"], ["coder", "m/mid"]]));
    expect(h.get("researcher")!.filter((v) => v.start === "m/cheap")).toEqual([fail(), fail(), fail()]);
    expect(h.get("coder")).toHaveLength(10);
  });

  it("roleHistory stops reading once every role has a full window on its rung", () => {
    const ten = Array.from({ length: 10 }, (_, i) => finished(`n${i}`, [["m/cheap", "ok"]]));
    const store = storeWith({ runs: [finished("older", [["m/cheap", "invalid_json"], ["m/mid", "ok"]])] }, { runs: ten });
    const load = vi.spyOn(store, "load");
    expect(roleHistory(store, "main", new Map([["researcher", "m/cheap"]])).get("researcher")).toEqual(Array(10).fill(pass()));
    expect(load).toHaveBeenCalledTimes(1);
  });

  it("learnedStarts lists each agent's learned roles, judged on the rung their newest unpinned run would start on", () => {
    const failing = Array.from({ length: 5 }, (_, i) => finished(`f${i}`, [["m/cheap", "invalid_json"], ["m/mid", "ok"]]));
    const store = storeWith(
      { runs: failing },
      { agentId: "other", runs: failing.slice(0, 4) },
      // Newest: a learned run (started on mid, moved up from cheap) and a pinned one: the rung judged stays cheap.
      { runs: [finished("learned", [["m/mid", "ok"]], { learnedFrom: "m/cheap", tier: 1 }), finished("pinned", [["m/strong", "ok"]], { model: "m/strong" })] },
    );
    expect(learnedStarts(store)).toEqual([{ agentId: "main", role: "researcher", from: "m/cheap", to: "m/mid", failed: 5, of: 5 }]);
    expect(learnedStarts(store, "other")).toEqual([]);
  });

  it("learnedStarts judges the rung of the newest run (a pin or a later ladder change counts as such), ignores free-form tasks and never-started runs", () => {
    const failingCheap = Array.from({ length: 5 }, (_, i) => finished(`f${i}`, [["m/cheap", "invalid_json"], ["m/mid", "ok"]]));
    const freeFailing = Array.from({ length: 5 }, (_, i) => finished(`t${i}`, [["m/cheap", "invalid_json"], ["m/mid", "ok"]], { role: undefined }));
    const never: RunRecord = { spec: spec("never", { role: "researcher" }), state: "cancelled", attempts: [] };
    const pinnedOnly = finished("p", [["m/strong", "invalid_json"]], { role: "coder", model: "m/strong" });
    // The newest researcher run starts on mid (its role's tier went up): cheap's old failures no longer apply.
    const store = storeWith(
      { runs: [...failingCheap, ...freeFailing] },
      { runs: [never, finished("pin-first", [["m/strong", "ok"]], { model: "m/strong" }), finished("now-on-mid", [["m/mid", "ok"]], { tier: 1 }), pinnedOnly] },
    );
    expect(learnedStarts(store)).toEqual([]);
  });
});

describe("through the tools (in-memory host)", () => {
  afterEach(() => vi.restoreAllMocks());
  const research = JSON.stringify({ topic: "t", summary: "s", findings: [{ claim: "c", evidence: "e", sources: ["s"] }], confidence: 0.8, openQuestions: [] });
  /** cheap answers prose (the JSON contract fails), the other rungs valid research JSON. */
  const host = (pluginConfig: Record<string, unknown> = {}) =>
    fakeHost({ pluginConfig: { ladder: LADDER, ...pluginConfig }, script: (req) => ({ reply: req.model === "m/cheap" ? "prose, not JSON" : research }) });
  const researchers = (n: number, extra: Record<string, unknown> = {}) => ({
    tasks: Array.from({ length: n }, (_, i) => ({ role: "researcher", vars: { topic: `t${i}` }, label: `r${i}` })), waitSeconds: 30, ...extra,
  });
  const starts = (d: any) => d.runs.map((r: any) => r.attempts[0].model);

  it("six researcher runs failing on cheap make the next ones start on mid with a note; other agents and free-form tasks are untouched", async () => {
    vi.spyOn(Math, "random").mockReturnValue(0.5);
    const h = await host();
    const first = await h.call("parallel_spawn", researchers(6));
    expect(starts(first.details)).toEqual(Array(6).fill("m/cheap"));
    expect(first.details.runs.every((r: any) => r.state === "ok" && r.attempts.at(-1).model === "m/mid")).toBe(true);
    const next = await h.call("parallel_spawn", { ...researchers(2), tasks: [...researchers(2).tasks, { task: "free", label: "free" }] });
    expect(starts(next.details)).toEqual(["m/mid", "m/mid", "m/cheap"]);
    expect(next.details.notes).toContain("researcher starts on m/mid: m/cheap failed 6 of its last 6 researcher runs");
    expect(next.content[0].text).toContain("Note: researcher starts on m/mid");
    const theirs = await h.call("parallel_spawn", researchers(1), "agent:other:main");
    expect(starts(theirs.details)).toEqual(["m/cheap"]);
    await h.stop();
  });

  it("a run the dice keep on cheap is said in the note", async () => {
    const h = await host();
    await h.call("parallel_spawn", researchers(5));
    vi.spyOn(Math, "random").mockReturnValueOnce(0.01).mockReturnValue(0.5);
    const { details } = await h.call("parallel_spawn", researchers(3));
    expect(starts(details)).toEqual(["m/cheap", "m/mid", "m/mid"]);
    expect(details.notes.join(" ")).toMatch(/\(1 of 3 researcher runs in this batch still starts on m\/cheap, to keep checking it\)/);
    await h.stop();
  });

  it("adaptiveLadder: false, adaptive: false on the call, an explicit ladder and a pin all keep the cheap start", async () => {
    vi.spyOn(Math, "random").mockReturnValue(0.5);
    const off = await host({ adaptiveLadder: false });
    await off.call("parallel_spawn", researchers(6));
    const kept = await off.call("parallel_spawn", researchers(2));
    expect(starts(kept.details)).toEqual(["m/cheap", "m/cheap"]);
    expect(kept.details.notes ?? []).toEqual([]);
    await off.stop();

    const on = await host();
    await on.call("parallel_spawn", researchers(6));
    expect(starts((await on.call("parallel_spawn", researchers(1, { adaptive: false }))).details)).toEqual(["m/cheap"]);
    expect(starts((await on.call("parallel_spawn", researchers(1, { ladder: LADDER }))).details)).toEqual(["m/cheap"]);
    const pinned = researchers(1);
    (pinned.tasks[0] as any).model = "m/cheap";
    expect(starts((await on.call("parallel_spawn", pinned)).details)).toEqual(["m/cheap"]);
    expect(starts((await on.call("parallel_spawn", researchers(1))).details)).toEqual(["m/mid"]);
    await on.stop();
  });

  it("research_team learns too (its lanes are researcher runs), and takes adaptive: false", async () => {
    vi.spyOn(Math, "random").mockReturnValue(0.5);
    const h = await host();
    await h.call("parallel_spawn", researchers(5));
    const { details } = await h.call("research_team", { topics: ["a", "b"], synthesize: false });
    expect(details.results.map((r: any) => r.state)).toEqual(["ok", "ok"]);
    const off = await h.call("research_team", { topics: ["a"], synthesize: false, adaptive: false });
    const batch = (id: string) => h.memory.runs.filter((r) => r.req.sessionKey.includes(id)).map((r) => r.req.model);
    expect(batch(details.batchId)).toEqual(["m/mid", "m/mid"]);
    expect(batch(off.details.batchId)[0]).toBe("m/cheap");
    await h.stop();
  });
});
