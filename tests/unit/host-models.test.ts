// The ladder learns from the host: provider plugins read from the manifests the host loads (bundled,
// plugins.load.paths, managed npm installs) with its enable policy, the requesting agent's model
// policy and that agent's directory for its auth profiles, and the host's model table.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { hostModelApis, hostModelTable, hostModelsFor, hostProviderPlugins } from "../../src/models/host-apis.js";
import { discoverProviderPlugins, enabledProviderPlugins, hostPackageRoot, pluginEnabled } from "../../src/models/host-plugins.js";
import { hostModelView, resolveLadder } from "../../src/models/ladder.js";
import { DEFAULT_LADDER } from "../../src/config.js";
import { tempDir } from "../support/batch.js";
import { openclawEntry } from "../../scripts/provision.mjs";

// The pinned host that `npm test` provisions (scripts/provision.mjs) before the specs run.
const HOST_ROOT = dirname(openclawEntry);

function pluginDir(root: string, id: string, manifest: Record<string, unknown>): string {
  const dir = join(root, id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "openclaw.plugin.json"), JSON.stringify({ id, configSchema: {}, ...manifest }));
  return dir;
}

/** A state dir holding @openclaw/kimi-provider as `openclaw plugins install` leaves it. */
function stateWithKimi(): string {
  const state = tempDir("pa-state-");
  pluginDir(join(state, "npm", "projects", "openclaw-kimi-provider", "node_modules", "@openclaw"), "kimi-provider", {
    id: "kimi",
    providers: ["kimi", "kimi-code", "kimi-coding"],
    setup: { providers: [{ id: "kimi-coding", envVars: ["KIMI_API_KEY"] }] },
    modelCatalog: { providers: { "kimi-coding": { models: [{ id: "k2p5", cost: { input: 0.6, output: 2.5 } }] } } },
  });
  return state;
}

describe("provider plugins from the host", () => {
  it("a managed npm install (@openclaw/kimi-provider) makes kimi-coding a configured provider with its manifest's env vars", () => {
    const plugins = enabledProviderPlugins({}, { stateDir: stateWithKimi() });
    expect(plugins).toEqual([expect.objectContaining({ id: "kimi", bundled: false, providers: ["kimi", "kimi-code", "kimi-coding"], envVars: { "kimi-coding": ["KIMI_API_KEY"] } })]);
    expect(hostModelView({}, {}, { plugins }).unusable("kimi-coding/k2p5")).toBe("no credentials");
    expect(hostModelView({}, { KIMI_API_KEY: "k" }, { plugins }).unusable("kimi-coding/k2p5")).toBeUndefined();
    expect(hostModelView({}, { KIMI_API_KEY: "k" }, {}).unusable("kimi-coding/k2p5")).toBe("not configured"); // what 0.2 saw
  });

  it("the default ladder keeps its middle rung when the Kimi plugin is installed", () => {
    const plugins = enabledProviderPlugins({}, { stateDir: stateWithKimi() });
    const host = hostModelView({}, { ANTHROPIC_API_KEY: "a", KIMI_API_KEY: "k" }, { plugins });
    expect(resolveLadder({ ladder: DEFAULT_LADDER, host }).usable).toEqual(DEFAULT_LADDER);
  });

  it("plugins.load.paths: a plugin folder, an entry file, or a folder of plugins", () => {
    const root = tempDir("pa-plugins-");
    const one = pluginDir(root, "one", { providers: ["One"] });
    writeFileSync(join(one, "index.js"), "");
    pluginDir(join(root, "many"), "two", { providers: ["two"] });
    pluginDir(join(root, "many"), "tool-only", {}); // no providers: not a provider plugin
    const cfg = { plugins: { load: { paths: [join(one, "index.js"), join(root, "many"), join(root, "missing")] } } };
    expect(discoverProviderPlugins(cfg, {}).map((p) => [p.id, p.providers])).toEqual([["one", ["one"]], ["two", ["two"]]]);
  });

  it("the host's enable policy: disabled entries, deny, a restrictive allow list and plugins.enabled: false turn a plugin's providers off", () => {
    const stateDir = stateWithKimi();
    const ids = (cfg: unknown) => enabledProviderPlugins(cfg, { stateDir }).map((p) => p.id);
    expect(ids({})).toEqual(["kimi"]);
    expect(ids({ plugins: { entries: { kimi: { enabled: false } } } })).toEqual([]);
    expect(ids({ plugins: { deny: ["kimi"] } })).toEqual([]);
    expect(ids({ plugins: { allow: ["parallel-agents"] } })).toEqual([]);
    expect(ids({ plugins: { allow: ["parallel-agents", "kimi"] } })).toEqual(["kimi"]);
    expect(ids({ plugins: { enabled: false } })).toEqual([]);
  });

  it("bundled plugins run when on by default or turned on", () => {
    const bundled = { id: "x", bundled: true };
    expect(pluginEnabled({}, { ...bundled, enabledByDefault: true })).toBe(true);
    expect(pluginEnabled({}, bundled)).toBe(false);
    expect(pluginEnabled({ plugins: { entries: { x: { enabled: true } } } }, bundled)).toBe(true);
    expect(pluginEnabled({ plugins: { allow: ["other"] } }, { ...bundled, enabledByDefault: true })).toBe(true);
  });

  it("the real host's bundled manifests replace the fallback table: anthropic with its env vars, apple-fm off by default", () => {
    const plugins = enabledProviderPlugins({}, { hostRoot: HOST_ROOT });
    const anthropic = plugins.find((p) => p.id === "anthropic");
    expect(anthropic).toMatchObject({ bundled: true, providers: ["anthropic"], envVars: { anthropic: ["ANTHROPIC_OAUTH_TOKEN", "ANTHROPIC_API_KEY"] } });
    expect(plugins.some((p) => p.id === "apple-fm")).toBe(false);
    const view = hostModelView({}, { ANTHROPIC_API_KEY: "k" }, { plugins });
    expect(view.unusable("anthropic/claude-haiku-4-5")).toBeUndefined();
    expect(view.unusable("apple-fm/any")).toBe("not configured");
    // With bundled manifests read, a provider the host does not have is not configured even if 0.2's table named it.
    const onlyKimi = enabledProviderPlugins({}, { stateDir: stateWithKimi() });
    expect(hostModelView({}, { XAI_API_KEY: "k" }, { plugins: [...onlyKimi, { ...anthropic!, bundled: true }] }).unusable("xai/grok")).toBe("not configured");
    expect(hostModelView({}, { XAI_API_KEY: "k" }, { plugins: onlyKimi }).unusable("xai/grok")).toBeUndefined(); // fallback table
  });

  it("finds the host package from the openclaw bin, and nothing from elsewhere", () => {
    expect(hostPackageRoot(join(HOST_ROOT, "openclaw.mjs"))).toBe(HOST_ROOT);
    expect(hostPackageRoot(join(tempDir(), "x.mjs"))).toBeUndefined();
    expect(hostPackageRoot(undefined)).toBeUndefined();
  });
});

