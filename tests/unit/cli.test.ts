// The operator CLI off the gateway (read-only store), its tables, and the gateway methods it calls.
import { describe, expect, it } from "vitest";
import { answerChatCommand, registerChatCommand } from "../../src/cli/chat-command.js";
import { registerGatewayMethods } from "../../src/cli/gateway-methods.js";
import { offlineDoctor, runCommand } from "../../src/cli/commands.js";
import { age, formatDoctor, formatShow, formatStatus, table } from "../../src/cli/format.js";
import { showView, statusView, storeDirOf } from "../../src/cli/views.js";
import { resolveConfig } from "../../src/config.js";
import { setCurrentEngine } from "../../src/engine/process-engine.js";
import type { BatchRecord } from "../../src/batch/types.js";
import { BatchStore } from "../../src/store/batch-store.js";
import { batchOf, engineOn, spec, tempDir } from "../support/batch.js";
import { MemoryRuntime } from "../support/memory-runtime.js";

const unreachable = async () => ({ ok: false as const, unreachable: true, message: "Gateway not reachable (ECONNREFUSED)" });

function storedBatch(): { state: string; batch: BatchRecord } {
  const state = tempDir("pa-unit-cli-");
  const batch = batchOf([spec("fast"), spec("slow")]);
  batch.open = true;
  batch.runs[0].state = "ok";
  batch.runs[0].attempts.push({ n: 1, model: "m/cheap", modelUsed: "m/cheap", sessionKey: "s1", owner: "p", outcome: "ok", startedAt: batch.createdAt, endedAt: batch.createdAt + 10, tokens: 12, usage: { inputTokens: 10, outputTokens: 2 }, costUsd: 0.0001 });
  batch.runs[1].state = "failed";
  batch.runs[1].attempts.push({ n: 1, model: "m/cheap", sessionKey: "s2", owner: "p", outcome: "provider_error", reason: "HTTP 500", startedAt: batch.createdAt, tokens: 3, usage: { inputTokens: 3, outputTokens: 0 }, costUsd: 0 });
  const store = BatchStore.open(storeDirOf(state));
  store.create(batch);
  store.close();
  return { state, batch };
}

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) } };
}

