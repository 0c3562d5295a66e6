// Without the operator's subagent.allowModelOverride the plugin never asks the host for another model:
// runs use the agent's default model, escalation is off, and every result says which config line turns it
// on — never a silently ignored override. One gateway with the plugin enabled but no `subagent` block.
import { describe, expect, it } from "vitest";
import { byLabel, call, childRequests, pluginGateway } from "./support/plugin-calls.js";
import { useGateway } from "./support/use-gateway.js";

const gw = useGateway(pluginGateway("no-override", { allowModelOverride: false }));
const HINT = "Set plugins.entries.parallel-agents.subagent.allowModelOverride: true in openclaw.json to turn it on.";

describe("without allowModelOverride", () => {
  it("a model-driven spawn runs on the agent's default model and says how to enable escalation", async () => {
    const spawn = { tasks: [{ label: "pinned", task: "pinned [[reply:PINNED-OUT]]", model: "fake/strong" }], waitSeconds: 60 };
    const r = await gw().chat(`go [[tool:parallel_spawn ${JSON.stringify(spawn)}]] [[reply:DONE]]`, { sessionKey: "no-override" });
    expect(r.text).toBe("DONE");
    const seen = gw().fake!.requests((q) => q.sessionKey === "agent:main:no-override")[1].lastTool!.text;
    expect(seen).toContain(`Note: model pins were not applied; model escalation is off: runs use the agent's default model. ${HINT}`);
    expect(seen).toMatch(/\[pinned\] ok · model fake\/parent · 1 attempt/);
    expect(childRequests(gw()).map((q) => q.model)).toEqual(["parent"]); // the host was never asked for fake/strong
  });

  it("broken JSON is retried on the same default model instead of escalating, with every attempt listed", async () => {
    const schema = { type: "object", properties: { n: { type: "integer" } }, required: ["n"] };
    const { details } = await call(gw(), "parallel_spawn", { tasks: [{ label: "j", task: "j [[invalid-json]]", outputSchema: schema }], retries: 1, waitSeconds: 90 });
    const run = byLabel(details).j;
    expect(run.state).toBe("failed");
    expect(run.attempts.map((a) => [a.model, a.modelUsed, a.outcome])).toEqual([
      // Truncated JSON, repaired locally, parses but breaks the schema.
      ["default", "fake/parent", "schema_violation"],
      ["default", "fake/parent", "schema_violation"],
    ]);
    expect(details.notes).toContain(`model escalation is off: runs use the agent's default model. ${HINT}`);
  });
});
