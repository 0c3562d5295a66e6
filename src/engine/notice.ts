// The completion notice: what the requester session is told when a batch it has not collected
// ends. Labels, counts and what to call next only: never a child's output or anything secret.
import { type BatchRecord, TERMINAL_STATES } from "../batch/types.js";
import { batchUsage, usageSummary } from "../pricing/index.js";

/** Where a notice goes; `idempotencyKey` is the same on every try for one batch, so a host that takes one delivers it once. */
export interface NoticeTarget {
  agentId: string;
  sessionKey: string;
  batchId: string;
  idempotencyKey: string;
}

/** Delivers a notice to the session that started a batch (the OpenClaw adapter implements it). */
export interface Notifier {
  /** Resolves with the route that took it (e.g. "wake", "next-turn"), or throws. */
  notify(target: NoticeTarget, text: string): Promise<string>;
}

export const noticeKey = (batchId: string): string => `parallel-agents:notice:${batchId}`;

export function noticeText(batch: BatchRecord): string {
  const counts = new Map<string, number>();
  const failed: string[] = [];
  for (const run of batch.runs) {
    counts.set(run.state, (counts.get(run.state) ?? 0) + 1);
    if (run.state !== "ok" && TERMINAL_STATES.has(run.state)) failed.push(run.spec.label);
  }
  const summary = [...counts].map(([state, n]) => `${n} ${state.replace("_", " ")}`).join(", ");
  const shown = failed.slice(0, 20).join(", ") + (failed.length > 20 ? `, … (${failed.length - 20} more)` : "");
  return [
    `[parallel-agents] Batch ${batch.batchId} has finished: ${summary}.`,
    failed.length ? `Not ok: ${shown}.` : "",
    `Collect the results with poll_until_complete {"batchId":"${batch.batchId}"}.`,
    `Used ${usageSummary(batchUsage(batch))}.`,
  ]
    .filter(Boolean)
    .join(" ");
}