describe("the requesting agent", () => {
  const config = {
    models: { providers: { fake: { baseUrl: "http://127.0.0.1:9/v1", apiKey: "k", models: [{ id: "cheap", cost: { input: 1, output: 2 } }, { id: "strong" }] } } },
    agents: { list: [{ id: "main" }, { id: "frugal", modelPolicy: { allow: ["fake/cheap"] } }] },
  };

  it("its model policy decides which rungs it may use", () => {
    const host = { config };
    expect(hostModelsFor(host, {}, { agentId: "main" }).unusable("fake/strong")).toBeUndefined();
    expect(hostModelsFor(host, {}, { agentId: "frugal" }).unusable("fake/strong")).toBe("not in allowedModels");
    expect(hostModelsFor(host, {}, { agentId: "frugal" }).unusable("fake/cheap")).toBeUndefined();
  });

  it("its directory reaches the host's auth check (its own auth profiles count)", () => {
    const seen: (string | undefined)[] = [];
    const host = {
      config,
      runtime: {
        agent: { resolveAgentDir: (_cfg: unknown, id: string) => `/agents/${id}` },
        modelAuth: { isProviderApiKeyConfigured: (p: { provider: string; agentDir?: string }) => (seen.push(p.agentDir), p.agentDir === "/agents/research") },
      },
    };
    expect(hostModelApis(host, { agentId: "research" })).toMatchObject({ agentId: "research", agentDir: "/agents/research" });
    expect(hostModelsFor(host, {}, { agentId: "research" }).unusable("openai/gpt-5.4")).toBeUndefined();
    expect(hostModelsFor(host, {}, { agentId: "main" }).unusable("openai/gpt-5.4")).toBe("no credentials");
    expect(hostModelApis(host, { agentId: "research", agentDir: "/given" }).agentDir).toBe("/given"); // the call's own dir wins
    expect(seen).toContain("/agents/research");
  });

  it("a host whose agent-dir helper throws still answers", () => {
    const host = { config, runtime: { agent: { resolveAgentDir: () => { throw new Error("no such agent"); } } } };
    expect(hostModelApis(host, { agentId: "x" })).not.toHaveProperty("agentDir");
  });
});

describe("the host's model table", () => {
  it("config rows (with their cost) first, then enabled plugins' manifest rows; cached per config object", () => {
    const stateDir = stateWithKimi();
    const config = { models: { providers: { Fake: { baseUrl: "http://x/v1", models: [{ id: "cheap", cost: { input: 1, output: 2 } }, { id: "mid" }] } } } };
    const host = { config, runtime: { state: { resolveStateDir: () => stateDir } } };
    expect(hostModelTable(host)).toEqual([
      { ref: "fake/cheap", cost: { input: 1, output: 2 }, source: "config" },
      { ref: "fake/mid", source: "config" },
      { ref: "kimi-coding/k2p5", cost: { input: 0.6, output: 2.5 }, source: "kimi" },
    ]);
    expect(hostProviderPlugins(host)).toBe(hostProviderPlugins(host));
    expect(hostModelTable({ config: null })).toEqual([]);
  });
});
