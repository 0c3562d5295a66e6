// `openclaw parallel-agents status|show|stats|cancel|doctor`: asks the running gateway (live engine state);
// when none answers, status/show/doctor read the store read-only, and cancel says it needs the gateway.
import { type PluginConfig, resolveConfig, type RawConfig, PLUGIN_ID } from "../config.js";
import { BatchStore } from "../store/batch-store.js";
import { callGateway, type GatewayOpts } from "./gateway-client.js";
import { formatCancel, formatDoctor, formatShow, formatStatus } from "./format.js";
import { METHODS } from "./gateway-methods.js";
import { defaultStateDir, doctorView, showView, statusView, storeDirOf } from "./views.js";
import { formatStats } from "../stats/format.js";
import { statsView } from "../stats/view.js";

/** The slice of commander's Command used here (the host passes a real one). */
export interface Cmd {
  command(name: string): Cmd;
  description(text: string): Cmd;
  argument(name: string, description?: string): Cmd;
  option(flags: string, description?: string, defaultValue?: unknown): Cmd;
  action(fn: (...args: any[]) => unknown): Cmd;
}

export interface CliDeps {
  /** The OpenClaw config the CLI loaded (registrar ctx.config). */
  hostConfig: unknown;
  /** The plugin's own config, when the host handed it over. */
  pluginConfig?: unknown;
  /** The host's state dir, when its runtime can say (else OPENCLAW_STATE_DIR / ~/.openclaw). */
  stateDir?: () => string | undefined;
  out?: (text: string) => void;
  err?: (text: string) => void;
  /** Test seam: the gateway call. */
  call?: typeof callGateway;
}

type Opts = GatewayOpts & { json?: boolean; limit?: string; label?: string[]; since?: string; agent?: string };

function pluginConfig(deps: CliDeps): PluginConfig {
  const entries = (deps.hostConfig as { plugins?: { entries?: Record<string, { config?: unknown }> } })?.plugins?.entries;
  const raw = deps.pluginConfig ?? entries?.[PLUGIN_ID]?.config;
  return resolveConfig(raw as RawConfig | undefined, deps.hostConfig);
}

export function storePathOf(deps: CliDeps): { dir: string; path: string } {
  let state: string | undefined;
  try {
    state = deps.stateDir?.();
  } catch {
    state = undefined; // runtime not available in this registration mode
  }
  const dir = storeDirOf(state || defaultStateDir());
  return { dir, path: `${dir}/batches.sqlite` };
}

const gatewayOpts = (o: Opts): GatewayOpts => ({ url: o.url, port: o.port, token: o.token, password: o.password, timeout: o.timeout });

function withGatewayOptions(cmd: Cmd): Cmd {
  return cmd
    .option("--json", "machine-readable output")
    .option("--url <url>", "Gateway WebSocket URL")
    .option("--port <port>", "Local Gateway port")
    .option("--token <token>", "Gateway token (if required)")
    .option("--password <password>", "Gateway password (if required)")
    .option("--timeout <ms>", "Timeout in ms", "30000");
}

/** Runs one command: the gateway's answer, else (when `offline` is given and no gateway answers) the store's. */
export async function runCommand(
  deps: CliDeps,
  method: string,
  params: Record<string, unknown>,
  opts: Opts,
  offline: ((store: BatchStore) => unknown) | "needs-gateway",
  human: (view: any) => string,
  withoutStore?: () => unknown,
): Promise<number> {
  const out = deps.out ?? ((t) => process.stdout.write(`${t}\n`));
  const err = deps.err ?? ((t) => process.stderr.write(`${t}\n`));
  const print = (view: unknown) => out(opts.json ? JSON.stringify(view, null, 2) : human(view));
  const res = await (deps.call ?? callGateway)(method, params, gatewayOpts(opts));
  if (res.ok) {
    print(res.payload);
    return 0;
  }
  if (!res.unreachable) return fail(err, opts, res.message);
  if (offline === "needs-gateway") {
    return fail(err, opts, `${method.split(".")[1]} needs the running gateway, and none is reachable (${res.message}). Start it (openclaw gateway) and retry.`);
  }
  const { dir, path } = storePathOf(deps);
  let store: BatchStore;
  try {
    store = BatchStore.open(dir, { readOnly: true });
  } catch (e) {
    if (withoutStore) {
      err(`parallel-agents: gateway not reachable (${res.message}); no readable store at ${path}`);
      print(withoutStore());
      return 0;
    }
    return fail(err, opts, `gateway not reachable (${res.message}) and the store cannot be read: ${e instanceof Error ? e.message : String(e)} (${path})`);
  }
  try {
    err(`parallel-agents: gateway not reachable (${res.message}); reading ${path} read-only`);
    print(offline(store));
    return 0;
  } catch (e) {
    return fail(err, opts, e instanceof Error ? e.message : String(e));
  } finally {
    store.close();
  }
}

