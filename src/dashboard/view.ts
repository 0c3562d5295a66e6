// What the dashboard's JSON routes answer. Built on the CLI's views (src/cli/views.ts), adding only what a
// picture needs and a table does not: the ladder (to colour attempts by rung), epoch times for the
// timeline, and the start of each run's task and output (untrusted text; the page renders it as text).
import type { BatchRecord } from "../batch/types.js";
import type { BatchStore } from "../store/batch-store.js";
import { showView, statusView } from "../cli/views.js";

/** How much of a run's task and output the batch view carries (the full text stays in the store). */
export const PREVIEW_CHARS = 2_000;

/** Batch ids the routes accept: the engine mints `pa-…`; anything else is refused before a lookup. */
export const BATCH_ID = /^[A-Za-z0-9_-]{4,80}$/;

const preview = (text: string | undefined) => {
  const t = text ?? "";
  return t.length > PREVIEW_CHARS ? { text: t.slice(0, PREVIEW_CHARS), truncated: true, chars: t.length } : { text: t, truncated: false, chars: t.length };
};

/** The batch list: open batches first, then recent ones (every agent's: the dashboard is an operator surface). */
export function dashboardList(store: BatchStore, load: (id: string) => BatchRecord | undefined, limit: number, now = Date.now()) {
  return { now, ...statusView(store, load, limit, now) };
}

/** One batch with its runs and attempts, timed for the timeline; the ladder rung of each attempt is its model's index. */
export function dashboardBatch(batch: BatchRecord, now = Date.now()) {
  const base = showView(batch, now);
  const ladder = batch.options.ladder;
  return {
    ...base,
    now,
    createdAtMs: batch.createdAt,
    ladder,
    runs: base.runs.map((run, i) => {
      const record = batch.runs[i];
      return {
        ...run,
        attempts: run.attempts.map((a, n) => ({
          ...a,
          rung: record.attempts[n]?.model ? ladder.indexOf(record.attempts[n].model!) : -1,
          startedAtMs: record.attempts[n]?.startedAt,
          endedAtMs: record.attempts[n]?.endedAt,
        })),
        task: preview(record.spec.prompt),
        output: preview(record.output),
      };
    }),
  };
}

export type DashboardBatch = ReturnType<typeof dashboardBatch>;
