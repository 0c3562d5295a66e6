// The engine as a specification: batches run on their own once submitted (nobody waits or polls),
// bounded, retried, escalated, schema-checked, costed, cancellable, and they survive a restart.
import { describe, expect, it } from "vitest";
import { MAX_INTERRUPTIONS } from "../../src/batch/policy.js";
import { isComplete } from "../../src/batch/types.js";
import { MemoryRuntime } from "../support/memory-runtime.js";
import { labelsOf, setup, settled, spec, until } from "../support/batch.js";

const schema = { type: "object", required: ["answer"], properties: { answer: { type: "number" } } };

describe("running a batch", () => {
  it("runs every task to the end with nobody waiting, and keeps each child's real output", async () => {
    const rt = new MemoryRuntime((req) => ({ reply: `out:${req.message}` }));
    const t = setup([spec("a"), spec("b"), spec("c")], rt);
    await new Promise((r) => setTimeout(r, 300)); // no tool call, no poll: just time
    expect(isComplete(t.batch)).toBe(true);
    expect(t.batch.runs.map((r) => r.output)).toEqual(["out:do a", "out:do b", "out:do c"]);
  });

  it("starts queued runs in FIFO order and never exceeds maxConcurrency", async () => {
    const rt = new MemoryRuntime((_req, i) => ({ delayMs: 20 + (i % 3) * 15 }));
    const labels = Array.from({ length: 10 }, (_, i) => `t${i}`);
    const t = setup(labels.map((l) => spec(l)), rt, { maxConcurrency: 3 });
    await t.done();
    expect(rt.peakLive).toBe(3);
    expect(rt.runs.map((r) => r.req.message)).toEqual(labels.map((l) => `do ${l}`));
  });

  it("a slow session delete never holds up noticing the other finished children", async () => {
    const rt = new MemoryRuntime(() => ({ delayMs: 5 }));
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const stop = rt.stop.bind(rt);
    rt.stop = async (sessionKey: string) => {
      await gate;
      return stop(sessionKey);
    };
    const t = setup(["a", "b", "c", "d"].map((l) => spec(l)), rt, { maxConcurrency: 4 });
    const b = await t.done(2_000);
    expect(labelsOf(b)).toEqual({ a: "ok", b: "ok", c: "ok", d: "ok" }); // while no delete has finished
    openGate();
  });

  it("does not re-spawn a slow run while it is still running", async () => {
    const rt = new MemoryRuntime((req) => ({ delayMs: req.message.endsWith("slow") ? 400 : 10 }));
    const t = setup([spec("fast"), spec("slow")], rt);
    const mid = await until(t.engine, t.batch.batchId, (b) => b.runs[0].state === "ok");
    expect(labelsOf(mid)).toEqual({ fast: "ok", slow: "running" });
    expect(labelsOf(await t.done())).toEqual({ fast: "ok", slow: "ok" });
    expect(rt.runs).toHaveLength(2);
  });

  it("times out a hanging child, stops it, counts its tokens, and lets the other runs succeed", async () => {
    const rt = new MemoryRuntime((req) => (req.message.endsWith("hang") ? { hang: true, usage: { inputTokens: 700, outputTokens: 0 } } : { delayMs: 10 }));
    const t = setup([spec("hang", { timeoutSeconds: 0.2 }), spec("ok1"), spec("ok2")], rt);
    const b = await t.done();
    expect(labelsOf(b)).toEqual({ hang: "timed_out", ok1: "ok", ok2: "ok" });
    const hang = b.runs[0].attempts[0];
    expect(hang).toMatchObject({ outcome: "timeout", tokens: 700 }); // read before its session went away
    expect(rt.stops).toContain(hang.sessionKey);
  });

  it("a stopped child's tokens count also when its transcript is slow to read", async () => {
    const rt = new MemoryRuntime(() => ({ hang: true, readDelayMs: 50, usage: { inputTokens: 400, outputTokens: 20 } }));
    const b = await setup([spec("slow-read", { timeoutSeconds: 0.1 })], rt).done();
    expect(b.runs[0].attempts[0]).toMatchObject({ outcome: "timeout", tokens: 420 });
  });

  it("cancels queued and running runs and keeps finished results", async () => {
    const rt = new MemoryRuntime((req) => (req.message.endsWith("quick") ? { delayMs: 5 } : { hang: true }));
    const t = setup([spec("quick"), spec("long"), spec("later")], rt, { maxConcurrency: 2 });
    await until(t.engine, t.batch.batchId, (b) => b.runs[0].state === "ok" && b.runs[1].state === "running");
    const stopped = await t.engine.cancel(t.batch.batchId);
    expect(stopped.sort()).toEqual(["later", "long"]);
    expect(labelsOf(t.batch)).toEqual({ quick: "ok", long: "cancelled", later: "cancelled" });
    expect(t.batch.runs[0].output).toBe("done");
    expect(rt.live).toBe(0);
  });

  it("cancels only the labelled runs", async () => {
    const rt = new MemoryRuntime(() => ({ hang: true }));
    const t = setup([spec("a"), spec("b")], rt);
    await until(t.engine, t.batch.batchId, (b) => b.runs.every((r) => r.attempts[0]?.runId));
    expect(await t.engine.cancel(t.batch.batchId, ["b"])).toEqual(["b"]);
    expect(labelsOf(t.batch)).toEqual({ a: "running", b: "cancelled" });
    await t.engine.cancel(t.batch.batchId);
  });

  it("a run cancelled while the host is still admitting it has its child stopped at once", async () => {
    const rt = new MemoryRuntime(() => ({ hang: true }));
    const start = rt.start.bind(rt);
    let admitted!: () => void;
    const slowAdmission = new Promise<void>((resolve) => (admitted = resolve));
    rt.start = async (req) => {
      await slowAdmission;
      return start(req);
    };
    const t = setup([spec("a")], rt);
    await until(t.engine, t.batch.batchId, (b) => b.runs[0].state === "running");
    await t.engine.cancel(t.batch.batchId);
    admitted();
    for (let i = 0; i < 100 && !(rt.runs.length === 1 && rt.live === 0); i++) await new Promise((r) => setTimeout(r, 10));
    expect(rt.runs).toHaveLength(1);
    expect(rt.live).toBe(0);
    expect(t.batch.runs[0].state).toBe("cancelled");
  });

  it("one failing run never sinks the batch", async () => {
    const rt = new MemoryRuntime((req) => (req.message.endsWith("bad") ? { error: "HTTP 400 bad request" } : {}));
    const b = await setup([spec("bad"), spec("good")], rt, { retries: 1 }).done();
    expect(labelsOf(b)).toEqual({ bad: "failed", good: "ok" });
    expect(b.runs[0].error).toMatch(/HTTP 400/);
  });
});

