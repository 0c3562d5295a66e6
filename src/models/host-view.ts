// Can this gateway run `provider/model`? Checked against the pinned host (openclaw 2026.9.6):
// - No host API answers it whole. `api.runtime.modelConfig.resolveAllowedModelRef` needs a model
//   catalog plugins are not given, and provider ownership (`plugin-sdk/provider-catalog-runtime`) is a
//   contract-test seam (docs/plugins/sdk-runtime/models.md, docs/plugins/sdk-subpaths.md). The one host
//   helper used is `api.runtime.modelAuth.isProviderApiKeyConfigured({ provider, cfg, agentDir })`,
//   the canonical auth check that also sees the agent's stored auth profiles (given its directory).
// - Configured: a `models.providers.<id>` entry with a `baseUrl` (docs/gateway/config-tools/
//   custom-providers.md), or a provider of a plugin the host has installed and enabled (`plugins`,
//   read from the host's manifests by ./host-plugins.ts: bundled, `plugins.load.paths`, managed
//   installs such as @openclaw/kimi-provider's `kimi-coding`). Without that list (a host whose
//   package cannot be found) the bundled providers of 2026.9.6 below stand in.
// - Credentials (plugin providers; a custom endpoint carries its own auth, local ones need none): the
//   host helper, the provider's env vars (from its manifest; `env` or the config's `env.vars`,
//   docs/help/environment.md), `models.providers.<id>.apiKey`, or an `auth.profiles.*` entry naming
//   the provider (config holds profile metadata; the secrets sit in the agent's store,
//   docs/gateway/authentication.md).
// - Allowed: `plugins.entries.parallel-agents.subagent.allowedModels` (exact refs or "*", docs/gateway/
//   config-extensions.md) and the requesting agent's `modelPolicy.allow` (exact, alias or `provider/*`
//   prefix; per-agent list replaces the default; unmigrated configs still restrict to
//   `agents.defaults.models` keys; docs/concepts/models.md). There is no `subagents.allowedModels` key.
// - A model missing from `models.providers.<id>.models` is usable: those rows are metadata, not a
//   restriction, and "explicit custom and local endpoints can use unlisted model names"
//   (docs/concepts/models.md, custom-providers.md "Model catalog entries").
import { PLUGIN_ID } from "../config.js";
import type { ProviderPlugin } from "./host-plugins.js";

export type SkipReason = "not configured" | "not in allowedModels" | "no credentials";

export interface HostModelView {
  /** Why `ref` cannot run on this gateway, or undefined when it can. */
  unusable(ref: string): SkipReason | undefined;
}

/** Host helpers, all optional: pass what `api.runtime` offers. */
export interface HostModelApis {
  /** `api.runtime.modelAuth`. */
  modelAuth?: { isProviderApiKeyConfigured(p: { provider: string; cfg?: unknown; agentDir?: string }): boolean };
  /** Agent the child sessions run under: its `modelPolicy.allow` applies. */
  agentId?: string;
  /** That agent's directory (`api.runtime.agent.resolveAgentDir`), where its auth profiles live. */
  agentDir?: string;
  /** Provider ids of installed, non-bundled provider plugins (e.g. "kimi-coding"), beside `plugins`. */
  providers?: string[];
  /** The provider plugins the host has installed and enabled (./host-plugins.ts); with the bundled ones among them it replaces the 2026.9.6 table below. */
  plugins?: ProviderPlugin[];
}

