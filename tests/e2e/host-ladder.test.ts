// The ladder the user configured, in the real gateway: its middle rung comes from an installed provider
// plugin (the fixture `plugfake`, loaded like @openclaw/kimi-provider; no models.providers entry), and
// the requesting agent's own model policy (`agents.entries.frugal.modelPolicy.allow`) is respected.
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { type Run, call, childRequests } from "./support/plugin-calls.js";
import { REPO_ROOT } from "./support/gateway.mjs";
import { useGateway } from "./support/use-gateway.js";

const PROVIDER_PLUGIN = fileURLToPath(new URL("./fixtures/provider-plugin", import.meta.url));
const LADDER = ["fake/cheap", "plugfake/plug-mid", "fake/strong"];

const gw = useGateway({
  name: "host-ladder",
  pluginDir: REPO_ROOT,
  warmup: false, // the warm-up chat names no agent, which two configured agents refuse
  readyTimeoutMs: 240_000, // two plugins by path on a busy machine
  extraPlugins: [PROVIDER_PLUGIN], // loaded from a copy beside ours, outside the repo
  pluginConfig: { ladder: LADDER },
  subagent: { allowModelOverride: true },
  env: { PLUGFAKE_API_KEY: "plug-key" },
  config: {
    plugins: { entries: { plugfake: { enabled: true } } },
    agents: { entries: { main: { default: true }, frugal: { modelPolicy: { allow: ["fake/cheap", "fake/parent"] } } } },
  },
});

/**
 * Every attempt is on the plugin's rung and the last one is ok. Right after the gateway starts (this file has no
 * warm-up turn), the host may not have loaded the plugin's model catalog yet and answers "Unknown model" once (seen
 * in CI): that try is retried on the same rung, and no other failure is allowed.
 */
function expectOnPluginRung(attempts: Run["attempts"]) {
  const tries = JSON.stringify(attempts);
  expect(attempts.map((a) => [a.model, a.modelUsed]), tries).toEqual(attempts.map(() => ["plugfake/plug-mid", "plugfake/plug-mid"]));
  expect(attempts.at(-1)?.outcome, tries).toBe("ok");
  expect(attempts.slice(0, -1).map((a) => a.reason), tries).toEqual(attempts.slice(0, -1).map(() => expect.stringMatching(/^Unknown model: plugfake\/plug-mid/)));
  expect(attempts.length, tries).toBeLessThanOrEqual(2);
}

describe("the ladder the user configured", () => {
  it("a rung from an installed provider plugin is usable: a tier-1 role starts on it and a failing cheap rung escalates to it", async () => {
    const { details } = await call(gw(), "parallel_spawn", {
      tasks: [
        { label: "escalates", task: "[[error@cheap:400]] [[reply:FROM-PLUGIN]]" },
        { label: "writer", role: "content-writer", vars: { topic: "[[reply:WRITTEN]] plugins" } },
      ],
      waitSeconds: 240,
    }, "agent:main:main");
    const [esc, writer] = details.runs;
    expect(esc).toMatchObject({ state: "ok", output: "FROM-PLUGIN" });
    // The cheap rung fails (the policy may retry it once), then the run escalates to the plugin's rung, not to strong.
    const cheap = esc.attempts.filter((a) => a.model === "fake/cheap");
    expect(esc.attempts.slice(0, cheap.length)).toEqual(cheap);
    expect(cheap.map((a) => a.outcome)).toEqual(cheap.map(() => "provider_error"));
    expect(cheap.length).toBeGreaterThan(0);
    expectOnPluginRung(esc.attempts.slice(cheap.length));
    expect(writer).toMatchObject({ state: "ok", output: "WRITTEN" });
    expectOnPluginRung(writer.attempts);
    expect((details.notes ?? []).join(" ")).not.toMatch(/skipped/);
    expect(childRequests(gw(), details.batchId).map((q) => q.model)).toContain("plug-mid");
  });

  it("the requesting agent's model policy: rungs it may not use are skipped with a note, and a pin to one is a 400", async () => {
    const session = "agent:frugal:main";
    const { details } = await call(gw(), "parallel_spawn", {
      tasks: [{ label: "plain", task: "[[reply:FRUGAL]]" }, { label: "writer", role: "content-writer", vars: { topic: "[[reply:FRUGAL-WRITER]] x" } }],
      waitSeconds: 240,
    }, session);
    expect(details.runs.map((r) => [r.state, r.attempts[0].model])).toEqual([["ok", "fake/cheap"], ["ok", "fake/cheap"]]);
    const note = (details.notes ?? []).join(" ");
    expect(note).toMatch(/plugfake\/plug-mid \(not in allowedModels\)/);
    expect(note).toMatch(/fake\/strong \(not in allowedModels\)/);
    expect(childRequests(gw(), details.batchId).map((q) => q.model)).toEqual(["cheap", "cheap"]);

    const r = await gw().invokeTool("parallel_spawn", { tasks: [{ task: "x", model: "fake/strong" }] }, { sessionKey: session, timeoutMs: 60_000 });
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.body)).toMatch(/tasks\.0\.model: model \\"fake\/strong\\" cannot run on this gateway \(not in allowedModels\)/);
    // Agent main has no such policy: the same pin runs.
    const main = await call(gw(), "parallel_spawn", { tasks: [{ task: "[[reply:STRONG]]", model: "fake/strong" }], waitSeconds: 240 }, "agent:main:main");
    expect(main.details.runs[0]).toMatchObject({ state: "ok", output: "STRONG" });
  });

  it("never left loopback", () => gw().assertNoEgress());
});
