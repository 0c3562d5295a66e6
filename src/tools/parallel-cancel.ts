import { ToolInputError } from "../errors.js";
import { type PluginServices, type ToolCallContext, engineFor, ownBatch } from "./context.js";
import { batchDetails } from "./render-result.js";
import { CancelSchema, validateParams } from "./schemas.js";

export const parallelCancelTool = (_services: PluginServices, ctx: ToolCallContext) => ({
  name: "parallel_cancel",
  label: "Parallel cancel",
  description: "Stop queued and running runs of a batch (all, or the given labels). Finished results stay available through poll_until_complete.",
  parameters: CancelSchema,
  catalogMode: "direct-only" as const,
  async execute(_id: string, raw: unknown) {
    const p = validateParams("parallel_cancel", CancelSchema, raw);
    const engine = engineFor("parallel_cancel");
    const batch = ownBatch("parallel_cancel", engine, p.batchId, ctx);
    const known = new Set(batch.runs.map((r) => r.spec.label));
    const unknown = (p.labels ?? []).filter((l) => !known.has(l));
    if (unknown.length) throw new ToolInputError(`parallel_cancel: unknown labels ${unknown.join(", ")} (batch has: ${[...known].join(", ")})`);
    const stopped = await engine.cancel(batch.batchId, p.labels);
    const details = { ...batchDetails(engine.get(batch.batchId)!), stopped };
    const text = stopped.length ? `Stopped ${stopped.length} run(s): ${stopped.join(", ")}.` : "Nothing to stop: those runs had already finished.";
    return { content: [{ type: "text" as const, text }], details };
  },
});
