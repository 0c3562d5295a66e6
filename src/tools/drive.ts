// Drives a batch for one tool call and streams progress lines through onUpdate. Progress text
// carries labels, states and counts only: never task text, outputs or secrets.
import type { BatchRunner } from "../orchestrator/batch-runner.js";
import { TERMINAL_STATES } from "../orchestrator/types.js";
import { counts } from "./render-result.js";

export type OnUpdate = ((partial: unknown) => void) | undefined;

/** How long a call may wait: its own bound, kept under the harness's per-tool limit (timeoutMs). */
export function waitBudgetMs(seconds: number | undefined, defaultSeconds: number, timeoutMs?: number): number {
  const own = (seconds ?? defaultSeconds) * 1000;
  const harness = timeoutMs === undefined ? Infinity : Math.max(0, timeoutMs - 1000);
  return Math.max(0, Math.min(own, harness, 600_000));
}

export async function driveWithProgress(runner: BatchRunner, waitMs: number, signal?: AbortSignal, onUpdate?: OnUpdate): Promise<void> {
  const { batchId, runs } = runner.batch;
  const report = (text: string) => {
    if (!onUpdate) return;
    const c = counts(runs);
    onUpdate({
      content: [],
      details: { batchId, counts: c },
      progress: { text, visibility: "channel", privacy: "public", id: `parallel-agents-${batchId}` },
    });
  };
  const off = runner.onChange((run) => {
    const done = runs.filter((r) => TERMINAL_STATES.has(r.state)).length;
    report(`parallel-agents: ${run.spec.label} ${run.state} (${done}/${runs.length} done)`);
  });
  try {
    report(`parallel-agents: batch ${batchId} — ${runs.length} run${runs.length === 1 ? "" : "s"}`);
    await runner.drive(Date.now() + waitMs, signal);
  } finally {
    off();
  }
}
