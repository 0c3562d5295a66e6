// Lean children in the real gateway: the scripted model sees each child request whole (the fake
// model's body log), so the system prompt a child carries and the tools it is offered are measured,
// not assumed. `childPrompt: "full"` with tools is exactly what 0.2 sent every child: the baseline.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { call, childRequests, pluginGateway } from "./support/plugin-calls.js";
import { useGateway } from "./support/use-gateway.js";

const gw = useGateway(pluginGateway("lean"));

type Body = { messages?: { role: string; content: unknown }[]; tools?: { function?: { name?: string } }[] };
const text = (c: unknown): string => (typeof c === "string" ? c : Array.isArray(c) ? c.map((p) => (typeof p === "string" ? p : (p?.text ?? ""))).join("") : "");

/** The first request whose latest user text carries `marker`: its system prompt size and tool names. */
function childRequest(marker: string) {
  const lines = readFileSync(join(gw().dirs.logs, "fake-model.jsonl"), "utf8").trim().split("\n");
  for (const line of lines) {
    const body = (JSON.parse(line) as { body: Body }).body;
    const users = (body.messages ?? []).filter((m) => m.role === "user");
    if (!users.some((m) => text(m.content).includes(marker))) continue;
    const system = (body.messages ?? []).filter((m) => m.role === "system" || m.role === "developer").map((m) => text(m.content)).join("\n");
    return { systemChars: system.length, tools: (body.tools ?? []).map((t) => t.function?.name ?? "?") };
  }
  throw new Error(`no child request carried ${marker}`);
}

describe("lean children", () => {
  it("a text-only role's child and a tools:false task's child carry <= 6,000 chars of system prompt and no tools; a default free-form child <= 80% of the full prompt", async () => {
    const { details } = await call(gw(), "parallel_spawn", {
      tasks: [
        { label: "full", task: "[[reply:FULL]] baseline-full", childPrompt: "full" },
        { label: "default", task: "[[reply:DEFAULT]] default-free-form" },
        { label: "no-tools", task: "[[reply:BARE]] tools-false-task", tools: false },
        { label: "writer", role: "content-writer", vars: { topic: "[[reply:WRITTEN]] writer-topic" } },
        { label: "reviewer", role: "code-reviewer", vars: { code: "[[reply:REVIEWED]] reviewer-code" } },
      ],
      waitSeconds: 120,
    });
    expect(details.runs.map((r) => [r.label, r.state])).toEqual([["full", "ok"], ["default", "ok"], ["no-tools", "ok"], ["writer", "ok"], ["reviewer", "ok"]]);
    const m = {
      full: childRequest("baseline-full"),
      default: childRequest("default-free-form"),
      noTools: childRequest("tools-false-task"),
      writer: childRequest("writer-topic"),
      reviewer: childRequest("reviewer-code"),
    };
    process.stderr.write(`[lean] system prompt chars / tools per child: ${JSON.stringify(Object.fromEntries(Object.entries(m).map(([k, v]) => [k, [v.systemChars, v.tools.length]])))}\n`);
    for (const lean of [m.noTools, m.writer, m.reviewer]) {
      expect(lean.tools).toEqual([]);
      expect(lean.systemChars).toBeGreaterThan(0);
      expect(lean.systemChars).toBeLessThanOrEqual(6_000);
    }
    expect(m.full.tools).toContain("exec"); // the baseline really is the full surface
    expect(m.default.tools.length).toBeGreaterThan(0); // a free-form child keeps the agent's tools
    expect(m.default.systemChars).toBeLessThanOrEqual(0.8 * m.full.systemChars);
    // The lean prompt still names the child's session, so the host and the suite can tell whose request it is.
    expect(childRequests(gw(), details.batchId).map((q) => q.sessionKey?.replace(/.*-(\d+)-a\d+$/, "$1")).sort()).toEqual(["1", "2", "3", "4", "5"]);
  });
});
