import { type PluginServices, type ToolCallContext, engineFor, fanOut } from "./context.js";
import { batchDetails, batchText } from "./render-result.js";
import { buildRunSpecs, collectTasks, submitBatch } from "./batch.js";
import { SpawnSchema, validateParams } from "./schemas.js";
import { type OnUpdate, waitBudgetMs, waitForBatch } from "./wait.js";

export const parallelSpawnTool = (services: PluginServices, ctx: ToolCallContext) => ({
  name: "parallel_spawn",
  label: "Parallel spawn",
  description:
    "Start a batch of sub-agents in parallel (free-form tasks, registry roles, or a team preset). Returns a batchId at once (or waits up to waitSeconds); the batch runs on its own in the gateway and this session is told when it ends. Collect results with poll_until_complete; never poll in a loop of sleeps.",
  parameters: SpawnSchema,
  catalogMode: "direct-only" as const,
  async execute(_id: string, raw: unknown, signal?: AbortSignal, onUpdate?: OnUpdate) {
    const p = validateParams("parallel_spawn", SpawnSchema, raw);
    const { depth, registry } = fanOut("parallel_spawn", ctx, services);
    const specs = buildRunSpecs("parallel_spawn", collectTasks(p, registry), registry, services.config, p.timeoutSeconds);
    const engine = engineFor("parallel_spawn");
    const { batch, release, estimate } = submitBatch(engine, services, { tool: "parallel_spawn", specs, call: p, ctx, depth });
    const done = await waitForBatch(engine, batch.batchId, waitBudgetMs(p.waitSeconds, 0, p.timeoutMs), release, signal, onUpdate);
    const details = { ...batchDetails(done), estimate };
    const next = details.complete
      ? undefined
      : `The batch runs on its own${done.notify ? "; you will be told when it ends" : ""}. Collect results with poll_until_complete {"batchId":"${batch.batchId}"}.`;
    return { content: [{ type: "text" as const, text: batchText(done, details, next) }], details };
  },
});
