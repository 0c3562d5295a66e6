import { describe, expect, it } from "vitest";
import { DEFAULT_LADDER } from "../../src/config.js";
import { type HostModelView, type SkipReason, checkPin, describeSkipped, hostModelView, ladderNote } from "../../src/models/ladder.js";
import { nextRung, noUsableRungNote, pinRefusal, resolveLadder, startingRung } from "../../src/models/ladder.js";

const ladder = ["m/cheap", "m/mid", "m/strong"];
/** A view where the listed refs are unusable for the given reason. */
const view = (bad: Record<string, SkipReason> = {}): HostModelView => ({ unusable: (ref) => bad[ref] });

/** The e2e gateway's shape: only a custom provider `fake` (tests/e2e/support/gateway-config.mjs). */
const fakeOnly = (extra: Record<string, unknown> = {}) => ({
  agents: { defaults: { model: { primary: "fake/parent" } } },
  models: {
    mode: "merge",
    providers: {
      fake: { baseUrl: "http://127.0.0.1:9/v1", apiKey: "fake-key", api: "openai-completions", models: [{ id: "cheap" }, { id: "strong" }] },
    },
  },
  plugins: { entries: { "parallel-agents": { enabled: true, subagent: { allowModelOverride: true } } } },
  ...extra,
});
const why = (cfg: unknown, ref: string, env: NodeJS.ProcessEnv = {}) => hostModelView(cfg, env).unusable(ref);

