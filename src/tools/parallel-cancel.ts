import type { BatchRecord } from "../batch/types.js";
import { ToolInputError } from "../errors.js";
import { type PluginServices, type ToolCallContext, engineFor, ownBatch } from "./context.js";
import { batchDetails } from "./render-result.js";
import { CancelSchema, validateParams } from "./schemas.js";

/** Labels the batch does not have, named with the ones it has; undefined when all are known. Shared by every cancel path. */
export function unknownLabels(batch: BatchRecord, labels: readonly string[]): string | undefined {
  const known = batch.runs.map((r) => r.spec.label);
  const unknown = [...new Set(labels.filter((l) => !known.includes(l)))];
  if (!unknown.length) return undefined;
  const has = known.slice(0, 30).join(", ") + (known.length > 30 ? `, … (${known.length - 30} more)` : "");
  return `unknown label${unknown.length === 1 ? "" : "s"} ${unknown.slice(0, 20).map((l) => JSON.stringify(l.slice(0, 64))).join(", ")} (batch ${batch.batchId} has: ${has})`;
}

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
    const unknown = p.labels && unknownLabels(batch, p.labels);
    if (unknown) throw new ToolInputError(`parallel_cancel: ${unknown}`);
    const stopped = await engine.cancel(batch.batchId, p.labels);
    const details = { ...batchDetails(engine.get(batch.batchId)!), stopped };
    const text = stopped.length ? `Stopped ${stopped.length} run(s): ${stopped.join(", ")}.` : "Nothing to stop: those runs had already finished.";
    return { content: [{ type: "text" as const, text }], details };
  },
});
