// Plugin entry: registers the four tools and the engine's service. register() is synchronous and
// touches no runtime API (the host may load us for discovery only). The service, which the gateway
// starts once per process, runs every batch; tools in any plugin instance hand batches to it.
import { join } from "node:path";
import { ConfigSchema, PLUGIN_ID, type RawConfig, resolveConfig } from "./config.js";
import { Engine } from "./engine/engine.js";
import { currentEngine, processOwner, setCurrentEngine, setEngineStartFailure } from "./engine/process-engine.js";
import { type HostApi, openclawNotifier, openclawRuntime } from "./runtime/openclaw-adapter.js";
import { hostModelsFor } from "./models/host-apis.js";
import { AGENT_EVENT_STREAMS, type HostAgentEvent } from "./scheduling/host-events.js";
import { agentDefaultModel } from "./pricing/index.js";
import { registerOperatorCli } from "./cli/register.js";
import { registerDashboard } from "./dashboard/register.js";
import { dashboardStats } from "./stats/dashboard.js";
import { BatchStore } from "./store/batch-store.js";
import { type ToolCallContext, createServices } from "./tools/context.js";
import { parallelCancelTool } from "./tools/parallel-cancel.js";
import { parallelSpawnTool } from "./tools/parallel-spawn.js";
import { pollUntilCompleteTool } from "./tools/poll-until-complete.js";
import { researchTeamTool } from "./tools/research-team.js";
import { synthesisVars } from "./tools/research-view.js";

/** Finished children's sessions are deleted 1.5 s after they ended, and not while a notified requester's turn is ahead (10 s at most). */
const SESSION_HOUSEKEEPING = { delayMs: 1_500, holdMs: 10_000 };

interface ServiceContext {
  stateDir?: string;
  logger?: { info?(msg: string): void; warn?(msg: string): void };
}

/** The part of OpenClaw's plugin API this plugin uses (types only; the host provides it). */
export interface PluginApi extends HostApi {
  pluginConfig?: Record<string, unknown>;
  config?: unknown;
  registerTool(factory: (ctx: ToolCallContext) => unknown, opts: { name: string }): void;
  agent?: { events?: { registerAgentEventSubscription?(s: { id: string; streams?: string[]; handle(event: HostAgentEvent): void }): void } };
  registerService?(service: { id: string; start(ctx: ServiceContext): Promise<void> | void; stop?(ctx: ServiceContext): Promise<void> | void }): void;
}

export { loadRegistry } from "./roles/registry.js";

export const TOOL_NAMES = ["parallel_spawn", "poll_until_complete", "research_team", "parallel_cancel"] as const;

/** Where the batch store lives: the plugin's folder in OpenClaw's state dir. */
export const storeDir = (stateDir: string): string => join(stateDir, "plugins", PLUGIN_ID);

export default {
  id: PLUGIN_ID,
  name: "Parallel Agents",
  description: "Fan work out to many sub-agents at once and get every result back: bounded, retried, escalated, schema-checked, costed.",
  configSchema: ConfigSchema,
  register(api: PluginApi) {
    const config = resolveConfig(api.pluginConfig as RawConfig | undefined, api.config);
    // The host's model view per requesting agent: its provider plugins, model policy and auth profiles.
    const services = createServices(config, (agent) => hostModelsFor(api, process.env, agent));
    services.defaultModel = (agentId) => agentDefaultModel(api.config, agentId);
    api.registerTool((ctx) => parallelSpawnTool(services, ctx ?? {}), { name: "parallel_spawn" });
    api.registerTool((ctx) => pollUntilCompleteTool(services, ctx ?? {}), { name: "poll_until_complete" });
    api.registerTool((ctx) => researchTeamTool(services, ctx ?? {}), { name: "research_team" });
    api.registerTool((ctx) => parallelCancelTool(services, ctx ?? {}), { name: "parallel_cancel" });
    registerOperatorCli(api, config); // `openclaw parallel-agents …` and the gateway methods it calls
    // GET /parallel-agents/ and the Control UI tab; its stats panel is the CLI's stats view (every agent: an operator surface).
    registerDashboard(api, { engine: currentEngine, stats: (q) => dashboardStats(currentEngine(), q, config.adaptiveLadder) });

    // Host agent events reach the engine of this process (rate-limit retries the host does itself).
    api.agent?.events?.registerAgentEventSubscription?.({
      id: `${PLUGIN_ID}-runs`,
      streams: AGENT_EVENT_STREAMS,
      handle: (event) => currentEngine()?.hostEvent(event),
    });

    let mine: Engine | undefined;
    api.registerService?.({
      id: `${PLUGIN_ID}-engine`,
      async start(ctx) {
        const log = (line: string) => ctx?.logger?.info?.(line);
        // A reloaded plugin's service replaces the previous instance's engine in this process;
        // the same owner id keeps that engine's children live instead of interrupting them.
        await currentEngine()?.stop();
        let store: BatchStore;
        try {
          store = BatchStore.open(storeDir(api.runtime.state.resolveStateDir()));
        } catch (err) {
          // The gateway runs on without us: tools then answer with this reason (a 400), not "start the gateway".
          const reason = err instanceof Error ? err.message : String(err);
          setEngineStartFailure(reason);
          setCurrentEngine(undefined);
          ctx?.logger?.warn?.(`parallel-agents: the engine failed to start: ${reason}`);
          return;
        }
        mine = new Engine({
          store,
          runtime: openclawRuntime(api),
          owner: processOwner(),
          notifier: openclawNotifier(api),
          ungate: (batch) => services.registry().render("synthesizer", { vars: synthesisVars(batch) }).prompt,
          retention: config.retention,
          log,
          concurrency: { caps: config.providerConcurrency, hostMax: config.hostMaxConcurrent, defaultModel: config.defaultModel },
          housekeeping: SESSION_HOUSEKEEPING,
        });
        setCurrentEngine(mine);
        // Not awaited: the host gives a reloaded service 5 s to start, and resuming many open batches
        // (reading their children's transcripts, stopping old sessions) may take longer.
        mine.start().catch((err: unknown) => ctx?.logger?.warn?.(`parallel-agents: resuming batches failed: ${String(err)}`));
      },
      async stop() {
        if (!mine) return;
        await mine.stop();
        if (currentEngine() === mine) setCurrentEngine(undefined);
        mine.store.close();
        mine = undefined;
      },
    });
  },
};