describe("JSON contracts", () => {
  it("cheap model's invalid JSON -> one corrective follow-up -> next model's valid JSON, both attempts listed", async () => {
    const rt = new MemoryRuntime((req) => (req.model === "m/cheap" ? { reply: "sure! no json here" } : { reply: '```json\n{"answer": 42}\n```' }));
    const b = await setup([spec("q", { outputSchema: schema })], rt).done();
    const run = b.runs[0];
    expect(run).toMatchObject({ state: "ok", json: { answer: 42 } });
    expect(run.attempts.map((a) => [a.model, a.outcome, a.corrected ?? false])).toEqual([
      ["m/cheap", "invalid_json", true],
      ["m/mid", "ok", false],
    ]);
    expect(rt.runs[1].req.sessionKey).toBe(rt.runs[0].req.sessionKey); // the follow-up went to the same session
    expect(rt.runs[1].req.message).toMatch(/JSON/);
  });

  it("a run whose replies never meet the contract fails, and still returns every word its child wrote last", async () => {
    const rt = new MemoryRuntime(() => ({ reply: "sure! no json here" }));
    const b = await setup([spec("q", { outputSchema: schema })], rt).done();
    expect(b.runs[0]).toMatchObject({ state: "failed", output: "sure! no json here" });
    expect(b.runs[0].attempts.every((a) => a.outcome === "invalid_json")).toBe(true);
  });

  it("repairs common JSON defects locally without another attempt", async () => {
    const rt = new MemoryRuntime(() => ({ reply: "Here you go: {answer: 7,}" }));
    const b = await setup([spec("q", { outputSchema: schema })], rt).done();
    expect(b.runs[0]).toMatchObject({ state: "ok", json: { answer: 7 } });
    expect(rt.runs).toHaveLength(1);
  });

  it("a corrected reply that validates is accepted in the same attempt, its tokens counted once", async () => {
    const rt = new MemoryRuntime((req) => ({ reply: req.message.startsWith("do") ? '{"answer": "one"}' : '{"answer": 1}', usage: { inputTokens: 100, outputTokens: 10 } }));
    const b = await setup([spec("q", { outputSchema: schema })], rt).done();
    const run = b.runs[0];
    expect(run).toMatchObject({ state: "ok", json: { answer: 1 } });
    expect(run.attempts).toHaveLength(1);
    expect(run.attempts[0]).toMatchObject({ corrected: true, tokens: 110 }); // the session's usage, not a sum of reads
  });
});

