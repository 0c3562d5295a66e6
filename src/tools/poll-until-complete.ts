import { type BatchRecord, TERMINAL_STATES } from "../batch/types.js";
import { ToolInputError } from "../errors.js";
import { type PluginServices, type ToolCallContext, engineFor, ownBatch, requesterOf } from "./context.js";
import { researchDetails } from "./research-view.js";
import { batchDetails, batchText } from "./render-result.js";
import { runOf, runPage } from "./run-page.js";
import { PollSchema, validateParams } from "./schemas.js";
import { type OnUpdate, waitBudgetMs, waitForBatch } from "./wait.js";

const TOOL = "poll_until_complete";

export const pollUntilCompleteTool = (_services: PluginServices, ctx: ToolCallContext) => ({
  name: TOOL,
  label: "Poll until complete",
  description:
    'Wait (bounded, default 120 s, max 600 s) for a parallel_spawn or research_team batch and collect every finished result. Returns as soon as all runs are done; call again with the same batchId if it returns incomplete. Idempotent. With "label" (and "offset"), returns that one run\'s output from offset: follow the "read on" call printed wherever an output is cut.',
  parameters: PollSchema,
  catalogMode: "direct-only" as const,
  async execute(_id: string, raw: unknown, signal?: AbortSignal, onUpdate?: OnUpdate) {
    const p = validateParams(TOOL, PollSchema, raw);
    const engine = engineFor(TOOL);
    const own = ownBatch(TOOL, engine, p.batchId, ctx);
    const { batchId } = own;
    const budget = waitBudgetMs(p.timeoutSeconds, 120, p.timeoutMs);
    const by = requesterOf(ctx);
    if (p.label !== undefined) {
      // One run's page: waits for that run only, and reports part of the batch, so it neither holds nor collects it.
      const label = runOf(TOOL, own, p.label).spec.label;
      const runDone = (b: BatchRecord) => TERMINAL_STATES.has(runOf(TOOL, b, label).state);
      const batch = await waitForBatch(engine, batchId, budget, () => undefined, signal, onUpdate, { done: runDone, collects: false });
      const { text, details } = runPage(TOOL, batch, p.label, p.offset ?? 0);
      return { content: [{ type: "text" as const, text }], details };
    }
    if (p.offset !== undefined) throw new ToolInputError(`${TOOL}: "offset" goes with "label": give the label of the run to read on (as the "read on" call in the result says)`);
    const release = engine.hold(batchId, by);
    const batch = await waitForBatch(engine, batchId, budget, release, signal, onUpdate, { by });
    const details = { ...batchDetails(batch), ...(batch.workflow ? { research: researchDetails(batch) } : {}) };
    const next = details.complete ? undefined : `Not complete yet: call poll_until_complete {"batchId":"${batchId}"} again.`;
    return { content: [{ type: "text" as const, text: batchText(batch, details, next) }], details };
  },
});