/** Fallback only: bundled provider plugins of openclaw 2026.9.6 (plugin id, provider ids, auth env vars), for a host whose manifests cannot be read. */
const BUNDLED: [plugin: string, providers: Record<string, string[]>][] = [
  ["anthropic", { anthropic: ["ANTHROPIC_OAUTH_TOKEN", "ANTHROPIC_API_KEY"] }],
  ["openai", { openai: ["OPENAI_API_KEY"] }],
  ["google", { google: ["GEMINI_API_KEY", "GOOGLE_API_KEY"], "google-vertex": ["GOOGLE_CLOUD_API_KEY"], "google-gemini-cli": [] }],
  ["xai", { xai: ["XAI_API_KEY"] }],
  ["openrouter", { openrouter: ["OPENROUTER_API_KEY"] }],
  ["minimax", { minimax: ["MINIMAX_CODE_PLAN_KEY", "MINIMAX_CODING_API_KEY", "MINIMAX_API_KEY"], "minimax-portal": ["MINIMAX_OAUTH_TOKEN", "MINIMAX_API_KEY"] }],
  ["github-copilot", { "github-copilot": ["COPILOT_GITHUB_TOKEN"] }],
  ["copilot-proxy", { "copilot-proxy": [] }],
  ["clawrouter", { clawrouter: ["CLAWROUTER_API_KEY"] }],
  ["fal", { fal: ["FAL_KEY", "FAL_API_KEY"] }],
  ["huggingface", { huggingface: ["HUGGINGFACE_HUB_TOKEN", "HF_TOKEN"] }],
  ["litellm", { litellm: ["LITELLM_API_KEY"] }],
  ["lmstudio", { lmstudio: ["LM_API_TOKEN"] }],
  ["microsoft-foundry", { "microsoft-foundry": ["AZURE_OPENAI_API_KEY"] }],
  ["nvidia", { nvidia: ["NVIDIA_API_KEY"] }],
  ["ollama", { ollama: ["OLLAMA_API_KEY"], "ollama-cloud": ["OLLAMA_API_KEY"] }],
  ["opencode-go", { "opencode-go": ["OPENCODE_API_KEY", "OPENCODE_ZEN_API_KEY"] }],
  ["sglang", { sglang: ["SGLANG_API_KEY"] }],
  ["together", { together: ["TOGETHER_API_KEY"] }],
  ["vllm", { vllm: ["VLLM_API_KEY"] }],
];

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : undefined);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((s): s is string => typeof s === "string").map((s) => s.trim()) : []);
const nonEmpty = (v: unknown): boolean => typeof v === "string" && v.trim() !== "";
const lowerKeys = (o: Obj | undefined): Obj => Object.fromEntries(Object.entries(o ?? {}).map(([k, v]) => [k.trim().toLowerCase(), v]));

/** Splits `provider/model`; the provider id is case-insensitive in the host. */
export function parseRef(ref: string): { provider: string; model: string } | undefined {
  const m = /^\s*([^/\s]+)\/(\S+?)\s*$/.exec(typeof ref === "string" ? ref : "");
  return m ? { provider: m[1].toLowerCase(), model: m[2] } : undefined;
}
const key = (ref: string): string => {
  const p = parseRef(ref);
  return p ? `${p.provider}/${p.model}` : ref.trim();
};

/** Builds the view from the OpenClaw config (`api.config`) and the gateway's environment. Never throws. */
export function hostModelView(openclawConfig: unknown, env: NodeJS.ProcessEnv = {}, host: HostModelApis = {}): HostModelView {
  try {
    return build(openclawConfig, env ?? {}, host ?? {});
  } catch {
    return { unusable: () => "not configured" }; // an odd config object (throwing getters): nothing we can vouch for
  }
}

