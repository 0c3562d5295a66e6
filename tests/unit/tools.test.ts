import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import plugin, { TOOL_NAMES } from "../../src/index.js";
import { fakeHost } from "../support/fake-host.js";

describe("plugin registration", () => {
  it("registers the four contract tools, direct-only, each listed in the manifest", async () => {
    const host = await fakeHost();
    expect([...host.factories.keys()].sort()).toEqual([...TOOL_NAMES].sort());
    const manifest = JSON.parse(readFileSync("openclaw.plugin.json", "utf8"));
    for (const name of TOOL_NAMES) {
      expect(manifest.contracts.tools).toContain(name);
      expect(manifest.toolMetadata[name].profiles).toEqual(expect.arrayContaining(["coding", "messaging"]));
      expect(host.tool(name)).toMatchObject({ name, catalogMode: "direct-only" });
    }
  });

  it("the manifest's configSchema is the code's config schema", () => {
    const manifest = JSON.parse(readFileSync("openclaw.plugin.json", "utf8"));
    expect(manifest.configSchema).toEqual(JSON.parse(JSON.stringify(plugin.configSchema)));
  });
});

describe("parallel_spawn + poll_until_complete", () => {
  it("waitSeconds returns every run's real output, with counts and an estimate", async () => {
    const host = await fakeHost({ script: (req) => ({ reply: `answer to ${req.message}` }) });
    const res = await host.call("parallel_spawn", { tasks: [{ task: "one" }, { task: "two" }, { task: "three" }], waitSeconds: 10 });
    const d = res.details;
    expect(d.complete).toBe(true);
    expect(d.runs.map((r: any) => [r.label, r.state, r.output])).toEqual([
      ["agent-1", "ok", "answer to one"],
      ["agent-2", "ok", "answer to two"],
      ["agent-3", "ok", "answer to three"],
    ]);
    expect(d.counts).toMatchObject({ ok: 3, failed: 0, running: 0, queued: 0 });
    expect(d.estimate.tokens).toBeGreaterThan(0);
    for (const key of ["status", "ok", "success", "error", "timedOut", "exitCode"]) expect(d).not.toHaveProperty(key);
    expect(res.content[0].text).toContain("answer to two");
  });

  it("returns at once by default; poll collects the results, idempotently", async () => {
    const host = await fakeHost({ script: () => ({ reply: "r", delayMs: 100 }) });
    const spawned = await host.call("parallel_spawn", { tasks: [{ task: "a", label: "x" }] });
    expect(spawned.details.complete).toBe(false);
    expect(spawned.content[0].text).toMatch(/poll_until_complete/);
    const first = await host.call("poll_until_complete", { batchId: spawned.details.batchId, timeoutSeconds: 10 });
    const again = await host.call("poll_until_complete", { batchId: spawned.details.batchId, timeoutSeconds: 10 });
    expect(first.details.runs[0]).toMatchObject({ label: "x", state: "ok", output: "r" });
    expect(again.details.runs).toEqual(first.details.runs);
    expect(host.memory.runs).toHaveLength(1);
  });

  it("a poll bounded short of completion returns partial results", async () => {
    const host = await fakeHost({ script: (req) => ({ reply: req.message, delayMs: req.message === "slow" ? 2000 : 5 }) });
    const { details } = await host.call("parallel_spawn", { tasks: [{ task: "fast" }, { task: "slow" }], waitSeconds: 1 });
    expect(details.complete).toBe(false);
    expect(details.partial).toBe(true);
    expect(details.results.map((r: any) => r.label)).toEqual(["agent-1"]);
    await host.call("parallel_cancel", { batchId: details.batchId });
  });

  it("a new plugin instance (gateway restart) answers polls from the ledger", async () => {
    const first = await fakeHost({ script: () => ({ reply: "persisted" }) });
    const { details } = await first.call("parallel_spawn", { tasks: [{ task: "a" }], waitSeconds: 5 });
    await first.stop();
    const restarted = await fakeHost({ stateDir: first.stateDir }); // a new service, reading the same store
    const res = await restarted.call("poll_until_complete", { batchId: details.batchId, timeoutSeconds: 1 });
    expect(res.details.runs[0]).toMatchObject({ state: "ok", output: "persisted" });
  });

  it("progress lines carry labels and counts, never task text", async () => {
    const host = await fakeHost();
    const updates: any[] = [];
    await host.call("parallel_spawn", { tasks: [{ task: "SECRET-TASK-TEXT sk-live-123" }], waitSeconds: 5 }, undefined, (u) => updates.push(u));
    expect(updates.length).toBeGreaterThan(1);
    expect(updates[0].progress).toMatchObject({ visibility: "channel", privacy: "public" });
    expect(JSON.stringify(updates)).not.toMatch(/SECRET-TASK-TEXT|sk-live/);
  });

  it("without the operator's override, runs use the default model and the result says which line turns escalation on", async () => {
    const host = await fakeHost({ allowModelOverride: false });
    const res = await host.call("parallel_spawn", { tasks: [{ task: "a", model: "x/pinned" }], waitSeconds: 5 });
    expect(host.memory.runs[0].req.model).toBeUndefined();
    expect(res.details.notes.join(" ")).toMatch(/plugins\.entries\.parallel-agents\.subagent\.allowModelOverride: true/);
  });
});

