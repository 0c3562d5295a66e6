import { type PluginServices, type ToolCallContext, engineFor, ownBatch } from "./context.js";
import { researchDetails } from "./research-view.js";
import { batchDetails, batchText } from "./render-result.js";
import { PollSchema, validateParams } from "./schemas.js";
import { type OnUpdate, waitBudgetMs, waitForBatch } from "./wait.js";

export const pollUntilCompleteTool = (_services: PluginServices, ctx: ToolCallContext) => ({
  name: "poll_until_complete",
  label: "Poll until complete",
  description:
    "Wait (bounded, default 120 s, max 600 s) for a parallel_spawn or research_team batch and collect every finished result. Returns as soon as all runs are done; call again with the same batchId if it returns incomplete. Idempotent.",
  parameters: PollSchema,
  catalogMode: "direct-only" as const,
  async execute(_id: string, raw: unknown, signal?: AbortSignal, onUpdate?: OnUpdate) {
    const p = validateParams("poll_until_complete", PollSchema, raw);
    const engine = engineFor("poll_until_complete");
    const { batchId } = ownBatch("poll_until_complete", engine, p.batchId, ctx);
    const release = engine.hold(batchId);
    const batch = await waitForBatch(engine, batchId, waitBudgetMs(p.timeoutSeconds, 120, p.timeoutMs), release, signal, onUpdate);
    const details = { ...batchDetails(batch), ...(batch.workflow ? { research: researchDetails(batch) } : {}) };
    const next = details.complete ? undefined : `Not complete yet: call poll_until_complete {"batchId":"${batchId}"} again.`;
    return { content: [{ type: "text" as const, text: batchText(details, next) }], details };
  },
});
