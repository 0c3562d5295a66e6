// The completion notice: sent once to the requester of a batch nobody collected, also across
// restarts, carrying ids, counts and labels but never a child's output; and how it reaches OpenClaw.
import { describe, expect, it } from "vitest";
import { type Notifier, noticeText } from "../../src/engine/notice.js";
import { openclawNotifier } from "../../src/runtime/openclaw-adapter.js";
import { BatchStore } from "../../src/store/batch-store.js";
import { MemoryRuntime } from "../support/memory-runtime.js";
import { batchOf, engineOn, setup, spec, tempDir } from "../support/batch.js";

function recorder() {
  const sent: { sessionKey: string; batchId: string; text: string }[] = [];
  const notifier: Notifier = { notify: async (target, text) => (sent.push({ ...target, text }), "test") };
  return { sent, notifier };
}

const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
};

describe("completion notices", () => {
  it("a batch that ends while nobody holds it is announced once to its requester, not again after a restart", async () => {
    const { sent, notifier } = recorder();
    const t = setup([spec("a"), spec("b")], new MemoryRuntime((req) => (req.message.endsWith("b") ? { error: "HTTP 400" } : { reply: "CHILD-OUTPUT" })), { retries: 0 }, { notifier, batch: { notify: true } });
    await t.done();
    await until(() => sent.length > 0);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ sessionKey: "agent:main:main", batchId: t.batch.batchId });
    expect(sent[0].text).toMatch(/has finished: 1 ok, 1 failed\. Not ok: b\. Collect the results with poll_until_complete/);
    expect(sent[0].text).not.toContain("CHILD-OUTPUT");
    const again = await t.restart(new MemoryRuntime(), { notifier });
    await new Promise((r) => setTimeout(r, 100));
    expect(sent).toHaveLength(1);
    await again.stop();
  });

  it("a batch held by a waiting call ends without a notice", async () => {
    const { sent, notifier } = recorder();
    const dir = tempDir();
    const engine = engineOn(dir, new MemoryRuntime(), { notifier });
    const batch = { ...batchOf([spec("a")]), notify: true };
    const release = engine.hold(batch.batchId);
    engine.submit(batch);
    await until(() => batch.open === false);
    release();
    expect(batch.collected).toBe(true);
    expect(sent).toEqual([]);
  });

  it("a notice still owed when the gateway died (batch ended, nothing sent) goes out at the next start", async () => {
    const dir = tempDir();
    const store = BatchStore.open(dir);
    const batch = { ...batchOf([spec("a")]), notify: true, open: true };
    batch.runs[0] = { ...batch.runs[0], state: "ok", output: "done" };
    store.create(batch);
    store.close();
    const { sent, notifier } = recorder();
    const engine = engineOn(dir, new MemoryRuntime(), { notifier });
    await engine.start();
    await until(() => sent.length > 0);
    expect(sent.map((s) => s.batchId)).toEqual([batch.batchId]);
    await engine.stop();
  });
});

describe("the notice text", () => {
  it("counts runs per state and names at most 20 that did not end ok", () => {
    const batch = batchOf([...Array.from({ length: 23 }, (_, i) => spec(`f${i}`)), spec("good")]);
    batch.runs.forEach((r, i) => (r.state = i < 22 ? "failed" : i === 22 ? "timed_out" : "ok"));
    const first20 = Array.from({ length: 20 }, (_, i) => `f${i}`).join(", ");
    expect(noticeText(batch)).toBe(
      `[parallel-agents] Batch ${batch.batchId} has finished: 22 failed, 1 timed out, 1 ok. Not ok: ${first20}, … (3 more). Collect the results with poll_until_complete {"batchId":"${batch.batchId}"}. Used 0 tokens, $0.00.`,
    );
    const twenty = batchOf(Array.from({ length: 20 }, (_, i) => spec(`f${i}`)));
    for (const r of twenty.runs) r.state = "failed";
    expect(noticeText(twenty)).toContain(`Not ok: ${first20}. Collect`); // all 20 named, nothing "more"
  });

  it("says nothing about failures when every run is ok", () => {
    const batch = batchOf([spec("a"), spec("b")]);
    for (const r of batch.runs) r.state = "ok";
    expect(noticeText(batch)).toBe(`[parallel-agents] Batch ${batch.batchId} has finished: 2 ok. Collect the results with poll_until_complete {"batchId":"${batch.batchId}"}. Used 0 tokens, $0.00.`);
  });
});

describe("the OpenClaw route", () => {
  it("uses a system event for the requester plus a targeted background-task wake, as OpenClaw's own task completions do", async () => {
    const calls: unknown[] = [];
    const api = {
      runtime: {
        subagent: {} as never,
        state: { resolveStateDir: () => "" },
        system: {
          enqueueSystemEvent: (text: string, opts: unknown) => calls.push(["event", text, opts]),
          requestHeartbeat: (opts: unknown) => calls.push(["wake", opts]),
        },
      },
    };
    const route = await openclawNotifier(api).notify({ agentId: "main", sessionKey: "agent:main:dm:1", batchId: "pa-1", idempotencyKey: "k-1" }, "NOTICE");
    expect(route).toBe("system event + wake");
    expect(calls).toEqual([
      ["event", "NOTICE", { agentId: "main", sessionKey: "agent:main:dm:1", contextKey: "task:parallel-agents:pa-1" }],
      ["wake", { source: "background-task", intent: "immediate", reason: "background-task", agentId: "main", sessionKey: "agent:main:dm:1", coalesceMs: 0 }],
    ]);
  });

  it("falls back to a durable next-turn injection (idempotent per batch) where the wake route is missing or refuses", async () => {
    const injected: unknown[] = [];
    const api = {
      runtime: {
        subagent: {} as never,
        state: { resolveStateDir: () => "" },
        system: {
          enqueueSystemEvent: () => {
            throw new Error("no such session");
          },
          requestHeartbeat: () => undefined,
        },
      },
      session: { workflow: { enqueueNextTurnInjection: async (p: unknown) => (injected.push(p), { enqueued: true }) } },
    };
    const route = await openclawNotifier(api).notify({ agentId: "main", sessionKey: "agent:main:x", batchId: "pa-2", idempotencyKey: "parallel-agents:notice:pa-2" }, "NOTICE");
    expect(route).toBe("next-turn injection");
    expect(injected).toEqual([{ sessionKey: "agent:main:x", agentId: "main", text: "NOTICE", idempotencyKey: "parallel-agents:notice:pa-2" }]);
    await expect(openclawNotifier({ runtime: api.runtime }).notify({ agentId: "main", sessionKey: "s", batchId: "b", idempotencyKey: "k" }, "t")).rejects.toThrow(/no route/);
  });
});
