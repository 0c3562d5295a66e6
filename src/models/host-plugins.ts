// The provider plugins this gateway has, read from the host itself rather than a list kept here:
// every plugin manifest (`openclaw.plugin.json`) the host would load — its bundled extensions, the
// folders in `plugins.load.paths` (`plugins install --link` writes them too) and the managed npm
// installs in the state dir (`<state>/npm/projects/*/node_modules/…`, docs/plugins/dependency-
// resolution.md) — with the host's enable policy applied (`plugins.enabled`, `plugins.deny`,
// `plugins.allow`, `plugins.entries.<id>.enabled`, a bundled plugin's `enabledByDefault`).
// A manifest names its providers (`providers`), their auth env vars (`setup.providers[].envVars`)
// and its model table (`modelCatalog.providers.<id>.models`). Never throws; unreadable files are skipped.
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

export interface ProviderPlugin {
  /** Plugin id, as `plugins.entries` keys it. */
  id: string;
  /** Provider ids it registers (lower case). */
  providers: string[];
  /** Env vars that carry each provider's credentials. */
  envVars: Record<string, string[]>;
  /** Shipped inside the host package (dist/extensions). */
  bundled: boolean;
  /** Model rows the manifest lists per provider (id and, when given, cost per million tokens). */
  models: Record<string, { id: string; cost?: Record<string, number> }[]>;
}

/** A manifest as found, before the enable policy: a bundled plugin may be on by default. */
type FoundPlugin = ProviderPlugin & { enabledByDefault?: boolean };

/** Where to look: the host package root (holds dist/extensions) and the gateway's state dir. */
export interface HostPluginRoots {
  hostRoot?: string;
  stateDir?: string;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : undefined);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((s): s is string => typeof s === "string" && s.trim() !== "").map((s) => s.trim()) : []);

const MANIFEST = "openclaw.plugin.json";
const subdirs = (dir: string): string[] => {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory() || d.isSymbolicLink()).map((d) => join(dir, d.name));
  } catch {
    return [];
  }
};

function readManifest(dir: string, bundled: boolean): FoundPlugin | undefined {
  try {
    const m = obj(JSON.parse(readFileSync(join(dir, MANIFEST), "utf8")));
    const id = typeof m?.id === "string" ? m.id.trim() : "";
    const providers = strings(m?.providers).map((p) => p.toLowerCase());
    if (!m || !id || providers.length === 0) return undefined;
    const envVars: Record<string, string[]> = {};
    for (const p of Array.isArray(obj(m.setup)?.providers) ? (obj(m.setup)!.providers as unknown[]) : []) {
      const pid = obj(p)?.id;
      if (typeof pid === "string") envVars[pid.toLowerCase()] = strings(obj(p)?.envVars);
    }
    for (const [pid, vars] of Object.entries(obj(m.providerAuthEnvVars) ?? {})) envVars[pid.toLowerCase()] ??= strings(vars);
    const models: ProviderPlugin["models"] = {};
    for (const [pid, entry] of Object.entries(obj(obj(m.modelCatalog)?.providers) ?? {})) {
      const rows = Array.isArray(obj(entry)?.models) ? (obj(entry)!.models as unknown[]) : [];
      models[pid.toLowerCase()] = rows.map(obj).filter((r): r is Obj => typeof r?.id === "string").map((r) => ({ id: r.id as string, ...(obj(r.cost) ? { cost: obj(r.cost) as Record<string, number> } : {}) }));
    }
    return { id, providers, envVars, bundled, models, ...(m.enabledByDefault === true ? { enabledByDefault: true } : {}) };
  } catch {
    return undefined;
  }
}

/** A load path names a plugin folder, a plugin's entry file, or a folder of plugin folders. */
function fromLoadPath(path: string): string[] {
  try {
    const full = resolve(path);
    const dir = statSync(full).isDirectory() ? full : dirname(full);
    return existsSync(join(dir, MANIFEST)) ? [dir] : subdirs(dir).filter((d) => existsSync(join(d, MANIFEST)));
  } catch {
    return [];
  }
}

/** Managed npm installs: `<state>/npm/projects/<project>/node_modules/<pkg>` and `…/@scope/<pkg>`. */
function fromManagedInstalls(stateDir: string): string[] {
  const out: string[] = [];
  for (const project of subdirs(join(stateDir, "npm", "projects"))) {
    for (const pkg of subdirs(join(project, "node_modules"))) {
      if (pkg.split(/[\\/]/).pop()!.startsWith("@")) out.push(...subdirs(pkg));
      else out.push(pkg);
    }
  }
  out.push(...subdirs(join(stateDir, "extensions"))); // older managed root
  return out.filter((d) => existsSync(join(d, MANIFEST)));
}

/** Every provider plugin the host can load, enabled or not; a later source never replaces an earlier id. */
export function discoverProviderPlugins(openclawConfig: unknown, roots: HostPluginRoots): FoundPlugin[] {
  const found = new Map<string, FoundPlugin>();
  const add = (dirs: string[], bundled: boolean) => {
    for (const dir of dirs) {
      const p = readManifest(dir, bundled);
      if (p && !found.has(p.id)) found.set(p.id, p);
    }
  };
  const paths = strings(obj(obj(obj(openclawConfig)?.plugins)?.load)?.paths);
  add(paths.flatMap(fromLoadPath), false); // an explicit path overrides a bundled copy (docs/plugins/architecture.md)
  if (roots.stateDir) add(fromManagedInstalls(roots.stateDir), false);
  if (roots.hostRoot) add(subdirs(join(roots.hostRoot, "dist", "extensions")), true);
  return [...found.values()];
}

/** The host's enable policy for one plugin. */
export function pluginEnabled(openclawConfig: unknown, plugin: { id: string; bundled: boolean; enabledByDefault?: boolean }): boolean {
  const plugins = obj(obj(openclawConfig)?.plugins);
  if (plugins?.enabled === false) return false;
  if (strings(plugins?.deny).includes(plugin.id)) return false;
  const entry = obj(obj(plugins?.entries)?.[plugin.id]);
  if (entry?.enabled === false) return false;
  const allow = strings(plugins?.allow);
  if (!plugin.bundled && allow.length > 0 && !allow.includes(plugin.id)) return false;
  // Bundled plugins run when on by default or turned on; an installed one runs once installed.
  return entry?.enabled === true || !plugin.bundled || plugin.enabledByDefault === true;
}

/** The provider plugins the host has installed and enabled. */
export function enabledProviderPlugins(openclawConfig: unknown, roots: HostPluginRoots): ProviderPlugin[] {
  try {
    return discoverProviderPlugins(openclawConfig, roots)
      .filter((p) => pluginEnabled(openclawConfig, p))
      .map(({ enabledByDefault: _, ...p }) => p);
  } catch {
    return [];
  }
}

/** The OpenClaw package this gateway runs from: the folder of the `openclaw` bin's package.json. */
export function hostPackageRoot(entry: string | undefined = process.argv[1]): string | undefined {
  try {
    if (!entry) return undefined;
    for (let dir = dirname(realpathSync(entry)), i = 0; i < 6; dir = dirname(dir), i++) {
      const pkg = join(dir, "package.json");
      if (existsSync(pkg) && obj(JSON.parse(readFileSync(pkg, "utf8")))?.name === "openclaw") return dir;
    }
  } catch {
    /* not started from the openclaw bin (tests, embedded hosts) */
  }
  return undefined;
}
