// Out of the box with the models a user has: no `ladder` in the config and only the scripted provider
// (the default ladder's Anthropic/Kimi rungs cannot run here), model overrides allowed. Batches run on
// the agent's default model with a note naming the skipped rungs; bad pins, blank tasks and a broken
// rolesDir get 400s that name what to fix.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { call, childRequests, refuse } from "./support/plugin-calls.js";
import { BatchStore } from "../../src/store/batch-store.js";
import { REPO_ROOT } from "./support/gateway.mjs";
import { useGateway } from "./support/use-gateway.js";

const rolesDir = mkdtempSync(join(tmpdir(), "pa-roles-"));
writeFileSync(join(rolesDir, "roles.json"), JSON.stringify({ roles: { broken: { description: "d", template: "missing.hbs", tier: 0, vars: {} } } }));
const gw = useGateway({ name: "models", pluginDir: REPO_ROOT, pluginConfig: { rolesDir }, subagent: { allowModelOverride: true } });

describe("models the gateway has", () => {
  it("a broken rolesDir is a 400 naming the file and the entry (and a fixed one works without a restart)", async () => {
    const r = await refuse(gw(), "parallel_spawn", { tasks: [{ task: "x" }] });
    expect(r.status).toBe(400);
    expect(r.message).toContain(`${join(rolesDir, "roles.json")} roles.broken.template: template "missing.hbs" not found`);
    writeFileSync(join(rolesDir, "roles.json"), JSON.stringify({ roles: {} }));
  });

  it("with the default ladder and only the scripted provider, a 2-task batch comes back ok on the agent's default model, with a note naming the skipped rungs", async () => {
    const { details } = await call(gw(), "parallel_spawn", { tasks: [{ task: "[[reply:ONE]]" }, { task: "[[reply:TWO]]" }], waitSeconds: 60 });
    expect(details.runs.map((r) => [r.state, r.output])).toEqual([["ok", "ONE"], ["ok", "TWO"]]);
    for (const r of details.runs) expect(r.attempts).toMatchObject([{ model: "default", modelUsed: "fake/parent", outcome: "ok" }]);
    expect(childRequests(gw(), details.batchId).map((q) => q.model)).toEqual(["parent", "parent"]);
    const note = details.notes!.join(" ");
    expect(note).toMatch(/no ladder rung is usable on this gateway/);
    expect(note).toMatch(/anthropic\/claude-haiku-4-5 \(no credentials\)/);
    expect(note).toMatch(/kimi-coding\/k2p5 \(not configured\)/);
  });

  it("a pin to an unconfigured model is a 400 naming it, and nothing runs", async () => {
    const before = childRequests(gw()).length;
    const r = await refuse(gw(), "parallel_spawn", { tasks: [{ task: "a" }, { task: "b", model: "nowhere/model-x" }] });
    expect(r.status).toBe(400);
    expect(r.message).toMatch(/tasks\.1\.model: model "nowhere\/model-x" cannot run on this gateway \(not configured\)/);
    expect(childRequests(gw())).toHaveLength(before);
  });

  it("a pin to a configured model runs on it", async () => {
    const { details } = await call(gw(), "parallel_spawn", { tasks: [{ task: "[[reply:PINNED]]", model: "fake/strong" }], waitSeconds: 60 });
    expect(details.runs[0]).toMatchObject({ state: "ok", output: "PINNED", model: "fake/strong" });
  });

  it("when the provider answers with another model than requested, the attempt says so (modelUsed, modelMismatch) in the result and the store", async () => {
    const { details } = await call(gw(), "parallel_spawn", { tasks: [{ label: "routed", task: "[[answer-as:mid]] [[reply:ROUTED]]", model: "fake/cheap" }], waitSeconds: 60 });
    const [attempt] = details.runs[0].attempts as { model: string; modelUsed?: string; modelMismatch?: boolean }[];
    expect(attempt).toMatchObject({ model: "fake/cheap", modelUsed: "fake/mid", modelMismatch: true });
    const store = BatchStore.open(join(gw().dirs.state, "plugins", "parallel-agents"), { readOnly: true });
    expect(store.load(details.batchId)!.runs[0].attempts[0]).toMatchObject({ model: "fake/cheap", modelUsed: "fake/mid" });
    store.close();
  });

  it("a blank task is a 400 naming tasks[i].task", async () => {
    const r = await refuse(gw(), "parallel_spawn", { tasks: [{ task: "fine" }, { task: "  \n\t " }] });
    expect(r.status).toBe(400);
    expect(r.message).toMatch(/tasks\.1\.task: is blank/);
  });

  it("never left loopback", () => gw().assertNoEgress());
});
