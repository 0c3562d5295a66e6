import { driveWithProgress, type OnUpdate, waitBudgetMs } from "./drive.js";
import { batchDetails, batchText } from "./render-result.js";
import { buildRunSpecs, collectTasks } from "./run-specs.js";
import { SpawnSchema } from "./schemas.js";
import { assertMayFanOut, type PluginServices, type ToolCallContext, withGatewayHint } from "./context.js";
import { batchOptions, startBatch } from "./start-batch.js";
import { validateParams } from "./validate.js";

export const parallelSpawnTool = (services: PluginServices, ctx: ToolCallContext) => ({
  name: "parallel_spawn",
  label: "Parallel spawn",
  description:
    "Start a batch of sub-agents in parallel (free-form tasks, registry roles, or a team preset). Returns a batchId at once (or waits up to waitSeconds). Collect results with poll_until_complete; never poll in a loop of sleeps.",
  parameters: SpawnSchema,
  catalogMode: "direct-only" as const,
  async execute(_id: string, raw: unknown, signal?: AbortSignal, onUpdate?: OnUpdate) {
    const p = validateParams("parallel_spawn", SpawnSchema, raw);
    const depth = assertMayFanOut("parallel_spawn", ctx, services.config);
    const registry = services.registry();
    const specs = buildRunSpecs("parallel_spawn", collectTasks(p, registry), registry, services.config, p.timeoutSeconds);
    return withGatewayHint("parallel_spawn", async () => {
      const { runner, estimate } = startBatch("parallel_spawn", specs, batchOptions(p, services), services, ctx, depth);
      await driveWithProgress(runner, waitBudgetMs(p.waitSeconds, 0, p.timeoutMs), signal, onUpdate);
      const details = { ...batchDetails(runner), estimate };
      const next = runner.complete ? undefined : `Wait for results with poll_until_complete {"batchId":"${runner.batch.batchId}"}.`;
      return { content: [{ type: "text" as const, text: batchText(details, next) }], details };
    });
  },
});