describe("admission errors and guards", () => {
  let host: Awaited<ReturnType<typeof fakeHost>>;
  beforeAll(async () => {
    host = await fakeHost({ pluginConfig: { maxTasks: 3 } });
  });
  const bad: [string, unknown, RegExp][] = [
    ["no tasks", {}, /give "tasks"/],
    ["empty tasks", { tasks: [] }, /tasks: must NOT have fewer than 1 items/],
    ["too many tasks", { tasks: [{ task: "a" }, { task: "b" }, { task: "c" }, { task: "d" }] }, /more than maxTasks \(3\)/],
    ["neither task nor role", { tasks: [{ label: "x" }] }, /tasks\.0: give "task"/],
    ["duplicate labels", { tasks: [{ task: "a", label: "x" }, { task: "b", label: "x" }] }, /"x" is used twice/],
    ["unknown field", { tasks: [{ task: "a" }], bogus: 1 }, /unknown field "bogus"/],
    ["unknown role", { tasks: [{ role: "wizard" }] }, /wizard.*researcher|researcher.*wizard/s],
    ["tasks as a string", { tasks: "do things" }, /tasks: must be array/],
    ["bad schema", { tasks: [{ task: "a", outputSchema: { type: "nope" } }] }, /tasks\.0\.outputSchema/],
    ["budget too small", { tasks: [{ task: "a" }], budget: { maxTokens: 10 } }, /refused before starting anything.*maxTokens/],
  ];
  it.each(bad)("%s gets a clear error the host shows the caller (ToolInputError -> HTTP 400)", async (_name, params, message) => {
    const call = host.call("parallel_spawn", params);
    await expect(call).rejects.toThrow(message);
    await expect(call).rejects.toMatchObject({ name: "ToolInputError", status: 400 });
  });

  it("a child session cannot fan out again (maxDepth 1)", async () => {
    await expect(host.call("parallel_spawn", { tasks: [{ task: "a" }] }, "agent:main:subagent:pa1-x-1-a1")).rejects.toThrow(/sub-agent at depth 1.*maxDepth is 1/);
    await expect(host.call("research_team", { topics: ["t"] }, "agent:main:subagent:pa1-x-1-a1")).rejects.toThrow(/cannot fan out/);
  });

  it("maxDepth 2 lets a child fan out once more, not twice", async () => {
    const deep = await fakeHost({ pluginConfig: { maxDepth: 2 } });
    const res = await deep.call("parallel_spawn", { tasks: [{ task: "a" }], waitSeconds: 5 }, "agent:main:subagent:pa1-x-1-a1");
    expect(deep.memory.runs[0].req.sessionKey).toMatch(/:subagent:pa2-/);
    expect(res.details.complete).toBe(true);
    await expect(deep.call("parallel_spawn", { tasks: [{ task: "a" }] }, "agent:main:subagent:pa2-y-1-a1")).rejects.toThrow(/cannot fan out/);
  });

  it("poll and cancel of an unknown batch say so", async () => {
    await expect(host.call("poll_until_complete", { batchId: "pa-nope-123" })).rejects.toThrow(/unknown batchId "pa-nope-123"/);
    await expect(host.call("poll_until_complete", { batchId: "../../etc/passwd" })).rejects.toThrow(/batchId must be/);
    await expect(host.call("parallel_cancel", { batchId: "pa-nope-123" })).rejects.toThrow(/unknown batchId/);
  });
});

