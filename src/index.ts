// Plugin entry: registers the four tools. register() is synchronous and touches no runtime
// API (the host may load us for discovery only); everything is resolved when a tool runs.
import { ConfigSchema, PLUGIN_ID, type RawConfig, resolveConfig } from "./config.js";
import { type SubagentApi, openclawRuntime } from "./runtime/openclaw-adapter.js";
import { type ToolCallContext, createServices } from "./tools/context.js";
import { parallelCancelTool } from "./tools/parallel-cancel.js";
import { parallelSpawnTool } from "./tools/parallel-spawn.js";
import { pollUntilCompleteTool } from "./tools/poll-until-complete.js";
import { researchTeamTool } from "./tools/research-team.js";

/** The part of OpenClaw's plugin API this plugin uses (types only; the host provides it). */
export interface PluginApi {
  pluginConfig?: Record<string, unknown>;
  config?: unknown;
  runtime: { subagent: SubagentApi; state: { resolveStateDir(): string } };
  registerTool(factory: (ctx: ToolCallContext) => unknown, opts: { name: string }): void;
}

export { loadRegistry } from "./roles/registry.js";

export const TOOL_NAMES = ["parallel_spawn", "poll_until_complete", "research_team", "parallel_cancel"] as const;

export default {
  id: PLUGIN_ID,
  name: "Parallel Agents",
  description: "Fan work out to many sub-agents at once and get every result back: bounded, retried, escalated, schema-checked, costed.",
  configSchema: ConfigSchema,
  register(api: PluginApi) {
    const config = resolveConfig(api.pluginConfig as RawConfig | undefined, api.config);
    // Look the subagent runtime up per call: it is request-scoped in the host.
    const subagent: SubagentApi = {
      run: (p) => api.runtime.subagent.run(p),
      waitForRun: (p) => api.runtime.subagent.waitForRun(p),
      getSessionMessages: (p) => api.runtime.subagent.getSessionMessages(p),
      deleteSession: (p) => api.runtime.subagent.deleteSession(p),
    };
    const services = createServices(config, () => api.runtime.state.resolveStateDir(), openclawRuntime(subagent));
    api.registerTool((ctx) => parallelSpawnTool(services, ctx ?? {}), { name: "parallel_spawn" });
    api.registerTool(() => pollUntilCompleteTool(services), { name: "poll_until_complete" });
    api.registerTool((ctx) => researchTeamTool(services, ctx ?? {}), { name: "research_team" });
    api.registerTool(() => parallelCancelTool(services), { name: "parallel_cancel" });
  },
};