function build(openclawConfig: unknown, env: NodeJS.ProcessEnv, host: HostModelApis): HostModelView {
  const cfg = obj(openclawConfig) ?? {};
  const plugins = obj(cfg.plugins);
  const entries = obj(plugins?.entries);
  const denied = new Set(strings(plugins?.deny));
  const custom = lowerKeys(obj(obj(cfg.models)?.providers));
  const envVars = { ...obj(obj(cfg.env)?.vars), ...env } as Obj;
  const profiles = Object.values(obj(obj(cfg.auth)?.profiles) ?? {}).map((p) => obj(p)?.provider);
  // Provider id -> its auth env vars, for every provider an enabled plugin registers.
  // The fallback table stands in only when the host's own bundled manifests were not read.
  const bundled = new Map<string, string[]>();
  const hostPlugins = Array.isArray(host.plugins) ? host.plugins : [];
  if (!hostPlugins.some((p) => p.bundled)) {
    for (const [plugin, providers] of BUNDLED) {
      if (denied.has(plugin) || obj(entries?.[plugin])?.enabled === false) continue;
      for (const [id, vars] of Object.entries(providers)) bundled.set(id, vars);
    }
  }
  for (const plugin of hostPlugins) for (const id of plugin.providers) bundled.set(id, plugin.envVars[id] ?? []);
  const installed = new Set(strings(host.providers).map((p) => p.toLowerCase()));
  const pluginAllow = obj(obj(entries?.[PLUGIN_ID])?.subagent)?.allowedModels;
  const agentAllow = agentPolicy(cfg, host.agentId);

  const isCustom = (p: string) => nonEmpty(obj(custom[p])?.baseUrl) && !bundled.has(p) && !installed.has(p);
  const configured = (p: string) => nonEmpty(obj(custom[p])?.baseUrl) || bundled.has(p) || installed.has(p);
  const allowed = (ref: string): boolean => {
    if (Array.isArray(pluginAllow)) {
      const list = strings(pluginAllow);
      if (!list.includes("*") && !list.map(key).includes(key(ref))) return false;
    }
    return agentAllow(key(ref));
  };
  const apiKeyIn = (v: unknown): boolean =>
    // An ENV_NAME string is the host's marker for "read this variable".
    obj(v) !== undefined || (nonEmpty(v) && (!/^[A-Z][A-Z0-9_]*$/.test(String(v)) || nonEmpty(envVars[String(v)])));
  const askHost = (provider: string): boolean => {
    try {
      return host.modelAuth?.isProviderApiKeyConfigured({ provider, cfg: openclawConfig, agentDir: host.agentDir }) === true;
    } catch {
      return false; // the host helper is advisory here; the config still decides
    }
  };
  const credentials = (p: string): boolean =>
    isCustom(p) ||
    (bundled.get(p) ?? []).some((v) => nonEmpty(envVars[v])) ||
    apiKeyIn(obj(custom[p])?.apiKey) ||
    profiles.some((q) => typeof q === "string" && q.trim().toLowerCase() === p) ||
    askHost(p);

  const memo = new Map<string, SkipReason | undefined>();
  return {
    unusable(ref) {
      const k = typeof ref === "string" ? key(ref) : "";
      if (memo.has(k)) return memo.get(k);
      let why: SkipReason | undefined;
      try {
        const p = parseRef(k)?.provider;
        why = !p || !configured(p) ? "not configured" : !allowed(k) ? "not in allowedModels" : !credentials(p) ? "no credentials" : undefined;
      } catch {
        why = "not configured";
      }
      memo.set(k, why);
      return why;
    },
  };
}

/** The agent's `modelPolicy.allow` as a predicate on canonical refs (mirrors the host's resolution order). */
function agentPolicy(cfg: Obj, agentId: string | undefined): (ref: string) => boolean {
  const agents = obj(cfg.agents);
  const defaults = obj(agents?.defaults);
  const list = Array.isArray(agents?.list) ? agents.list.map(obj).find((a) => a?.id === agentId) : undefined;
  const agent = agentId ? (obj(obj(agents?.entries)?.[agentId]) ?? list) : undefined;
  const owns = (p: unknown) => obj(p) !== undefined && Object.hasOwn(obj(p)!, "allow");
  const models = obj(defaults?.models);
  let refs: string[] = [];
  if (owns(agent?.modelPolicy)) refs = strings(obj(agent?.modelPolicy)?.allow);
  else if (owns(defaults?.modelPolicy)) refs = strings(obj(defaults?.modelPolicy)?.allow);
  else if (obj(obj(obj(cfg.meta)?.migrations))?.modelPolicyAllowlist !== true && !obj(defaults?.modelPolicy) && models) {
    refs = Object.keys(models).map((k) => k.trim()); // legacy: the model map was the allowlist
  }
  refs = refs.filter(Boolean);
  if (refs.length === 0) return () => true;
  const aliases = new Map(Object.entries(models ?? {}).map(([k, v]) => [String(obj(v)?.alias ?? "").trim(), k]));
  const allow = new Set(refs.map((r) => key(r.includes("/") ? r : (aliases.get(r) ?? r))));
  return (ref) => {
    if (allow.has(ref)) return true;
    // `provider/*` and `provider/ns/*` match at segment boundaries only.
    for (let i = ref.indexOf("/"); i > 0; i = ref.indexOf("/", i + 1)) if (allow.has(`${ref.slice(0, i + 1)}*`)) return true;
    return false;
  };
}
