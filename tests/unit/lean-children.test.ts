// Lean children: the prompt mode and tool surface a child runs with, from the plugin config, the
// role's declaration and the task, down to the host's `subagent.run` params.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/config.js";
import { loadRegistry } from "../../src/roles/registry.js";
import { type SubagentApi, openclawRuntime, surfaceParams } from "../../src/runtime/openclaw-adapter.js";
import { buildRunSpecs } from "../../src/tools/batch.js";
import { TaskSchema, SpawnSchema, validateParams } from "../../src/tools/schemas.js";
import { batchOf, engineOn, settled, spec, tempDir } from "../support/batch.js";
import { MemoryRuntime } from "../support/memory-runtime.js";

const registry = loadRegistry();
const specsOf = (tasks: Parameters<typeof buildRunSpecs>[1], raw: Record<string, unknown> = {}) => buildRunSpecs("parallel_spawn", tasks, registry, resolveConfig(raw));

describe("the child's surface as subagent.run params", () => {
  it("minimal prompt = promptMode minimal + lightContext; no tools = disableTools; the full surface adds nothing", () => {
    expect(surfaceParams({ prompt: "minimal", tools: false })).toEqual({ promptMode: "minimal", lightContext: true, disableTools: true });
    expect(surfaceParams({ prompt: "minimal", tools: true })).toEqual({ promptMode: "minimal", lightContext: true });
    expect(surfaceParams({ prompt: "full", tools: false })).toEqual({ disableTools: true });
    expect(surfaceParams({ prompt: "full", tools: true })).toEqual({});
    expect(surfaceParams(undefined)).toEqual({}); // a batch stored before 0.3 runs as it did
  });

  it("the adapter hands them to subagent.run with the rest of the start", async () => {
    const seen: Record<string, unknown>[] = [];
    const subagent = { run: async (p: Record<string, unknown>) => (seen.push(p), { runId: "r1" }) } as unknown as SubagentApi;
    const runtime = openclawRuntime({ runtime: { subagent, state: { resolveStateDir: () => "/tmp" } } });
    await runtime.start({ sessionKey: "agent:main:subagent:x", message: "m", model: "fake/cheap", idempotencyKey: "k", surface: { prompt: "minimal", tools: false } });
    expect(seen[0]).toMatchObject({ sessionKey: "agent:main:subagent:x", provider: "fake", model: "cheap", promptMode: "minimal", lightContext: true, disableTools: true, lane: "subagent" });
  });
});

describe("which surface a task gets", () => {
  it("lean prompt by default; text-only roles get no tools, the researcher and free-form tasks keep the agent's", () => {
    const specs = specsOf([
      { role: "content-writer", vars: { topic: "t" } },
      { role: "code-reviewer", vars: { code: "x" } },
      { role: "architect", vars: { problem: "p" } },
      { role: "synthesizer", vars: { results: "[]" } },
      { role: "researcher", vars: { topic: "t" } },
      { task: "free" },
    ]);
    expect(specs.map((s) => s.surface)).toEqual([
      { prompt: "minimal", tools: false },
      { prompt: "minimal", tools: false },
      { prompt: "minimal", tools: false },
      { prompt: "minimal", tools: false },
      { prompt: "minimal", tools: true },
      { prompt: "minimal", tools: true },
    ]);
  });

  it("a task's tools and childPrompt win over its role and the config", () => {
    const [free, reviewer, full] = specsOf([{ task: "t", tools: false }, { role: "code-reviewer", vars: { code: "src/a.ts" }, tools: true }, { task: "t", childPrompt: "full" }]);
    expect(free.surface).toEqual({ prompt: "minimal", tools: false });
    expect(reviewer.surface).toEqual({ prompt: "minimal", tools: true });
    expect(full.surface).toEqual({ prompt: "full", tools: true });
  });

  it("config childPrompt: full gives every child the full prompt unless its task says minimal", () => {
    const specs = specsOf([{ task: "a" }, { task: "b", childPrompt: "minimal" }], { childPrompt: "full" });
    expect(specs.map((s) => s.surface?.prompt)).toEqual(["full", "minimal"]);
  });

  it("a user's role keeps the agent's tools unless it says tools: \"none\"; a bad declaration names the field", () => {
    const dir = tempDir("pa-roles-");
    writeFileSync(join(dir, "t.hbs"), "do {{task}}");
    writeFileSync(join(dir, "roles.json"), JSON.stringify({ roles: { mine: { description: "d", template: "t.hbs", tier: 0, vars: {} } } }));
    const mine = loadRegistry({ rolesDir: dir });
    expect(mine.render("mine", { task: "x" }).tools).toBe(true);
    writeFileSync(join(dir, "roles.json"), JSON.stringify({ roles: { mine: { description: "d", template: "t.hbs", tier: 0, vars: {}, tools: "none" } } }));
    expect(loadRegistry({ rolesDir: dir }).render("mine", { task: "x" }).tools).toBe(false);
    writeFileSync(join(dir, "roles.json"), JSON.stringify({ roles: { mine: { description: "d", template: "t.hbs", tier: 0, vars: {}, tools: false } } }));
    expect(() => loadRegistry({ rolesDir: dir })).toThrow(/roles\.mine\.tools: must be "none" \(no tools: a text-only role\) or "agent"/);
  });

  it("bad tools / childPrompt values are 400s that name the field", () => {
    expect(() => validateParams("parallel_spawn", SpawnSchema, { tasks: [{ task: "a", tools: "no" }] })).toThrow(/tasks\.0\.tools: must be boolean/);
    expect(() => validateParams("parallel_spawn", SpawnSchema, { tasks: [{ task: "a", childPrompt: "tiny" }] })).toThrow(/tasks\.0\.childPrompt/);
    expect(validateParams("task", TaskSchema, { task: "a", tools: false, childPrompt: "full" })).toEqual({ task: "a", tools: false, childPrompt: "full" });
  });
});

describe("the engine starts every attempt with the run's surface", () => {
  it("first attempt, the corrective follow-up and the escalated retry all carry it", async () => {
    // 1st: not JSON -> corrective follow-up in the same session; 2nd: still not JSON -> escalate; 3rd: ok.
    const runtime = new MemoryRuntime((_req, i) => ({ reply: i < 2 ? "not json" : "{}" }));
    const engine = engineOn(tempDir(), runtime);
    await engine.start();
    const surface = { prompt: "minimal" as const, tools: false };
    const batch = batchOf([spec("a", { outputSchema: { type: "object" }, surface })]);
    engine.submit(batch);
    const done = await settled(engine, batch.batchId);
    expect(done.runs[0].state).toBe("ok");
    expect(runtime.runs.map((r) => r.req.idempotencyKey.split(":").slice(2).join(":"))).toEqual(["1", "1:fix", "2"]);
    expect(runtime.runs.map((r) => r.req.surface)).toEqual([surface, surface, surface]);
    await engine.stop();
  });
});
