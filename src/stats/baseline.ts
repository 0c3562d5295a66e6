// The savings baseline: what a batch's answered tokens would have cost on the strongest rung of its
// ladder. One small function so the pricing module's own baseline can replace it.
import { costOf, priceOf } from "../batch/cost.js";
import type { BatchRecord } from "../batch/types.js";

export interface Baseline {
  /** The strongest rung of the batch's (usable) ladder; undefined when runs could not choose a model or it has no price (no savings are claimed then). */
  model?: string;
  costUsd: number;
}

export function batchBaseline(batch: BatchRecord): Baseline {
  const { ladder, modelOverride, prices } = batch.options;
  const strongest = modelOverride ? ladder[ladder.length - 1] : undefined;
  const model = priceOf(strongest, prices) ? strongest : undefined;
  let costUsd = 0;
  for (const run of batch.runs) {
    for (const a of run.attempts) costUsd += model === undefined ? a.costUsd : costOf(a.usage, model, prices);
  }
  return { ...(model ? { model } : {}), costUsd: Math.round(costUsd * 1e6) / 1e6 };
}
