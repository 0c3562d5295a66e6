// Waits (bounded) on a batch the engine runs, streaming progress lines through onUpdate. Progress
// carries labels, states and counts only: never task text, outputs or secrets. Makes no host calls.
import type { Engine } from "../engine/engine.js";
import { type BatchRecord, TERMINAL_STATES, isComplete } from "../batch/types.js";
import { counts } from "./render-result.js";

export type OnUpdate = ((partial: unknown) => void) | undefined;

/** How long a call may wait: its own bound, kept under the harness's per-tool limit (timeoutMs). */
export function waitBudgetMs(seconds: number | undefined, defaultSeconds: number, timeoutMs?: number): number {
  const own = (seconds ?? defaultSeconds) * 1000;
  const harness = timeoutMs === undefined ? Infinity : Math.max(0, timeoutMs - 1000);
  return Math.max(0, Math.min(own, harness, 600_000));
}

export interface WaitFor {
  /** What the call waits for (default: every run finished). */
  done?: (batch: BatchRecord) => boolean;
  /** The calling session: only the requester's complete answer marks the batch collected. */
  by?: string;
  /** False for a call that reports part of the batch (one run's page): it never collects it. */
  collects?: boolean;
}

/**
 * Returns the batch once it is complete, or at the bound with what is done. `release` is the
 * caller's hold on the batch (taken before it could end): a batch that ends while held is this
 * call's to report, and a complete answer marks it collected, so no notice repeats it.
 */
export async function waitForBatch(
  engine: Engine,
  batchId: string,
  waitMs: number,
  release: () => void,
  signal?: AbortSignal,
  onUpdate?: OnUpdate,
  { done: finished = isComplete, by, collects = true }: WaitFor = {},
): Promise<BatchRecord> {
  const deadline = Date.now() + waitMs;
  const seen = new Map<string, string>();
  const report = (batch: BatchRecord, text: string) =>
    onUpdate?.({ content: [], details: { batchId, counts: counts(batch.runs) }, progress: { text, visibility: "channel", privacy: "public", id: `parallel-agents-${batchId}` } });
  try {
    for (let first = true; ; first = false) {
      const batch = engine.get(batchId)!;
      if (first) report(batch, `parallel-agents: batch ${batchId} — ${batch.runs.length} run${batch.runs.length === 1 ? "" : "s"}`);
      const done = batch.runs.filter((r) => TERMINAL_STATES.has(r.state)).length;
      for (const run of batch.runs) {
        if (seen.get(run.spec.label) === run.state) continue;
        if (!first || run.state !== "queued") report(batch, `parallel-agents: ${run.spec.label} ${run.state} (${done}/${batch.runs.length} done)`);
        seen.set(run.spec.label, run.state);
      }
      if (finished(batch) || Date.now() >= deadline || signal?.aborted) break;
      await engine.nextChange(batchId, deadline, signal); // registered in this same tick: no change is missed
    }
  } finally {
    release();
  }
  const batch = engine.get(batchId)!;
  if (collects && isComplete(batch)) engine.collected(batch, by);
  // A copy of the batch as stored now: the caller renders after an await, when the engine may have moved on.
  return structuredClone(batch);
}