describe("models the gateway can run", () => {
  const only = { fake: { baseUrl: "http://127.0.0.1:9/v1", models: [{ id: "cheap" }] } };

  it("with the default ladder and only another provider, runs use the agent's default model and the note names the skipped rungs", async () => {
    const host = await fakeHost({ models: only, pluginConfig: {} });
    const { details } = await host.call("parallel_spawn", { tasks: [{ task: "a" }, { task: "b" }], waitSeconds: 5 });
    expect(details.runs.map((r: any) => r.state)).toEqual(["ok", "ok"]);
    expect(host.memory.runs.map((r) => r.req.model)).toEqual([undefined, undefined]);
    expect(details.notes.join(" ")).toMatch(/no ladder rung is usable on this gateway \(anthropic\/claude-haiku-4-5 \(no credentials\), kimi-coding\/k2p5 \(not configured\)/);
  });

  it("unusable rungs are skipped, and a role's tier maps onto what is left", async () => {
    const host = await fakeHost({ models: only, pluginConfig: { ladder: ["fake/cheap", "nowhere/mid", "anthropic/claude-opus-4-5"] } });
    const { details } = await host.call("parallel_spawn", { tasks: [{ role: "architect", vars: { problem: "p" } }], waitSeconds: 5 });
    expect(host.memory.runs[0].req.model).toBe("fake/cheap"); // architect starts at tier 2: gone, so the strongest usable
    expect(details.notes.join(" ")).toMatch(/ladder rungs skipped: nowhere\/mid \(not configured\), anthropic\/claude-opus-4-5 \(no credentials\)/);
  });

  it("a pin to a model the gateway cannot run is refused up front, naming it and the usable choices", async () => {
    const host = await fakeHost({ models: only, pluginConfig: { ladder: ["fake/cheap"] } });
    const call = host.call("parallel_spawn", { tasks: [{ task: "a" }, { task: "b", model: "nowhere/x" }] });
    await expect(call).rejects.toMatchObject({ name: "ToolInputError" });
    await expect(call).rejects.toThrow(/tasks\.1\.model: model "nowhere\/x" cannot run on this gateway \(not configured\); usable ladder models: fake\/cheap/);
    expect(host.memory.runs).toHaveLength(0);
  });

  it("an outputSchema hiding deep junk under __proto__ is used as checked: the junk never reaches a prompt or the store", async () => {
    const host = await fakeHost({ script: () => ({ reply: '{"a": 1}' }) });
    const outputSchema = JSON.parse(`{"type":"object","__proto__":${'{"x":'.repeat(300)}1${"}".repeat(300)}}`);
    const { details } = await host.call("research_team", { topics: ["t"], outputSchema, synthesize: false, waitSeconds: 5 });
    expect(details.results[0]).toMatchObject({ state: "ok", data: { a: 1 } });
    expect(host.memory.runs[0].req.message).not.toContain('"x":');
  });

  it("a blank task is refused naming the field", async () => {
    const host = await fakeHost();
    await expect(host.call("parallel_spawn", { tasks: [{ task: "ok" }, { task: "   \n " }] })).rejects.toThrow(/tasks\.1\.task: is blank/);
  });

  it("an answering model other than the requested one is flagged in the result", async () => {
    const host = await fakeHost({ script: () => ({ reply: "hi", modelUsed: "m/other" }) });
    const { details } = await host.call("parallel_spawn", { tasks: [{ task: "a" }], waitSeconds: 5, ladder: ["m/cheap"] });
    expect(details.runs[0].attempts[0]).toMatchObject({ model: "m/cheap", modelUsed: "m/other", modelMismatch: true });
  });
});

describe("completion notice and ownership", () => {
  it("a batch nobody waits for tells its requester session once, with batchId, counts and failed labels, no output", async () => {
    const host = await fakeHost({ script: (req) => (req.message.includes("bad") ? { error: "HTTP 400 no" } : { reply: "SECRET-OUTPUT" }) });
    const { details } = await host.call("parallel_spawn", { tasks: [{ task: "good", label: "g" }, { task: "bad", label: "b" }], retries: 0 }, "agent:main:telegram:dm:42");
    expect(details.complete).toBe(false);
    for (let i = 0; i < 100 && !host.notices.length; i++) await new Promise((r) => setTimeout(r, 20));
    expect(host.notices).toHaveLength(1);
    const [notice] = host.notices;
    expect(notice).toMatchObject({ sessionKey: "agent:main:telegram:dm:42", agentId: "main" });
    expect(notice.text).toContain(details.batchId);
    expect(notice.text).toMatch(/1 ok, 1 failed/);
    expect(notice.text).toMatch(/Not ok: b\b/);
    expect(notice.text).toContain(`poll_until_complete {"batchId":"${details.batchId}"}`);
    expect(notice.text).not.toContain("SECRET-OUTPUT");
    await host.call("poll_until_complete", { batchId: details.batchId }, "agent:main:telegram:dm:42");
    expect(host.notices).toHaveLength(1);
  });

  it("no notice for a batch its call already returned complete, nor with notify: false", async () => {
    const host = await fakeHost({ script: () => ({ reply: "r", delayMs: 30 }) });
    await host.call("parallel_spawn", { tasks: [{ task: "a" }], waitSeconds: 5 });
    await host.call("parallel_spawn", { tasks: [{ task: "b" }], notify: false });
    await new Promise((r) => setTimeout(r, 300));
    expect(host.notices).toEqual([]);
  });

  it("another agent can neither poll nor cancel a batch, and learns nothing about it", async () => {
    const host = await fakeHost({ script: () => ({ hang: true }) });
    const { details } = await host.call("parallel_spawn", { tasks: [{ task: "mine", label: "secret-label" }] }, "agent:main:main");
    for (const [tool, args] of [["poll_until_complete", { batchId: details.batchId, timeoutSeconds: 0 }], ["parallel_cancel", { batchId: details.batchId }]] as const) {
      const refused = host.call(tool, args, "agent:other:main");
      await expect(refused).rejects.toMatchObject({ name: "ToolInputError", status: 400 });
      await expect(refused).rejects.toThrow(/is not yours/);
      await expect(refused).rejects.not.toThrow(/secret-label|mine/);
    }
    const { details: still } = await host.call("poll_until_complete", { batchId: details.batchId, timeoutSeconds: 0 }, "agent:main:main");
    expect(still.runs[0].state).toBe("running");
    await host.call("parallel_cancel", { batchId: details.batchId }, "agent:main:main");
  });
});

describe("outside a gateway (no engine running in this process)", () => {
  it("every tool says to run the gateway instead of failing the runs one by one", async () => {
    const host = await fakeHost();
    await host.stop(); // as in `openclaw agent --local`: tools are registered, the service never runs
    await expect(host.call("parallel_spawn", { tasks: [{ task: "x" }], waitSeconds: 5 })).rejects.toThrow(
      /parallel_spawn needs a running OpenClaw gateway.*openclaw gateway run/,
    );
    await expect(host.call("poll_until_complete", { batchId: "pa-abc-123" })).rejects.toThrow(/poll_until_complete needs a running OpenClaw gateway/);
    expect(host.memory.runs).toHaveLength(0);
  });
});

describe("plugin re-registration in one gateway process", () => {
  it("a reloaded plugin's batches run on the new instance's runtime, and earlier batches stay readable", async () => {
    const first = await fakeHost({ script: () => ({ reply: "from first" }) });
    const before = await first.call("parallel_spawn", { tasks: [{ task: "a" }], waitSeconds: 5 });
    // `openclaw plugins reload`: a new instance, same state dir; the host retires the old runtime.
    const second = await fakeHost({ stateDir: first.stateDir, script: () => ({ reply: "from second" }) });
    first.memory.start = async () => {
      throw new Error('Plugin "parallel-agents" runtime is no longer active.');
    };
    const after = await second.call("parallel_spawn", { tasks: [{ task: "b" }], waitSeconds: 5 });
    expect(after.details.runs[0]).toMatchObject({ state: "ok", output: "from second" });
    const old = await second.call("poll_until_complete", { batchId: before.details.batchId });
    expect(old.details.runs[0]).toMatchObject({ state: "ok", output: "from first" });
  });
});
