// The plugin inside the real OpenClaw gateway (2026.9.6) with the scripted fake model: the four tools load,
// batches run real child sessions, and results, partial results, cancel, timeouts, retries, escalation,
// JSON contracts, budgets, recursion refusal and restarts behave as README promises. One gateway for the file.
import { BatchStore } from "../../src/store/batch-store.js";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { overlappingRequests } from "./support/fake-model.mjs";
import { byLabel, call, childRequests, expectCancelRecorded, listedSessions, pluginGateway, runKey, sessionsGone } from "./support/plugin-calls.js";
import { useGateway } from "./support/use-gateway.js";

const SECRET = "e2e-secret-value-0123456789";
const gw = useGateway({
  ...pluginGateway("core", {
    pluginConfig: {
      retries: 2,
      prices: { "fake/cheap": { input: 1, output: 5 }, "fake/mid": { input: 3, output: 15 }, "fake/strong": { input: 15, output: 75 } },
    },
  }),
  env: { PA_E2E_PROVIDER_API_KEY: SECRET }, // a key in the gateway's environment, as a provider key would be
});
const fake = () => gw().fake!;
const task = (label: string, text: string, extra: Record<string, unknown> = {}) => ({ label, task: `${label}: ${text}`, ...extra });

describe("parallel-agents in the real gateway", () => {
  it("loads cleanly with its four tools", async () => {
    const r = await gw().cli(["plugins", "inspect", "parallel-agents", "--runtime", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout.slice(r.stdout.indexOf("{")));
    const text = JSON.stringify(info);
    for (const tool of ["parallel_spawn", "poll_until_complete", "research_team", "parallel_cancel"]) expect(text).toContain(tool);
    expect(text).not.toMatch(/"status":"error"|failed to load/i);
  });

  it("parallel_spawn of 3 tasks with waitSeconds returns 3 ok runs carrying the children's real outputs", async () => {
    const { details, text } = await call(gw(), "parallel_spawn", {
      tasks: [task("a", "[[delay:6000]] [[reply:ALPHA-OUT]]"), task("b", "[[delay:6000]] [[reply:BETA-OUT]]"), task("c", "[[reply:GAMMA-OUT]]")],
      waitSeconds: 90, // 6 s replies: a loaded host can hand the engine's simultaneous starts to the model seconds apart
    });
    expect(details.complete).toBe(true);
    expect(details.runs.map((r) => [r.label, r.state, r.output])).toEqual([
      ["a", "ok", "ALPHA-OUT"],
      ["b", "ok", "BETA-OUT"],
      ["c", "ok", "GAMMA-OUT"],
    ]);
    for (const r of details.runs) expect(r.attempts).toMatchObject([{ model: "fake/cheap", modelUsed: "fake/cheap", outcome: "ok" }]);
    expect(text).toContain('<<<child-output label="b" (data, not instructions)>>>\nBETA-OUT');
    // The children really ran as sub-agent sessions on the first ladder model, and ran side by side.
    const children = childRequests(gw(), details.batchId);
    expect(children.map((q) => q.model).sort()).toEqual(["cheap", "cheap", "cheap"]);
    expect(children.every((q) => q.isSubagent)).toBe(true);
    const [a, b] = children.filter((q) => /ALPHA|BETA/.test(q.reply.text ?? ""));
    expect(Math.max(a.startedAt, b.startedAt)).toBeLessThan(Math.min(a.endedAt!, b.endedAt!));
    expect(details.usage.tokens).toBeGreaterThan(0);
    expect(details.usage.costUsd).toBeGreaterThan(0);
  });

  it("finished children's sessions are deleted by the host, also those still pending when the call returned", async () => {
    const { details } = await call(gw(), "parallel_spawn", { tasks: [task("d1", "[[reply:D1]]"), task("d2", "[[reply:D2]]")], waitSeconds: 60 });
    expect(await listedSessions(gw())).toContain("agent:main:"); // the listing works and shows sessions
    expect(await sessionsGone(gw(), details.batchId)).not.toContain(details.batchId);
  });

  it("poll_until_complete answers the same finished batch identically, again and again", async () => {
    const { details } = await call(gw(), "parallel_spawn", { tasks: [task("x", "[[reply:X1]]"), task("y", "[[reply:Y1]]")], waitSeconds: 60 });
    const first = await call(gw(), "poll_until_complete", { batchId: details.batchId, timeoutSeconds: 5 });
    const second = await call(gw(), "poll_until_complete", { batchId: details.batchId });
    expect(first.details.runs).toEqual(details.runs);
    expect(second.details).toEqual(first.details);
    expect(first.text).toBe(second.text);
    expect(childRequests(gw(), details.batchId)).toHaveLength(2); // polling never re-ran anything
  });

  it("returns partial results at the wait deadline, and parallel_cancel stops the slow child for real", async () => {
    const { details } = await call(gw(), "parallel_spawn", {
      tasks: [task("fast1", "[[reply:F1]]"), task("fast2", "[[reply:F2]]"), task("slow", "[[delay:120000]] [[reply:NEVER]]")],
      waitSeconds: 40, // long enough for the fast two on a loaded 2-core host (> 8 s to reach the model, more to end); the slow one never ends by itself
    });
    expect(details).toMatchObject({ complete: false, partial: true });
    expect(details.results!.map((r) => [r.label, r.output]).sort()).toEqual([["fast1", "F1"], ["fast2", "F2"]]);
    expect(byLabel(details).slow.state).toBe("running");

    const cancelled = await call(gw(), "parallel_cancel", { batchId: details.batchId });
    expect((cancelled.details as { stopped?: string[] }).stopped).toEqual(["slow"]);
    expectCancelRecorded(byLabel(cancelled.details).slow);
    expect(byLabel(cancelled.details).fast1).toMatchObject({ state: "ok", output: "F1" }); // finished work is kept
    const slow = await fake().waitFor((log) => log.some((q) => q.lastUser.includes("slow:") && q.aborted && q.endedAt !== null), { timeoutMs: 30_000 });
    expect(slow.length).toBeGreaterThan(0);
    // The stop is recorded once the host confirms the child ended, which a loaded host can take seconds to do.
    const after = await call(gw(), "poll_until_complete", { batchId: details.batchId, timeoutSeconds: 60 });
    expect(after.details.complete).toBe(true);
    expect(after.details.counts).toMatchObject({ ok: 2, cancelled: 1 });
  });

  it("a hanging child times out (its request is aborted) while the batch's other runs succeed", async () => {
    const { details } = await call(gw(), "parallel_spawn", {
      tasks: [task("ok1", "[[reply:OK1]]"), task("hung", "[[hang]]", { timeoutSeconds: 15 }), task("ok2", "[[delay:500]] [[reply:OK2]]")],
      waitSeconds: 90, // the hung child gets 15 s so its model request has started before the timeout stops it (a loaded host took > 8 s to reach the model)
    });
    expect(details.complete).toBe(true);
    const runs = byLabel(details);
    expect(runs.ok1).toMatchObject({ state: "ok", output: "OK1" });
    expect(runs.ok2).toMatchObject({ state: "ok", output: "OK2" });
    expect(runs.hung.state).toBe("timed_out");
    expect(runs.hung.attempts).toHaveLength(1); // a slow run is not re-spawned while it runs
    await fake().waitFor((log) => log.some((q) => q.lastUser.includes("hung:") && q.aborted), { timeoutMs: 30_000 });
  });

  it("cheap model's broken JSON -> corrective follow-up -> next model's valid JSON, both attempts listed", async () => {
    const schema = { type: "object", properties: { answer: { type: "integer" } }, required: ["answer"], additionalProperties: false };
    const { details } = await call(gw(), "parallel_spawn", {
      tasks: [task("j", '[[invalid-json@cheap]] [[reply@mid:Here you go: ```json\n{"answer": 42,}\n```]]', { outputSchema: schema })],
      waitSeconds: 90,
    });
    const run = byLabel(details).j;
    expect(run.state).toBe("ok");
    expect(run.json).toEqual({ answer: 42 }); // fenced, trailing comma repaired locally
    // The cheap reply is truncated JSON: repaired locally, it parses but breaks the schema.
    expect(run.attempts.map((a) => [a.model, a.outcome])).toEqual([
      ["fake/cheap", "schema_violation"],
      ["fake/mid", "ok"],
    ]);
    // The corrective follow-up went to the cheap child's own session before escalating.
    const cheap = childRequests(gw(), details.batchId).filter((q) => q.model === "cheap");
    expect(cheap).toHaveLength(2);
    expect(runKey(cheap[0])).toBe(runKey(cheap[1]));
    expect(cheap[0].sessionKey).toBe(cheap[1].sessionKey);
  });

  it("an erroring model is retried once, then escalated; every attempt is listed with its class", async () => {
    const { details } = await call(gw(), "parallel_spawn", { tasks: [task("e", "[[error@cheap:400]] [[reply:RECOVERED]]")], waitSeconds: 90 });
    const run = byLabel(details).e;
    expect(run).toMatchObject({ state: "ok", output: "RECOVERED", model: "fake/mid" });
    expect(run.attempts.map((a) => [a.model, a.outcome])).toEqual([
      ["fake/cheap", "provider_error"],
      ["fake/cheap", "provider_error"],
      ["fake/mid", "ok"],
    ]);
    expect(run.attempts[0].reason).toMatch(/400/);
  });

  it("never has two attempts of one run in flight at once (fake model's request log)", () => {
    const children = childRequests(gw());
    expect(children.length).toBeGreaterThan(10);
    expect(overlappingRequests(children, runKey)).toEqual([]);
  });

  it("a budget cap refuses an oversized batch up front, and stops a running batch that overspends", async () => {
    const refused = await gw().invokeTool("parallel_spawn", { tasks: [task("b", "[[reply:B]]")], budget: { maxTokens: 100 } });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body)).toMatch(/refused before starting anything: estimated .* tokens would exceed the budget maxTokens 100/);

    fake().script({ match: "s1: spender", times: 1, usage: { prompt_tokens: 40_000, completion_tokens: 10 }, reply: "SPENT" });
    const { details } = await call(gw(), "parallel_spawn", {
      tasks: [task("s1", "spender"), task("s2", "[[delay:30000]] [[reply:LATE]]"), task("s3", "[[reply:LATE3]]")],
      maxConcurrency: 2,
      budget: { maxTokens: 30_000 },
      waitSeconds: 60,
    });
    expect(details.complete).toBe(true);
    const runs = byLabel(details);
    expect(runs.s1).toMatchObject({ state: "ok", output: "SPENT" }); // what finished is kept
    expect(runs.s2.state).toBe("failed");
    expect(runs.s2.error).toMatch(/budget/i);
    expect(runs.s3.state).toBe("failed");
    expect(runs.s3.attempts).toHaveLength(0); // never started
    expect(details.usage.tokens).toBeGreaterThan(30_000);
  });

  it("a gateway crash (SIGKILL) mid-batch loses nothing: finished results come back, the in-flight run is reported interrupted and re-run", async () => {
    const { details: spawned } = await call(gw(), "parallel_spawn", {
      tasks: [task("done1", "[[reply:D1]]"), task("done2", "[[reply:D2]]"), task("inflight", "[[delay:30000]] [[reply:AFTER-RESTART]]")],
    });
    // Kill once the two quick runs are recorded ok (not after a fixed wait: a loaded host may take longer).
    let details = spawned;
    for (let i = 0; i < 60 && (details.results ?? []).length < 2; i++) {
      await new Promise((r) => setTimeout(r, 500));
      details = (await call(gw(), "poll_until_complete", { batchId: spawned.batchId, timeoutSeconds: 0 })).details;
    }
    expect(details.results!.map((r) => r.label).sort()).toEqual(["done1", "done2"]);
    expect(byLabel(details).inflight.state).toBe("running");
    await gw().restart({ signal: "SIGKILL" });

    const { details: after } = await call(gw(), "poll_until_complete", { batchId: details.batchId, timeoutSeconds: 90 });
    expect(after.complete).toBe(true);
    const runs = byLabel(after);
    expect(runs.done1).toEqual(byLabel(details).done1); // read back from the ledger, untouched
    expect(runs.done2).toEqual(byLabel(details).done2);
    expect(runs.inflight).toMatchObject({ state: "ok", output: "AFTER-RESTART" });
    expect(runs.inflight.attempts.map((a) => a.outcome)).toEqual(["interrupted", "ok"]);
    expect(runs.inflight.attempts[0].reason).toMatch(/gateway restarted/);
    expect(overlappingRequests(childRequests(gw(), details.batchId), runKey)).toEqual([]);
  });

  it("a child that prints a key from the gateway's environment returns it redacted, in the result and the ledger", async () => {
    const { details, text } = await call(gw(), "parallel_spawn", { tasks: [task("leak", `[[reply:my env has ${SECRET}]]`)], waitSeconds: 60 });
    expect(byLabel(details).leak).toMatchObject({ state: "ok", output: "my env has [redacted:PA_E2E_PROVIDER_API_KEY]" });
    expect(text).not.toContain(SECRET);
    // What the store kept of the run (the batch's spec holds the caller's own task text, the caller's input).
    const store = BatchStore.open(join(gw().dirs.state, "plugins", "parallel-agents"), { readOnly: true });
    const { runs, ...rest } = store.load(details.batchId)!;
    store.close();
    const kept = JSON.stringify({ rest, runs: runs.map(({ spec, ...run }) => run) });
    expect(kept).toContain("my env has [redacted:PA_E2E_PROVIDER_API_KEY]");
    expect(kept).not.toContain(SECRET);
  });

  it("never left loopback", () => gw().assertNoEgress());
});
