// The run's state machine as a specification: every change is a guarded transition, refused when
// it does not fit the run as it is now, so a stale or repeated event can never corrupt a run.
import { describe, expect, it } from "vitest";
import { type Transition, applyTransition, liveAttempt } from "../../src/engine/transitions.js";
import type { Attempt, RunRecord, RunState } from "../../src/batch/types.js";

const usage = { inputTokens: 3, outputTokens: 4 };

function attempt(n: number, extra: Partial<Attempt> = {}): Attempt {
  return { n, sessionKey: `s${n}`, owner: "me", startedAt: 1000 * n, tokens: 0, usage: { inputTokens: 0, outputTokens: 0 }, costUsd: 0, ...extra };
}

function run(extra: Partial<RunRecord> = {}): RunRecord {
  return { spec: { label: "a", prompt: "do a", tier: 0, timeoutSeconds: 60 }, state: "queued", attempts: [], ...extra };
}

/** A run with attempt 1 live (started, not ended). */
const running = (extra: Partial<Attempt> = {}): RunRecord => run({ state: "running", attempts: [attempt(1, extra)], firstStartedAt: 1000 });

const ended = (n: number) => attempt(n, { outcome: "timeout", endedAt: 1000 * n + 500 });

const finish = (n: number, next: Extract<Transition, { kind: "finish" }>["next"], modelUsed?: string): Transition => ({
  kind: "finish",
  n,
  ended: { outcome: next.state === "ok" ? "ok" : "timeout", reason: "why", endedAt: 5000, usage, costUsd: 0.5, modelUsed, nextModel: "big" },
  next,
});

describe("the live attempt", () => {
  it("is the last attempt while it has no outcome, and none once it ended or before any started", () => {
    expect(liveAttempt(run())).toBeUndefined();
    expect(liveAttempt(run({ attempts: [ended(1), attempt(2)] }))?.n).toBe(2);
    expect(liveAttempt(run({ attempts: [attempt(1), ended(2)] }))).toBeUndefined();
  });
});

describe("a terminal run is never reopened or finished again", () => {
  const every: Transition[] = [
    { kind: "start", attempt: attempt(1) },
    { kind: "started", n: 1, runId: "r", sessionKey: "s" },
    { kind: "corrected", n: 1, runId: "r", reason: "x", usage, costUsd: 0 },
    finish(1, { state: "ok", output: "late" }),
    { kind: "end", state: "cancelled", error: "x" },
    { kind: "ungate", prompt: "p" },
    { kind: "requeue" },
    { kind: "defer", n: 1, notBefore: 9, error: "x" },
    { kind: "stop", stop: { outcome: "cancelled", reason: "x", at: 1 } },
  ];
  for (const state of ["ok", "failed", "timed_out", "cancelled"] as RunState[]) {
    it(`refuses every transition on a ${state} run`, () => {
      // Even with a live-looking attempt and a gate, nothing applies to a run that has ended.
      const r = run({ state, attempts: [attempt(1)], spec: { ...run().spec, gate: "lanes" } });
      for (const t of every) expect(applyTransition(r, t)).toBeUndefined();
    });
  }
});