describe("skip rules", () => {
  it("a provider the gateway does not know is not configured", () => {
    expect(why(fakeOnly(), "kimi-coding/k2p5")).toBe("not configured");
    expect(why(fakeOnly(), "nobody/x", { NOBODY_API_KEY: "k" })).toBe("not configured");
    expect(why(fakeOnly(), "no-slash")).toBe("not configured");
  });

  it("a custom models.providers entry needs a baseUrl to count as configured", () => {
    expect(why({ models: { providers: { own: { models: [{ id: "a" }] } } } }, "own/a")).toBe("not configured");
    expect(why({ models: { providers: { own: { baseUrl: "http://x/v1" } } } }, "own/a")).toBeUndefined();
  });

  it("a bundled provider needs credentials: env var, config env.vars, provider apiKey or an auth profile", () => {
    const ref = "anthropic/claude-haiku-4-5";
    expect(why({}, ref)).toBe("no credentials");
    expect(why({}, ref, { ANTHROPIC_API_KEY: "" })).toBe("no credentials");
    expect(why({}, ref, { ANTHROPIC_API_KEY: "sk" })).toBeUndefined();
    expect(why({ env: { vars: { ANTHROPIC_OAUTH_TOKEN: "t" } } }, ref)).toBeUndefined();
    expect(why({ models: { providers: { anthropic: { apiKey: "sk-literal" } } } }, ref)).toBeUndefined();
    expect(why({ models: { providers: { anthropic: { apiKey: "MY_KEY" } } } }, ref)).toBe("no credentials"); // env marker, unset
    expect(why({ models: { providers: { anthropic: { apiKey: "MY_KEY" } } } }, ref, { MY_KEY: "k" })).toBeUndefined();
    expect(why({ auth: { profiles: { "anthropic:work": { provider: "anthropic", mode: "token" } } } }, ref)).toBeUndefined();
  });

  it("the host's own credential check counts, and a throwing one is ignored", () => {
    const yes = { modelAuth: { isProviderApiKeyConfigured: (p: { provider: string }) => p.provider === "openai" } };
    expect(hostModelView({}, {}, yes).unusable("openai/gpt-5.4")).toBeUndefined();
    expect(hostModelView({}, {}, yes).unusable("xai/grok")).toBe("no credentials");
    const boom = { modelAuth: { isProviderApiKeyConfigured: (): boolean => { throw new Error("store locked"); } } };
    expect(hostModelView({}, {}, boom).unusable("openai/gpt-5.4")).toBe("no credentials");
  });

  it("a disabled bundled plugin takes its providers away; an installed external one adds them", () => {
    const env = { ANTHROPIC_API_KEY: "sk" };
    expect(why({ plugins: { deny: ["anthropic"] } }, "anthropic/claude-opus-4-5", env)).toBe("not configured");
    expect(why({ plugins: { entries: { anthropic: { enabled: false } } } }, "anthropic/claude-opus-4-5", env)).toBe("not configured");
    const host = { providers: ["kimi-coding"], modelAuth: { isProviderApiKeyConfigured: () => true } };
    expect(hostModelView({}, {}, host).unusable("kimi-coding/k2p5")).toBeUndefined();
  });

  it("the plugin entry's subagent.allowedModels restricts to exact refs; '*' allows any", () => {
    const cfg = (allowedModels: unknown) => fakeOnly({ plugins: { entries: { "parallel-agents": { subagent: { allowModelOverride: true, allowedModels } } } } });
    expect(why(cfg(["fake/cheap"]), "fake/cheap")).toBeUndefined();
    expect(why(cfg(["fake/cheap"]), "fake/strong")).toBe("not in allowedModels");
    expect(why(cfg(["FAKE/cheap"]), "fake/cheap")).toBeUndefined(); // provider ids are case-insensitive
    expect(why(cfg([]), "fake/cheap")).toBe("not in allowedModels"); // the host rejects every override then
    expect(why(cfg(["*"]), "fake/strong")).toBeUndefined();
    expect(why(cfg("fake/cheap"), "fake/strong")).toBeUndefined(); // not a list: no restriction
  });

  it("the agent's modelPolicy.allow restricts (exact, alias, provider/* prefix); per-agent replaces default", () => {
    const cfg = (defaults: unknown, entries?: unknown) => fakeOnly({ agents: { defaults, entries } });
    const policy = (allow: unknown) => cfg({ modelPolicy: { allow }, models: { "fake/mid": { alias: "Mid" } } });
    expect(why(policy(["fake/cheap"]), "fake/strong")).toBe("not in allowedModels");
    expect(why(policy(["fake/*"]), "fake/strong")).toBeUndefined();
    expect(why(policy(["fak*"]), "fake/strong")).toBe("not in allowedModels"); // wildcards end a segment
    expect(why(policy(["Mid"]), "fake/mid")).toBeUndefined();
    expect(why(policy([]), "fake/strong")).toBeUndefined(); // empty = allow any
    const perAgent = cfg({ modelPolicy: { allow: ["fake/cheap"] } }, { main: { modelPolicy: { allow: [] } } });
    expect(hostModelView(perAgent, {}, { agentId: "main" }).unusable("fake/strong")).toBeUndefined();
    expect(hostModelView(perAgent, {}, { agentId: "other" }).unusable("fake/strong")).toBe("not in allowedModels");
  });

  it("an unmigrated config still restricts to the agents.defaults.models keys; a migrated one does not", () => {
    const legacy = fakeOnly({ agents: { defaults: { models: { "fake/cheap": {} } } } });
    expect(why(legacy, "fake/strong")).toBe("not in allowedModels");
    expect(why({ ...legacy, meta: { migrations: { modelPolicyAllowlist: true } } }, "fake/strong")).toBeUndefined();
  });

  it("a model not listed under a configured custom provider is usable (listed rows are metadata)", () => {
    expect(why(fakeOnly(), "fake/unlisted-model")).toBeUndefined();
  });

  it("reasons are reported in order: not configured, then allowedModels, then credentials", () => {
    const cfg = { plugins: { entries: { "parallel-agents": { subagent: { allowedModels: ["fake/x"] } } } } };
    expect(why(cfg, "kimi-coding/k2p5")).toBe("not configured");
    expect(why(cfg, "anthropic/claude-opus-4-5")).toBe("not in allowedModels");
  });

  it("never throws on a missing or odd config", () => {
    for (const cfg of [undefined, null, 42, "x", [], { models: 1, plugins: [], agents: { defaults: "?" }, auth: { profiles: [1] } }]) {
      expect(() => hostModelView(cfg, undefined).unusable("anthropic/claude-haiku-4-5")).not.toThrow();
    }
    const hostile = new Proxy({}, { get: () => { throw new Error("nope"); } });
    expect(hostModelView(hostile, {}).unusable("fake/cheap")).toBe("not configured");
  });
});

