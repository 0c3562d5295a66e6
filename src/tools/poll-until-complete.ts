import { driveWithProgress, type OnUpdate, waitBudgetMs } from "./drive.js";
import { batchDetails, batchText } from "./render-result.js";
import { PollSchema } from "./schemas.js";
import { type PluginServices, withGatewayHint } from "./context.js";
import { validateParams } from "./validate.js";

export const pollUntilCompleteTool = (services: PluginServices) => ({
  name: "poll_until_complete",
  label: "Poll until complete",
  description:
    "Wait (bounded, default 120 s, max 600 s) for a parallel_spawn batch and collect every finished result. Returns as soon as all runs are done; call again with the same batchId if it returns incomplete. Idempotent.",
  parameters: PollSchema,
  catalogMode: "direct-only" as const,
  async execute(_id: string, raw: unknown, signal?: AbortSignal, onUpdate?: OnUpdate) {
    const p = validateParams("poll_until_complete", PollSchema, raw);
    return withGatewayHint("poll_until_complete", async () => {
      const runner = await services.store().get(p.batchId);
      await driveWithProgress(runner, waitBudgetMs(p.timeoutSeconds, 120, p.timeoutMs), signal, onUpdate);
      const details = batchDetails(runner);
      const next = runner.complete ? undefined : `Not complete yet: call poll_until_complete {"batchId":"${p.batchId}"} again.`;
      return { content: [{ type: "text" as const, text: batchText(details, next) }], details };
    });
  },
});