describe("CLI without a gateway", () => {
  it("status and show read the store read-only and say so", async () => {
    const { state, batch } = storedBatch();
    const c = capture();
    const deps = { hostConfig: {}, stateDir: () => state, call: unreachable, ...c.io };
    const code = await runCommand(deps, "parallel-agents.status", {}, { json: true }, (store) => ({ source: "store", ...statusView(store, (id) => store.load(id)) }), formatStatus);
    expect(code).toBe(0);
    const v = JSON.parse(c.out[0]);
    expect(v.batches[0]).toMatchObject({ batchId: batch.batchId, agentId: "main", open: true, complete: true, tokens: 15, counts: { ok: 1, failed: 1 } });
    expect(c.err[0]).toMatch(/gateway not reachable .*read-only/);
    const h = capture();
    await runCommand({ ...deps, ...h.io }, "parallel-agents.show", {}, {}, (store) => showView(store.load(batch.batchId)!), formatShow);
    expect(h.out[0]).toContain(batch.batchId);
    expect(h.out[0]).toMatch(/slow\s+failed\s+m\/cheap\s+#1 m\/cheap: provider_error \(HTTP 500\)/);
  });

  it("cancel needs the gateway and says so; a method error is not an offline fallback", async () => {
    const c = capture();
    const deps = { hostConfig: {}, stateDir: () => tempDir(), call: unreachable, ...c.io };
    expect(await runCommand(deps, "parallel-agents.cancel", { batchId: "x" }, {}, "needs-gateway", String)).toBe(1);
    expect(c.err[0]).toMatch(/cancel needs the running gateway, and none is reachable/);
    const e = capture();
    const refused = async () => ({ ok: false as const, unreachable: false, message: "no batch pa-x" });
    expect(await runCommand({ ...deps, call: refused, ...e.io }, "parallel-agents.show", {}, { json: true }, () => ({}), String)).toBe(1);
    expect(JSON.parse(e.err[0])).toEqual({ error: "no batch pa-x" });
    expect(e.out).toEqual([]);
  });

  it("doctor reports a missing store, the ladder, the override switch and the host limit", () => {
    const hostConfig = { agents: { defaults: { subagents: { maxConcurrent: 3 } } }, plugins: { entries: { "parallel-agents": { config: { ladder: ["anthropic/claude-haiku-4-5", "nope/x"], notify: "off" } } } } };
    const d = offlineDoctor({ hostConfig, stateDir: () => tempDir() });
    expect(d.store).toMatchObject({ ok: false, error: expect.stringMatching(/no store yet/) });
    expect(d.ladder.find((r) => r.model === "nope/x")).toMatchObject({ usable: false, why: "not configured" });
    expect(d).toMatchObject({ allowModelOverride: false, notify: "off", hostSubagentMaxConcurrent: { value: 3, source: "agents.defaults.subagents.maxConcurrent" } });
    expect(offlineDoctor({ hostConfig: {}, stateDir: () => tempDir() }).hostSubagentMaxConcurrent).toEqual({ value: 8, source: "host default" });
    expect(formatDoctor(d)).toMatch(/nope\/x\s+no\s+not configured/);
    const { state } = storedBatch();
    expect(offlineDoctor({ hostConfig: {}, stateDir: () => state }).store).toMatchObject({ ok: true, batches: 1, open: 1 });
  });
});

describe("tables", () => {
  it("pads columns and formats ages", () => {
    expect(table(["A", "BB"], [["xxx", "y"]])).toBe("A    BB\n---  --\nxxx  y");
    expect([age(5), age(600), age(7200), age(3 * 86400)]).toEqual(["5s", "10m", "2h", "3d"]);
  });
});

describe("gateway methods", () => {
  it("answer from the process's engine; unavailable without one; cancel stops runs", async () => {
    const methods = new Map<string, (o: { params?: unknown; respond: (ok: boolean, p?: unknown, e?: unknown) => void }) => unknown>();
    registerGatewayMethods({ registerGatewayMethod: (m, h) => void methods.set(m, h as never) }, { config: resolveConfig({ ladder: ["m/cheap"] }), hostConfig: () => ({}), host: () => ({}) });
    const ask = async (m: string, params?: unknown) => {
      let r: unknown[] = [];
      await methods.get(m)!({ params, respond: (...a) => (r = a) });
      return r;
    };
    setCurrentEngine(undefined);
    expect((await ask("parallel-agents.status"))[0]).toBe(false);
    const runtime = new MemoryRuntime(() => ({ hang: true }));
    const engine = engineOn(tempDir(), runtime);
    setCurrentEngine(engine);
    try {
      const batch = batchOf([spec("a", { prompt: "wait forever" })]);
      engine.submit(batch);
      const [ok, status] = (await ask("parallel-agents.status")) as [boolean, { batches: { batchId: string }[] }];
      expect(ok).toBe(true);
      expect(status.batches.map((b) => b.batchId)).toContain(batch.batchId);
      expect((await ask("parallel-agents.show", { batchId: "nope" }))[2]).toMatchObject({ code: "INVALID_REQUEST" });
      const [, doctor] = (await ask("parallel-agents.doctor")) as [boolean, { store: { ok: boolean; path: string } }];
      expect(doctor.store).toMatchObject({ ok: true, path: engine.store.path });
      const [cOk, cancel] = (await ask("parallel-agents.cancel", { batchId: batch.batchId })) as [boolean, { batch: { batchId: string } }];
      expect(cOk).toBe(true);
      expect(cancel.batch.batchId).toBe(batch.batchId);
      expect(engine.get(batch.batchId)!.runs[0].state).toBe("cancelled");
    } finally {
      setCurrentEngine(undefined);
      await engine.stop();
      engine.store.close();
    }
  });
});

describe("the /parallel-agents chat command", () => {
  const deps = { config: resolveConfig({ ladder: ["m/cheap"] }), hostConfig: () => ({}), host: () => ({}) };

  it("registers one text command that takes arguments", () => {
    const defs: { name: string; acceptsArgs?: boolean }[] = [];
    registerChatCommand({ registerCommand: (d) => void defs.push(d) }, deps);
    expect(defs).toMatchObject([{ name: "parallel-agents", acceptsArgs: true }]);
  });

  it("shows, and cancels, only the batches of the conversation's agent", async () => {
    const engine = engineOn(tempDir(), new MemoryRuntime(() => ({ hang: true })));
    setCurrentEngine(engine);
    await engine.start();
    try {
      const mine = batchOf([spec("a", { prompt: "wait forever" })]);
      const theirs = { ...batchOf([spec("b", { prompt: "wait forever" })]), agentId: "other", requester: "agent:other:main" };
      engine.submit(mine);
      engine.submit(theirs);
      const ask = (args: string, agentId = "main") => answerChatCommand({ args, agentId }, deps);
      const status = await ask("");
      expect(status).toContain(mine.batchId);
      expect(status).not.toContain(theirs.batchId);
      expect(await ask("status", "other")).toContain(theirs.batchId);
      expect(await ask(`show ${mine.batchId}`)).toMatch(/a\s+(queued|running)/);
      expect(await ask(`show ${theirs.batchId}`)).toMatch(/is not yours/);
      expect(await ask(`cancel ${theirs.batchId}`)).toMatch(/is not yours/);
      expect(engine.get(theirs.batchId)!.runs[0].state).not.toBe("cancelled");
      expect(await ask(`cancel ${mine.batchId}`)).toMatch(new RegExp(`Stopped 1 run\\(s\\) of ${mine.batchId}: a`));
      expect(engine.get(mine.batchId)!.runs[0].state).toBe("cancelled");
      expect(await ask("show")).toMatch(/needs a batchId/);
      expect(await ask("frobnicate")).toMatch(/Unknown subcommand "frobnicate"[\s\S]*\/parallel-agents status/);
      expect(await ask("doctor")).toMatch(/store: .*batches\.sqlite — ok/);
    } finally {
      setCurrentEngine(undefined);
      await engine.stop();
      engine.store.close();
    }
  });

  it("says the engine is not running instead of failing", async () => {
    setCurrentEngine(undefined);
    expect(await answerChatCommand({ args: "status" }, deps)).toMatch(/engine is not running/);
  });
});
