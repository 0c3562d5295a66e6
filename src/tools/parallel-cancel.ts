import { batchDetails } from "./render-result.js";
import { CancelSchema } from "./schemas.js";
import { type PluginServices, withGatewayHint } from "./context.js";
import { validateParams } from "./validate.js";
import { ToolInputError } from "../errors.js";

export const parallelCancelTool = (services: PluginServices) => ({
  name: "parallel_cancel",
  label: "Parallel cancel",
  description: "Stop queued and running runs of a batch (all, or the given labels). Finished results stay available through poll_until_complete.",
  parameters: CancelSchema,
  catalogMode: "direct-only" as const,
  async execute(_id: string, raw: unknown) {
    const p = validateParams("parallel_cancel", CancelSchema, raw);
    return withGatewayHint("parallel_cancel", async () => {
      const runner = await services.store().get(p.batchId);
      const known = new Set(runner.batch.runs.map((r) => r.spec.label));
      const unknown = (p.labels ?? []).filter((l) => !known.has(l));
      if (unknown.length) throw new ToolInputError(`parallel_cancel: unknown labels ${unknown.join(", ")} (batch has: ${[...known].join(", ")})`);
      const stopped = await runner.cancel(p.labels);
      const details = { ...batchDetails(runner), stopped };
      const text = stopped.length ? `Stopped ${stopped.length} run(s): ${stopped.join(", ")}.` : "Nothing to stop: those runs had already finished.";
      return { content: [{ type: "text" as const, text }], details };
    });
  },
});