describe("resolveLadder", () => {
  it("splits the ladder into usable rungs (in order, deduplicated) and skipped ones with reasons", () => {
    const r = resolveLadder({ ladder: [...ladder, "m/cheap"], host: view({ "m/mid": "no credentials" }) });
    expect(r).toEqual({ usable: ["m/cheap", "m/strong"], skipped: [{ model: "m/mid", why: "no credentials" }] });
  });

  it("a gateway with only the custom provider `fake`: fake/cheap usable, the default ladder all skipped", () => {
    const host = hostModelView(fakeOnly(), {});
    expect(checkPin("fake/cheap", host)).toEqual({ ok: true });
    const r = resolveLadder({ ladder: DEFAULT_LADDER, host });
    expect(r.usable).toEqual([]);
    expect(r.skipped).toEqual([
      { model: "anthropic/claude-haiku-4-5", why: "no credentials" },
      { model: "kimi-coding/k2p5", why: "not configured" },
      { model: "anthropic/claude-opus-4-5", why: "no credentials" },
    ]);
    expect(startingRung(0, DEFAULT_LADDER, r.usable)).toBeUndefined();
    expect(ladderNote(r)).toBe(
      "no ladder rung is usable on this gateway (anthropic/claude-haiku-4-5 (no credentials), kimi-coding/k2p5 (not configured), anthropic/claude-opus-4-5 (no credentials)); runs use the agent's default model",
    );
  });

  it("with an Anthropic key only the kimi rung is skipped", () => {
    const r = resolveLadder({ ladder: DEFAULT_LADDER, host: hostModelView({}, { ANTHROPIC_API_KEY: "sk" }) });
    expect(r.usable).toEqual(["anthropic/claude-haiku-4-5", "anthropic/claude-opus-4-5"]);
    expect(startingRung(1, DEFAULT_LADDER, r.usable)).toBe("anthropic/claude-opus-4-5");
  });
});

describe("tier mapping (startingRung)", () => {
  it("own tier usable: that rung", () => expect([0, 1, 2].map((t) => startingRung(t, ladder, ladder))).toEqual(ladder));
  it("own tier gone: the next stronger usable rung", () => {
    expect(startingRung(0, ladder, ["m/strong"])).toBe("m/strong");
    expect(startingRung(1, ladder, ["m/cheap", "m/strong"])).toBe("m/strong");
  });
  it("own tier and everything above gone: the strongest usable rung", () => {
    expect(startingRung(2, ladder, ["m/cheap", "m/mid"])).toBe("m/mid");
    expect(startingRung(1, ladder, ["m/cheap"])).toBe("m/cheap");
  });
  it("tiers past the top clamp to the top rung; none usable: undefined", () => {
    expect(startingRung(9, ladder, ladder)).toBe("m/strong");
    expect(startingRung(-1, ladder, ladder)).toBe("m/cheap");
    expect(startingRung(0, ladder, [])).toBeUndefined();
    expect(startingRung(0, [], [])).toBeUndefined();
  });
});

describe("escalation (nextRung) never goes down", () => {
  it("from a rung: the next stronger usable rung, skipping unusable ones; undefined at the top", () => {
    expect(nextRung("m/cheap", ladder)).toBe("m/mid");
    expect(nextRung("m/cheap", ["m/cheap", "m/strong"])).toBe("m/strong");
    expect(nextRung("m/strong", ladder)).toBeUndefined();
  });
  it("a pin off the ladder escalates to the strongest usable rung", () => {
    expect(nextRung("other/pinned", ladder)).toBe("m/strong");
    expect(nextRung(undefined, ["m/cheap", "m/mid"])).toBe("m/mid");
    expect(nextRung("other/pinned", [])).toBeUndefined();
  });
  it("every step from the starting rung climbs", () => {
    const usable = ["m/cheap", "m/strong"];
    for (let tier = 0; tier < ladder.length; tier++) {
      const seen: string[] = [];
      for (let m = startingRung(tier, ladder, usable); m; m = nextRung(m, usable)) seen.push(m);
      const idx = seen.map((m) => usable.indexOf(m));
      expect(idx).toEqual([...idx].sort((a, b) => a - b));
      expect(new Set(seen).size).toBe(seen.length);
    }
  });
});

describe("pins and notes", () => {
  it("checkPin refuses an unusable pin with its reason, and the refusal names the usable choices", () => {
    const host = view({ "x/y": "not configured" });
    expect(checkPin("m/cheap", host)).toEqual({ ok: true });
    expect(checkPin("x/y", host)).toEqual({ ok: false, why: "not configured" });
    expect(pinRefusal("x/y", "not configured", ["m/cheap"])).toBe('model "x/y" cannot run on this gateway (not configured); usable ladder models: m/cheap');
    expect(pinRefusal("x/y", "no credentials", [])).toContain("agent's default");
  });
  it("describeSkipped is one line, undefined when nothing was skipped", () => {
    expect(describeSkipped([{ model: "anthropic/claude-haiku-4-5", why: "no credentials" }, { model: "kimi-coding/k2p5", why: "not configured" }])).toBe(
      "ladder rungs skipped: anthropic/claude-haiku-4-5 (no credentials), kimi-coding/k2p5 (not configured)",
    );
    expect(describeSkipped([])).toBeUndefined();
    expect(ladderNote({ usable: ["m/cheap"], skipped: [] })).toBeUndefined();
    expect(noUsableRungNote([])).toBe("no ladder rung is usable on this gateway; runs use the agent's default model");
  });
});
