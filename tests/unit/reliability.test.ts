import { describe, expect, it } from "vitest";
import { MemoryRuntime } from "../support/memory-runtime.js";
import { labelsOf, setup, spec } from "../support/batch.js";

const soon = () => Date.now() + 10_000;
const schema = { type: "object", required: ["answer"], properties: { answer: { type: "number" } } };

describe("JSON contracts", () => {
  it("cheap model's invalid JSON -> one corrective follow-up -> next model's valid JSON, both attempts listed", async () => {
    const rt = new MemoryRuntime((req) => (req.model === "m/cheap" ? { reply: "sure! no json here" } : { reply: '```json\n{"answer": 42}\n```' }));
    const { runner } = setup([spec("q", { outputSchema: schema })], rt);
    await runner.drive(soon());
    const run = runner.batch.runs[0];
    expect(run.state).toBe("ok");
    expect(run.json).toEqual({ answer: 42 });
    expect(run.attempts.map((a) => [a.model, a.outcome, a.corrected ?? false])).toEqual([
      ["m/cheap", "invalid_json", true],
      ["m/mid", "ok", false],
    ]);
    const corrective = rt.runs[1];
    expect(corrective.req.sessionKey).toBe(rt.runs[0].req.sessionKey); // same session
    expect(corrective.req.message).toMatch(/JSON/);
  });

  it("repairs common JSON defects locally without another attempt", async () => {
    const rt = new MemoryRuntime(() => ({ reply: "Here you go: {answer: 7,}" }));
    const { runner } = setup([spec("q", { outputSchema: schema })], rt);
    await runner.drive(soon());
    expect(runner.batch.runs[0]).toMatchObject({ state: "ok", json: { answer: 7 } });
    expect(rt.runs).toHaveLength(1);
  });

  it("a corrected reply that validates is accepted in the same attempt", async () => {
    const rt = new MemoryRuntime((req) => ({ reply: /fix|error|schema/i.test(req.message) && !req.message.startsWith("do") ? '{"answer": 1}' : '{"answer": "one"}' }));
    const { runner } = setup([spec("q", { outputSchema: schema })], rt);
    await runner.drive(soon());
    const run = runner.batch.runs[0];
    expect(run).toMatchObject({ state: "ok", json: { answer: 1 } });
    expect(run.attempts).toHaveLength(1);
    expect(run.attempts[0].corrected).toBe(true);
  });
});

describe("retries and escalation", () => {
  it("an erroring model is retried, then escalated, and every attempt is listed", async () => {
    const rt = new MemoryRuntime((req) => (req.model === "m/cheap" ? { error: "HTTP 400 upstream said no" } : { reply: "fine" }));
    const { runner } = setup([spec("a")], rt);
    await runner.drive(soon());
    expect(runner.batch.runs[0].attempts.map((a) => [a.model, a.outcome])).toEqual([
      ["m/cheap", "provider_error"],
      ["m/cheap", "provider_error"],
      ["m/mid", "ok"],
    ]);
  });

  it("an empty reply is a failed attempt, not a success", async () => {
    const rt = new MemoryRuntime((req) => (req.model === "m/cheap" ? { empty: true } : { reply: "text" }));
    const { runner } = setup([spec("a")], rt);
    await runner.drive(soon());
    expect(runner.batch.runs[0].attempts.map((a) => a.outcome)).toEqual(["empty_output", "ok"]);
  });

  it("never has two live attempts of one run, and stops each attempt before the next", async () => {
    const rt = new MemoryRuntime((req, i) => (i < 4 ? { error: "HTTP 400", delayMs: 10 } : { reply: "ok", delayMs: 10 }));
    const { runner } = setup([spec("a"), spec("b")], rt, { retries: 4 });
    await runner.drive(soon());
    expect(labelsOf(runner)).toEqual({ a: "ok", b: "ok" });
    expect(rt.overlapsWithinRun()).toEqual([]);
  });

  it("records requested and answering model, and flags a mismatch", async () => {
    const rt = new MemoryRuntime(() => ({ reply: "hi", modelUsed: "other/model" }));
    const { runner } = setup([spec("a")], rt);
    await runner.drive(soon());
    expect(runner.batch.runs[0].attempts[0]).toMatchObject({ model: "m/cheap", modelUsed: "other/model" });
  });

  it("without the operator's override no model is pinned and nothing escalates", async () => {
    const rt = new MemoryRuntime((_r, i) => (i === 0 ? { empty: true } : { reply: "x" }));
    const { runner } = setup([spec("a", { model: "p/pinned" })], rt, { modelOverride: false });
    await runner.drive(soon());
    expect(rt.runs.map((r) => r.req.model)).toEqual([undefined, undefined]);
  });
});

describe("budgets", () => {
  it("stops the batch with a clear message once the token budget is spent", async () => {
    const rt = new MemoryRuntime(() => ({ delayMs: 10, usage: { inputTokens: 600, outputTokens: 100 } }));
    const { runner } = setup(["a", "b", "c", "d"].map((l) => spec(l)), rt, { maxConcurrency: 1, budget: { maxTokens: 1000 } });
    await runner.drive(soon());
    const states = runner.batch.runs.map((r) => r.state);
    expect(states.slice(0, 2)).toEqual(["ok", "ok"]);
    expect(states.slice(2)).toEqual(["failed", "failed"]);
    expect(runner.batch.runs[3].error).toMatch(/budget|maxTokens/i);
    expect(rt.runs).toHaveLength(2);
  });

  it("totals tokens and cost per batch from the transcripts' usage", async () => {
    const rt = new MemoryRuntime(() => ({ usage: { inputTokens: 1_000_000, outputTokens: 0 } }));
    const { runner } = setup([spec("a")], rt);
    await runner.drive(soon());
    expect(runner.totals()).toEqual({ tokens: 1_000_000, costUsd: 1 });
  });
});