describe("start", () => {
  it("moves a queued run to running with the next attempt, clears the backoff and stamps the first start", () => {
    const r = applyTransition(run({ notBefore: 99 }), { kind: "start", attempt: attempt(1) });
    expect(r).toMatchObject({ state: "running", attempts: [attempt(1)], firstStartedAt: 1000 });
    expect(r?.notBefore).toBeUndefined();
  });

  it("keeps the first start time on a retry: the run's timeout counts from its first attempt", () => {
    const r = applyTransition(run({ attempts: [ended(1)], firstStartedAt: 1000 }), { kind: "start", attempt: attempt(2) });
    expect(r?.firstStartedAt).toBe(1000);
    expect(r?.attempts.map((a) => a.n)).toEqual([1, 2]);
  });

  it("leaves the run it was given untouched (it works on a copy)", () => {
    const before = run();
    applyTransition(before, { kind: "start", attempt: attempt(1) });
    expect(before).toEqual(run());
  });

  it("requires a queued, ungated run with no live attempt and exactly the next attempt number", () => {
    const start = (n: number): Transition => ({ kind: "start", attempt: attempt(n) });
    expect(applyTransition(running(), start(2))).toBeUndefined();
    expect(applyTransition(run({ state: "running", attempts: [ended(1)] }), start(2))).toBeUndefined();
    expect(applyTransition(run({ attempts: [attempt(1)] }), start(2))).toBeUndefined();
    expect(applyTransition(run({ spec: { ...run().spec, gate: "lanes" } }), start(1))).toBeUndefined();
    const retry = run({ attempts: [ended(1)] });
    expect(applyTransition(retry, start(1))).toBeUndefined();
    expect(applyTransition(retry, start(3))).toBeUndefined();
    expect(applyTransition(retry, start(2))).toBeDefined();
  });
});

describe("started", () => {
  it("records the host's run id, session and model on the live attempt", () => {
    const r = applyTransition(running(), { kind: "started", n: 1, runId: "r1", sessionKey: "k", modelUsed: "m" });
    expect(r?.attempts[0]).toMatchObject({ runId: "r1", sessionKey: "k", modelUsed: "m" });
    expect(r?.state).toBe("running");
  });

  it("keeps the model already known when the host names none", () => {
    const r = applyTransition(running({ modelUsed: "known" }), { kind: "started", n: 1, runId: "r1", sessionKey: "k" });
    expect(r?.attempts[0].modelUsed).toBe("known");
  });

  it("applies once, to the live attempt only", () => {
    const t: Transition = { kind: "started", n: 1, runId: "r2", sessionKey: "k" };
    expect(applyTransition(running({ runId: "r1" }), t)).toBeUndefined();
    expect(applyTransition(running(), { ...t, n: 2 })).toBeUndefined();
    expect(applyTransition(run({ attempts: [ended(1)] }), t)).toBeUndefined();
  });
});

describe("corrected", () => {
  const t: Transition = { kind: "corrected", n: 1, runId: "r2", reason: "invalid_json", usage, costUsd: 0.25 };

  it("marks the live attempt corrected, on the follow-up's run id, with the usage so far", () => {
    const r = applyTransition(running({ runId: "r1" }), t);
    expect(r?.attempts[0]).toMatchObject({ corrected: true, runId: "r2", reason: "invalid_json", usage, costUsd: 0.25, tokens: 7 });
  });

  it("happens at most once per attempt, and only to the live one", () => {
    expect(applyTransition(running({ corrected: true }), t)).toBeUndefined();
    expect(applyTransition(running(), { ...t, n: 2 })).toBeUndefined();
    expect(applyTransition(run({ attempts: [ended(1)] }), t)).toBeUndefined();
  });
});

