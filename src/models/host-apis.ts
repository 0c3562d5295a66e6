// What ladder resolution (and pricing) learn from the running host, in one place: its config, the
// provider plugins it has installed and enabled, the requesting agent and that agent's directory
// (where its auth profiles live), and the host's model table.
import { type HostModelApis, type HostModelView, hostModelView } from "./host-view.js";
import { type ProviderPlugin, enabledProviderPlugins, hostPackageRoot } from "./host-plugins.js";

/** The parts of the plugin API read here (openclaw 2026.9.6), all optional. */
export interface ModelHost {
  config?: unknown;
  runtime?: {
    modelAuth?: HostModelApis["modelAuth"];
    agent?: { resolveAgentDir?(cfg: unknown, agentId: string): string };
    state?: { resolveStateDir(): string };
  };
}

/** The requesting agent; `agentDir` when the host gave it with the call. */
export interface RequestingAgent {
  agentId?: string;
  agentDir?: string;
}

// Reading ~60 manifests per tool call would be waste; a plugin install reloads the config (a new object).
const PLUGINS_TTL_MS = 30_000;
const cache = new WeakMap<object, { at: number; stateDir?: string; plugins: ProviderPlugin[] }>();

/** The provider plugins the host has installed and enabled (cached per config object for 30 s). */
export function hostProviderPlugins(host: ModelHost, now = Date.now()): ProviderPlugin[] {
  const config = host.config;
  let stateDir: string | undefined;
  try {
    stateDir = host.runtime?.state?.resolveStateDir();
  } catch {
    stateDir = undefined;
  }
  const key = config !== null && typeof config === "object" ? config : undefined;
  const hit = key ? cache.get(key) : undefined;
  if (hit && hit.stateDir === stateDir && now - hit.at < PLUGINS_TTL_MS) return hit.plugins;
  const plugins = enabledProviderPlugins(config, { hostRoot: hostPackageRoot(), stateDir });
  if (key) cache.set(key, { at: now, stateDir, plugins });
  return plugins;
}

/** Everything ladder resolution takes from the host for one requesting agent. Never throws. */
export function hostModelApis(host: ModelHost, agent: RequestingAgent = {}): HostModelApis {
  const plugins = hostProviderPlugins(host);
  let agentDir = agent.agentDir;
  if (!agentDir && agent.agentId) {
    try {
      agentDir = host.runtime?.agent?.resolveAgentDir?.(host.config, agent.agentId);
    } catch {
      agentDir = undefined; // the auth check then reads the default agent's profiles
    }
  }
  return {
    modelAuth: host.runtime?.modelAuth,
    plugins, // without the host's bundled manifests among them (package not found) the view adds its fallback table

    ...(agent.agentId ? { agentId: agent.agentId } : {}),
    ...(agentDir ? { agentDir } : {}),
  };
}

/** The model view for one requesting agent. */
export const hostModelsFor = (host: ModelHost, env: NodeJS.ProcessEnv, agent: RequestingAgent = {}): HostModelView =>
  hostModelView(host.config, env, hostModelApis(host, agent));

export interface HostModelRow {
  /** `provider/model`, provider lower case. */
  ref: string;
  /** USD per million tokens, as the host's table gives it (`input`, `output`, `cacheRead`, `cacheWrite`). */
  cost?: Record<string, number>;
  /** "config" (`models.providers`) or the plugin id whose manifest lists it. */
  source: string;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : undefined);

/**
 * The host's model table: `models.providers.<id>.models[]` from the config (it wins), then the rows
 * of enabled provider plugins' manifests. For pricing and views; never throws.
 */
export function hostModelTable(host: ModelHost): HostModelRow[] {
  const rows = new Map<string, HostModelRow>();
  try {
    for (const [provider, entry] of Object.entries(obj(obj(obj(host.config)?.models)?.providers) ?? {})) {
      for (const m of Array.isArray(obj(entry)?.models) ? (obj(entry)!.models as unknown[]) : []) {
        const id = obj(m)?.id;
        if (typeof id !== "string") continue;
        const ref = `${provider.trim().toLowerCase()}/${id}`;
        const cost = obj(obj(m)?.cost) as Record<string, number> | undefined;
        rows.set(ref, { ref, ...(cost ? { cost } : {}), source: "config" });
      }
    }
    for (const plugin of hostProviderPlugins(host)) {
      for (const [provider, models] of Object.entries(plugin.models)) {
        for (const m of models) {
          const ref = `${provider}/${m.id}`;
          if (!rows.has(ref)) rows.set(ref, { ref, ...(m.cost ? { cost: m.cost } : {}), source: plugin.id });
        }
      }
    }
  } catch {
    /* an odd config: what was read so far */
  }
  return [...rows.values()];
}
