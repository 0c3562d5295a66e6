// The savings baseline: what a batch's answered tokens would have cost on the strongest usable rung
// of its ladder — the same figure every batch result shows (pricing/savings.ts), so stats and
// results never disagree.
import type { BatchRecord } from "../batch/types.js";
import { batchUsage } from "../pricing/index.js";

export interface Baseline {
  /** The strongest rung of the batch's (usable) ladder; undefined when runs could not choose a model or it has no price (no savings are claimed then). */
  model?: string;
  costUsd: number;
}

export function batchBaseline(batch: BatchRecord): Baseline {
  const usage = batchUsage(batch);
  return usage.baselineModel && usage.baselineCostUsd !== undefined ? { model: usage.baselineModel, costUsd: usage.baselineCostUsd } : { costUsd: usage.costUsd };
}