describe("finish", () => {
  it("ends the live attempt with its outcome, usage, tokens and cost, and the policy's next model", () => {
    const r = applyTransition(running({ modelUsed: "asked" }), finish(1, { state: "failed", error: "boom" }, "answered"));
    expect(r?.attempts[0]).toMatchObject({ outcome: "timeout", reason: "why", endedAt: 5000, usage, tokens: 7, costUsd: 0.5, modelUsed: "answered", nextModel: "big" });
    expect(liveAttempt(r!)).toBeUndefined();
  });

  it("keeps the model already known when the ended attempt names none", () => {
    expect(applyTransition(running({ modelUsed: "asked" }), finish(1, { state: "ok" }))?.attempts[0].modelUsed).toBe("asked");
  });

  it("ok: the run keeps the output and json, and an earlier attempt's error is gone", () => {
    const r = applyTransition({ ...running(), error: "old" }, finish(1, { state: "ok", output: "out", json: { a: 1 } }));
    expect(r).toMatchObject({ state: "ok", output: "out", json: { a: 1 } });
    expect(r?.error).toBeUndefined();
  });

  it("queued (retry): the run waits until notBefore and holds no stale output", () => {
    const r = applyTransition({ ...running(), output: "old", json: { old: true } }, finish(1, { state: "queued", notBefore: 7000 }));
    expect(r).toMatchObject({ state: "queued", notBefore: 7000 });
    expect(r?.output).toBeUndefined();
    expect(r?.json).toBeUndefined();
  });

  it("failed: the run carries the error and the last output, never json", () => {
    const r = applyTransition({ ...running(), json: { old: true } }, finish(1, { state: "timed_out", error: "too slow", output: "partial" }));
    expect(r).toMatchObject({ state: "timed_out", error: "too slow", output: "partial" });
    expect(r?.json).toBeUndefined();
  });

  it("an attempt that ended cannot end twice", () => {
    const once = applyTransition(running(), finish(1, { state: "queued", notBefore: 1 }))!;
    expect(applyTransition(once, finish(1, { state: "ok", output: "again" }))).toBeUndefined();
  });

  it("ignores a wait result for an attempt that is not the live one (superseded by a retry)", () => {
    const r = run({ state: "running", attempts: [ended(1), attempt(2)] });
    expect(applyTransition(r, finish(1, { state: "ok", output: "stale" }))).toBeUndefined();
    expect(applyTransition(r, finish(2, { state: "ok", output: "fresh" }))?.output).toBe("fresh");
  });

  it("applies only to a running run", () => {
    expect(applyTransition(run({ attempts: [attempt(1)] }), finish(1, { state: "ok" }))).toBeUndefined();
  });
});

describe("end", () => {
  it("ends a run that has no live attempt, with its error, and drops any backoff", () => {
    const r = applyTransition(run({ attempts: [ended(1)], notBefore: 9000 }), { kind: "end", state: "cancelled", error: "stopped" });
    expect(r).toMatchObject({ state: "cancelled", error: "stopped" });
    expect(r?.notBefore).toBeUndefined();
  });

  it("is refused while an attempt is live: that attempt must finish first", () => {
    expect(applyTransition(running(), { kind: "end", state: "failed", error: "budget" })).toBeUndefined();
  });
});

describe("ungate", () => {
  const gated = (state: RunState = "queued") => run({ state, spec: { ...run().spec, gate: "lanes", prompt: "" } });

  it("gives a gated queued run its prompt and lifts the gate, so it can start", () => {
    const r = applyTransition(gated(), { kind: "ungate", prompt: "synthesize" })!;
    expect(r.spec).toMatchObject({ prompt: "synthesize", gate: undefined });
    expect(r.state).toBe("queued");
    expect(applyTransition(r, { kind: "start", attempt: attempt(1) })?.state).toBe("running");
  });

  it("applies only to gated queued runs", () => {
    expect(applyTransition(run(), { kind: "ungate", prompt: "p" })).toBeUndefined();
    expect(applyTransition(gated("running"), { kind: "ungate", prompt: "p" })).toBeUndefined();
  });
});

describe("defer", () => {
  const defer: Transition = { kind: "defer", n: 1, notBefore: 4000, error: "gateway is draining" };

  it("drops a live attempt the host refused to start: it never ran, so the run is queued again for later", () => {
    const r = applyTransition(run({ state: "running", attempts: [ended(1), attempt(2)] }), { ...defer, n: 2 });
    expect(r).toMatchObject({ state: "queued", notBefore: 4000 });
    expect(r?.attempts.map((a) => a.n)).toEqual([1]);
  });

  it("counts the host's refusals and keeps its last words (what bounds them and what the operator is told)", () => {
    const once = applyTransition(running(), defer)!;
    expect(once.refusals).toEqual({ count: 1, last: "gateway is draining" });
    const again = applyTransition({ ...once, state: "running", attempts: [attempt(1)] }, { ...defer, error: "runtime is no longer active" })!;
    expect(again.refusals).toEqual({ count: 2, last: "runtime is no longer active" });
  });

  it("applies only to the live attempt, and only before the host admitted it", () => {
    expect(applyTransition(running({ runId: "r1" }), defer)).toBeUndefined();
    expect(applyTransition(running(), { ...defer, n: 2 })).toBeUndefined();
    expect(applyTransition(run({ state: "running", attempts: [ended(1)] }), defer)).toBeUndefined();
  });
});

