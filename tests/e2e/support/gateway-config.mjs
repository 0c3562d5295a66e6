// The gateway config the e2e suite, demo and bench run with (recipe §3): local loopback gateway, token auth,
// the chat-completions HTTP endpoint on, no Tool Search, nothing scheduled, no remote catalog, and a custom
// provider `fake` whose models all point at the scripted fake model.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

export const DEFAULT_MODELS = ["parent", "cheap", "mid", "strong"];

const isPlainObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

/** Deep merge: objects merge key by key, everything else (arrays included) is replaced. */
export function deepMerge(base, over) {
  if (!isPlainObject(base) || !isPlainObject(over)) return over === undefined ? base : over;
  const out = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = deepMerge(base[k], v);
  return out;
}

/**
 * Reads the plugin id from <dir>/openclaw.plugin.json and checks that the entry files named by
 * package.json#openclaw.extensions exist, so a missing build fails with a clear message instead of a
 * gateway that silently starts without the plugin.
 */
export function inspectPluginDir(dir) {
  const manifestPath = join(dir, "openclaw.plugin.json");
  if (!existsSync(manifestPath)) throw new Error(`plugin dir ${dir} has no openclaw.plugin.json`);
  const id = JSON.parse(readFileSync(manifestPath, "utf8")).id;
  const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  for (const entry of pkg.openclaw?.extensions ?? []) {
    if (!existsSync(join(dir, entry))) throw new Error(`plugin ${id}: entry ${entry} missing in ${dir} (run \`npm run build\` first?)`);
  }
  return { id, manifest: manifestPath };
}

/**
 * @param {object} p
 * @param {number} p.port gateway port
 * @param {string} p.token gateway token
 * @param {string} p.fakeModelUrl base URL of the fake model, ending in /v1
 * @param {{home:string, workspace:string, logs:string}} p.dirs
 * @param {string[]} [p.models] fake model ids, exposed as fake/<id>
 * @param {string} [p.parentModel] the agent's default model id (one of models)
 * @param {Record<string, {input:number, output:number, cacheRead?:number, cacheWrite?:number}>} [p.modelCosts]
 *   per fake model id, its `cost` row (USD per million tokens) in the gateway's model table
 * @param {{dir:string, id:string, config?:object, subagent?:object, byConfig?:boolean}} [p.plugin]
 * @param {string[]} [p.extraPluginDirs] other plugin folders to load beside ours
 * @param {object} [p.overrides] deep-merged last
 * @param {string[]} [p.providers] provider ids, each serving every model (default ["fake"])
 */
export function buildGatewayConfig({ port, token, fakeModelUrl, dirs, models = DEFAULT_MODELS, parentModel = "parent", modelCosts = {}, plugin, extraPluginDirs = [], overrides, providers = ["fake"] }) {
  const entries = { "memory-core": { config: { dreaming: { enabled: false } } } };
  const load = {};
  if (plugin) {
    entries[plugin.id] = { enabled: true };
    if (plugin.config) entries[plugin.id].config = plugin.config;
    if (plugin.subagent) entries[plugin.id].subagent = plugin.subagent;
    // In "link" mode `openclaw plugins install --link` writes load.paths itself.
    if (plugin.byConfig !== false) load.paths = [plugin.dir, ...extraPluginDirs];
  }
  const config = {
    gateway: {
      mode: "local", port, bind: "loopback",
      auth: { mode: "token", token },
      controlUi: { enabled: false }, terminal: { enabled: false }, tailscale: { mode: "off" },
      http: { endpoints: { chatCompletions: { enabled: true } } },
    },
    update: { checkOnStart: false, auto: { enabled: false } },
    telemetry: { enabled: false },
    discovery: { mdns: { mode: "off" } },
    logging: { file: join(dirs.logs, "openclaw.log"), level: "info" },
    agents: {
      defaults: { workspace: dirs.workspace, model: { primary: `fake/${parentModel}` }, heartbeat: { every: "0m" } },
    },
    tools: { toolSearch: false },
    plugins: { load, entries },
    models: {
      mode: "merge",
      catalogRefresh: { enabled: false },
      // Every provider points at the fake model (more than one: e.g. to cap or rate-limit one provider alone).
      providers: Object.fromEntries(providers.map((p) => [p, {
        baseUrl: fakeModelUrl, apiKey: "fake-key", api: "openai-completions",
        models: models.map((id) => ({ id, name: `Fake ${id}`, contextWindow: 128000, maxTokens: 4096, ...(modelCosts[id] ? { cost: modelCosts[id] } : {}) })),
      }])),
    },
  };
  return deepMerge(config, overrides ?? {});
}
