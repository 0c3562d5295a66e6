// Proves the real-gateway harness with a stand-in plugin: the plugin loads, a direct /tools/invoke runs a
// sub-agent through api.runtime.subagent, a model-driven turn calls the tool, the fake's request log sees
// every turn, pinned-model failures are scriptable, and nothing left loopback. One gateway for the file.
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { overlappingRequests } from "./support/fake-model.mjs";
import { useGateway } from "./support/use-gateway.js";

const gw = useGateway({
  name: "harness",
  pluginDir: fileURLToPath(new URL("./fixtures/stand-in-plugin", import.meta.url)),
  subagent: { allowModelOverride: true },
});
const fake = () => gw().fake!;

describe("e2e harness", () => {
  it("loads the stand-in plugin and runs its child through /tools/invoke", async () => {
    const r = await gw().invokeTool("stand_in_run", { task: "direct task [[reply:CHILD-OK]]" });
    expect(r.status).toBe(200);
    expect(r.text).toBe("CHILD-OK");
    expect(r.body.result.details.child.sessionKey).toMatch(/^agent:main:subagent:stand-in-/);
    const child = fake().requests((q) => q.sessionKey === r.body.result.details.child.sessionKey);
    expect(child).toHaveLength(1);
    expect(child[0]).toMatchObject({ isSubagent: true, model: "parent", aborted: false, reply: { kind: "text" } });
  });

  it("runs a model-driven turn that calls the tool, and counts the parent turns", async () => {
    const task = JSON.stringify({ task: "child task [[reply:FROM-CHILD]]" });
    const r = await gw().chat(`please delegate [[tool:stand_in_run ${task}]] [[reply:PARENT-DONE]]`, { sessionKey: "h1" });
    expect(r.status).toBe(200);
    expect(r.text).toBe("PARENT-DONE");
    const parent = fake().requests((q) => q.sessionKey === "agent:main:h1");
    expect(parent.map((q) => q.reply.kind)).toEqual(["tool", "text"]);
    expect(parent[1].lastTool).toMatchObject({ name: "stand_in_run" });
    expect(parent[1].lastTool!.text).toContain("FROM-CHILD");
    const children = fake().requests((q) => q.isSubagent && q.reply.text === "FROM-CHILD");
    expect(children).toHaveLength(1);
    expect(overlappingRequests(fake().requests())).toEqual([]);
  });

  it("scripts a pinned model that fails once (HTTP 400) and then answers", async () => {
    fake().script({ model: "cheap", error: 400, times: 1 });
    const first = await gw().invokeTool("stand_in_run", { task: "pinned [[reply:CHEAP-OK]]", model: "fake/cheap" });
    expect(first.body.result.details.child).toMatchObject({ wait: "error", runtime: { model: "cheap" } });
    const second = await gw().invokeTool("stand_in_run", { task: "pinned [[reply:CHEAP-OK]]", model: "fake/cheap" });
    expect(second.text).toBe("CHEAP-OK");
    expect(fake().requests((q) => q.model === "cheap").map((q) => q.reply.kind)).toEqual(["error", "text"]);
  });

  it("the CLI sees the loaded plugin", async () => {
    const r = await gw().cli(["plugins", "inspect", "stand-in", "--runtime", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("stand_in_run");
  });

  it("never left loopback", () => {
    gw().assertNoEgress();
  });
});