describe("requeue", () => {
  it("repairs a run marked running without a live attempt: it is queued again, not failed", () => {
    const r = applyTransition(run({ state: "running", attempts: [ended(1)] }), { kind: "requeue" });
    expect(r?.state).toBe("queued");
    expect(r?.attempts).toEqual([ended(1)]);
  });

  it("leaves a queued run, and a running run with a live attempt, alone", () => {
    expect(applyTransition(run(), { kind: "requeue" })).toBeUndefined();
    expect(applyTransition(running(), { kind: "requeue" })).toBeUndefined();
  });
});

describe("stop: once accepted, final", () => {
  const stop: Transition = { kind: "stop", stop: { outcome: "cancelled", reason: "cancelled by parallel_cancel", at: 7 } };
  const stopped = (r: RunRecord) => applyTransition(r, stop)!;

  it("is recorded on a queued or running run; the first stop wins", () => {
    expect(stopped(run()).stop).toEqual({ outcome: "cancelled", reason: "cancelled by parallel_cancel", at: 7 });
    expect(stopped(running())).toMatchObject({ state: "running", stop: { outcome: "cancelled" } });
    expect(applyTransition(stopped(run()), { kind: "stop", stop: { outcome: "timeout", reason: "late", at: 9 } })).toBeUndefined();
  });

  it("refuses a new attempt (a retry's backoff or a recovery that races it)", () => {
    expect(applyTransition(stopped(run({ notBefore: 5 })), { kind: "start", attempt: attempt(1) })).toBeUndefined();
    expect(applyTransition(stopped(run({ state: "running", attempts: [ended(1)] })), { kind: "requeue" })).toBeUndefined();
  });

  it("refuses a corrective follow-up in the live attempt", () => {
    expect(applyTransition(stopped(running({ runId: "r1" })), { kind: "corrected", n: 1, runId: "r2", reason: "x", usage, costUsd: 0 })).toBeUndefined();
  });

  it("ends the run as the stop says when its attempt ends in a retry, a success or another failure; the output is kept", () => {
    const r = stopped(running({ runId: "r1" }));
    expect(applyTransition(r, finish(1, { state: "queued", notBefore: 9 }))).toMatchObject({ state: "cancelled", error: "cancelled by parallel_cancel" });
    expect(applyTransition(r, finish(1, { state: "ok", output: "late" }))).toMatchObject({ state: "cancelled", output: "late" });
    expect(applyTransition(r, finish(1, { state: "failed", error: "boom" }))).toMatchObject({ state: "cancelled", error: "cancelled by parallel_cancel" });
    // The stopper's own finish keeps its reason (it may say the host did not confirm).
    expect(applyTransition(r, finish(1, { state: "cancelled", error: "cancelled by parallel_cancel (unconfirmed)" }))).toMatchObject({ error: "cancelled by parallel_cancel (unconfirmed)" });
  });

  it("a timeout stop ends timed_out and a budget stop failed", () => {
    const t = applyTransition(running(), { kind: "stop", stop: { outcome: "timeout", reason: "no result within 1s", at: 1 } })!;
    expect(applyTransition(t, finish(1, { state: "queued", notBefore: 9 }))).toMatchObject({ state: "timed_out", error: "no result within 1s" });
    const b = applyTransition(running(), { kind: "stop", stop: { outcome: "budget", reason: "over", at: 1 } })!;
    expect(applyTransition(b, finish(1, { state: "ok" }))).toMatchObject({ state: "failed", error: "over" });
  });

  it("a run without a live attempt still ends by `end`", () => {
    expect(applyTransition(stopped(run()), { kind: "end", state: "cancelled", error: "x" })?.state).toBe("cancelled");
  });
});