function fail(err: (t: string) => void, opts: Opts, message: string): number {
  err(opts.json ? JSON.stringify({ error: message }) : `parallel-agents: ${message}`);
  return 1;
}

const source = "store (read-only; gateway not reachable)";

export function registerCommands(program: Cmd, deps: CliDeps): void {
  const root = program.command(PLUGIN_ID).description("Operate parallel-agents batches: status, show, stats, cancel, doctor");
  const done = (code: number) => {
    if (code) process.exitCode = code;
  };

  withGatewayOptions(root.command("status").description("Open and recent batches: id, agent, age, counts, tokens, cost"))
    .option("--limit <n>", "how many recent batches", "20")
    .action(async (opts: Opts) => {
      const limit = Math.max(1, Number.parseInt(opts.limit ?? "20", 10) || 20);
      done(await runCommand(deps, METHODS.status, { limit }, opts, (store) => ({ source, ...statusView(store, (id) => store.load(id), limit) }), formatStatus));
    });

  withGatewayOptions(root.command("show").description("One batch, run by run: label, state, model, attempts, tokens"))
    .argument("<batchId>", "the batch id")
    .action(async (batchId: string, opts: Opts) => {
      done(
        await runCommand(deps, METHODS.show, { batchId }, opts, (store) => {
          const batch = store.load(batchId);
          if (!batch) throw new Error(`no batch ${batchId} in ${store.path}`);
          return { source, ...showView(batch) };
        }, formatShow),
      );
    });

  withGatewayOptions(root.command("stats").description("The ladder at work: per model attempts, outcomes, escalations, cost; per role first-rung success; savings; learned starts"))
    .option("--since <when>", "only batches created since (30m, 12h, 7d, 2w or a date); default: all stored")
    .option("--agent <agentId>", "one agent's batches only")
    .action(async (opts: Opts) => {
      const params = { ...(opts.since ? { since: opts.since } : {}), ...(opts.agent ? { agentId: opts.agent } : {}) };
      const offline = (store: BatchStore) => ({ source, ...statsView(store, { ...params, adaptiveLadder: pluginConfig(deps).adaptiveLadder }) });
      done(await runCommand(deps, METHODS.stats, params, opts, offline, formatStats));
    });

  withGatewayOptions(root.command("cancel").description("Stop a batch's queued and running runs (needs the running gateway)"))
    .argument("<batchId>", "the batch id")
    .option("--label <label...>", "only these runs")
    .action(async (batchId: string, opts: Opts) => {
      done(await runCommand(deps, METHODS.cancel, { batchId, ...(opts.label?.length ? { labels: opts.label } : {}) }, opts, "needs-gateway", formatCancel));
    });

  withGatewayOptions(root.command("doctor").description("Store health, ladder rungs usable or not and why, override/notify settings, host limits"))
    .action(async (opts: Opts) => {
      done(
        await runCommand(deps, METHODS.doctor, {}, opts, (store) => offlineDoctor(deps, store), formatDoctor, () => offlineDoctor(deps)),
      );
    });
}

export function offlineDoctor(deps: CliDeps, store?: BatchStore) {
  const { dir, path } = storePathOf(deps);
  return doctorView({
    storePath: store?.path ?? path,
    openStore: () => (store ? { store, close: false } : { store: BatchStore.open(dir, { readOnly: true }), close: true }),
    config: pluginConfig(deps),
    hostConfig: deps.hostConfig,
    env: process.env,
    gateway: false,
  });
}