describe("retries and escalation", () => {
  it("an erroring model is retried, then escalated, and every attempt is listed", async () => {
    const rt = new MemoryRuntime((req) => (req.model === "m/cheap" ? { error: "HTTP 400 upstream said no" } : { reply: "fine" }));
    const b = await setup([spec("a")], rt).done();
    expect(b.runs[0].attempts.map((a) => [a.model, a.outcome])).toEqual([
      ["m/cheap", "provider_error"],
      ["m/cheap", "provider_error"],
      ["m/mid", "ok"],
    ]);
  });

  it("an empty reply is a failed attempt, not a success", async () => {
    const rt = new MemoryRuntime((req) => (req.model === "m/cheap" ? { empty: true } : { reply: "text" }));
    const b = await setup([spec("a")], rt).done();
    expect(b.runs[0].attempts.map((a) => a.outcome)).toEqual(["empty_output", "ok"]);
  });

  it("never has two live attempts of one run, and stops each attempt before the next", async () => {
    const rt = new MemoryRuntime((_req, i) => (i < 4 ? { error: "HTTP 400", delayMs: 10 } : { reply: "ok", delayMs: 10 }));
    const b = await setup([spec("a"), spec("b")], rt, { retries: 4 }).done();
    expect(labelsOf(b)).toEqual({ a: "ok", b: "ok" });
    expect(rt.overlapsWithinRun()).toEqual([]);
  });

  it("records requested and answering model", async () => {
    const rt = new MemoryRuntime(() => ({ reply: "hi", modelUsed: "other/model" }));
    const b = await setup([spec("a")], rt).done();
    expect(b.runs[0].attempts[0]).toMatchObject({ model: "m/cheap", modelUsed: "other/model" });
  });

  it("without the operator's override no model is pinned and nothing escalates", async () => {
    const rt = new MemoryRuntime((_r, i) => (i === 0 ? { empty: true } : { reply: "x" }));
    await setup([spec("a", { model: "p/pinned" })], rt, { modelOverride: false }).done();
    expect(rt.runs.map((r) => r.req.model)).toEqual([undefined, undefined]);
  });
});

describe("budgets and usage", () => {
  it("stops the batch with a clear message once the token budget is spent", async () => {
    // 7,000 tokens an attempt: the first runs alone (its guess is ~3,800), the rest no longer fit 10,000.
    const rt = new MemoryRuntime(() => ({ delayMs: 10, usage: { inputTokens: 6000, outputTokens: 1000 } }));
    const b = await setup(["a", "b", "c", "d"].map((l) => spec(l)), rt, { maxConcurrency: 1, budget: { maxTokens: 10_000 } }).done();
    expect(b.runs.map((r) => r.state)).toEqual(["ok", "failed", "failed", "failed"]);
    expect(b.runs[3].error).toMatch(/^not started: budget maxTokens 10,000 has 3,000 tokens left/);
    expect(rt.runs).toHaveLength(1);
  });

  it("a run stopped by the budget still counts the tokens it spent", async () => {
    // "small" calibrates the estimate; "big" then overruns it while "slow" is running.
    const rt = new MemoryRuntime((req) =>
      req.message.endsWith("small") ? { delayMs: 5, usage: { inputTokens: 1000, outputTokens: 0 } }
      : req.message.endsWith("big") ? { delayMs: 30, usage: { inputTokens: 30_000, outputTokens: 0 } }
      : { hang: true, usage: { inputTokens: 300, outputTokens: 0 } });
    const b = await setup([spec("small"), spec("big"), spec("slow")], rt, { maxConcurrency: 2, budget: { maxTokens: 20_000 } }).done();
    expect(labelsOf(b)).toEqual({ small: "ok", big: "ok", slow: "failed" });
    expect(b.runs[2].attempts[0]).toMatchObject({ outcome: "budget", tokens: 300 });
  });
});

describe("after a restart (a new engine on the same store)", () => {
  it("in-flight runs end interrupted and re-run at once, without a poll and without using a retry; finished ones are kept", async () => {
    const rt = new MemoryRuntime((req) => (req.message.endsWith("slow") ? { hang: true } : { reply: "kept" }));
    const t = setup([spec("fast"), spec("slow")], rt, { retries: 0 });
    await until(t.engine, t.batch.batchId, (b) => b.runs[0].state === "ok" && Boolean(b.runs[1].attempts[0]?.runId));
    const fresh = new MemoryRuntime(() => ({ reply: "second life" }));
    const engine = await t.restart(fresh);
    expect(fresh.stops[0]).toBe(t.batch.runs[1].attempts[0].sessionKey); // the old child is stopped before any retry
    const b = await settled(engine, t.batch.batchId);
    expect(labelsOf(b)).toEqual({ fast: "ok", slow: "ok" });
    expect(b.runs[0].output).toBe("kept");
    expect(b.runs[1].attempts.map((a) => a.outcome)).toEqual(["interrupted", "ok"]);
    expect(fresh.runs).toHaveLength(1); // the finished run was not run again
  });

  it(`a run interrupted more than ${MAX_INTERRUPTIONS} times fails saying so`, async () => {
    const t = setup([spec("a")], new MemoryRuntime(() => ({ hang: true })));
    let engine = t.engine;
    for (let i = 0; i <= MAX_INTERRUPTIONS; i++) {
      await until(engine, t.batch.batchId, (b) => Boolean(b.runs[0].attempts.at(-1)?.runId) || isComplete(b));
      engine = await t.restart(new MemoryRuntime(() => ({ hang: true })), { owner: `proc-${i + 2}` });
    }
    const b = await settled(engine, t.batch.batchId);
    expect(b.runs[0].state).toBe("failed");
    expect(b.runs[0].error).toMatch(new RegExp(`interrupted ${MAX_INTERRUPTIONS + 1} times`));
    await engine.stop();
  });
});
