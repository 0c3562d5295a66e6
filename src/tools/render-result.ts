// Turns a batch into the tool result the model reads. Children's words are untrusted data: their
// outputs and errors are fenced with delimiters they cannot forge, and a cut output says how to read
// on (read-on.ts). Per-run states live under `details.runs`, never in reserved keys.
import { type Attempt, type BatchRecord, type RunRecord, TERMINAL_STATES, isComplete } from "../batch/types.js";
import { ERROR_EXCERPT_CHARS, TEXT_PAGE_CHARS, fence, fencedPage, pageOf } from "./read-on.js";
import { synthesisRun, synthesisText } from "./research-lanes.js";
import { batchUsage, roundUsd, usageSummary } from "../pricing/index.js";

const OUTPUT_CAP_CHARS = 16_000;

function attemptView(a: Attempt) {
  return {
    model: a.model ?? "default",
    modelUsed: a.modelUsed,
    ...(a.model && a.modelUsed && a.model !== a.modelUsed ? { modelMismatch: true } : {}),
    outcome: a.outcome ?? "running",
    ...(a.reason ? { reason: a.reason } : {}),
    startedAt: new Date(a.startedAt).toISOString(),
    endedAt: a.endedAt ? new Date(a.endedAt).toISOString() : undefined,
    tokens: a.tokens,
    costUsd: roundUsd(a.costUsd),
  };
}

export function runView(run: RunRecord) {
  const last = run.attempts[run.attempts.length - 1];
  const output = run.output ?? "";
  const sum = (pick: (a: Attempt) => number) => run.attempts.reduce((n, a) => n + pick(a), 0);
  return {
    label: run.spec.label,
    state: run.state,
    // A stop is recorded (final) before it is carried out: until the child has stopped, the run says so.
    ...(run.stop && !TERMINAL_STATES.has(run.state) ? { stopping: run.stop.outcome } : {}),
    ...(run.spec.role ? { role: run.spec.role } : {}),
    output: output.slice(0, OUTPUT_CAP_CHARS),
    ...(output.length > OUTPUT_CAP_CHARS ? { outputTruncated: true, outputChars: output.length } : {}),
    ...(run.json !== undefined ? { json: run.json } : {}),
    model: last?.modelUsed ?? last?.model ?? "default",
    attempts: run.attempts.map(attemptView),
    usage: { tokens: sum((a) => a.tokens), costUsd: roundUsd(sum((a) => a.costUsd)) },
    ...(run.error ? { error: run.error } : {}),
  };
}

export function counts(runs: RunRecord[]) {
  const c = { ok: 0, failed: 0, timedOut: 0, cancelled: 0, running: 0, queued: 0 };
  for (const r of runs) c[r.state === "timed_out" ? "timedOut" : r.state]++;
  return c;
}

/** `details` shared by parallel_spawn and poll_until_complete. */
export function batchDetails(batch: BatchRecord) {
  const runs = batch.runs.map(runView);
  const complete = isComplete(batch);
  const finished = runs.filter((r) => TERMINAL_STATES.has(r.state));
  return {
    batchId: batch.batchId,
    complete,
    runs,
    counts: counts(batch.runs),
    usage: batchUsage(batch),
    ...(!complete && finished.length ? { partial: true, results: finished } : {}),
    ...(batch.notes.length ? { notes: [...batch.notes] } : {}),
  };
}

export type BatchDetails = ReturnType<typeof batchDetails>;

/** A run's words as the model reads them: its JSON when it has one, the research synthesis with its "Not covered" lines, else its output. */
export function runText(batch: BatchRecord, run: RunRecord): string {
  if (run === synthesisRun(batch)) return synthesisText(batch, run);
  return run.json !== undefined ? JSON.stringify(run.json) : (run.output ?? "");
}

/** The text the model reads: a summary line, then each run with its fenced output (cut ones say how to read on). */
export function batchText(batch: BatchRecord, details: BatchDetails, next?: string): string {
  const c = details.counts;
  const head = `Batch ${details.batchId}: ${details.complete ? "complete" : "not complete yet"} — ${c.ok} ok, ${c.failed} failed, ${c.timedOut} timed out, ${c.cancelled} cancelled, ${c.running} running, ${c.queued} queued; ${usageSummary(details.usage)}.`;
  const lines = [head];
  for (const n of details.notes ?? []) lines.push(`Note: ${n}`);
  for (const run of batch.runs) {
    lines.push(`\n${runLine(run)}`);
    if (run.state === "ok") lines.push(fencedPage(batch.batchId, run.spec.label, runText(batch, run), 0, TEXT_PAGE_CHARS));
    if (run.error) lines.push(errorExcerpt(batch.batchId, run));
  }
  if (next) lines.push(`\n${next}`);
  return lines.join("\n");
}

/** `[label] state · model · attempts`, in the plugin's own words; the last attempt's outcome is one of ours. */
export function runLine(run: RunRecord): string {
  const last = run.attempts[run.attempts.length - 1];
  const tries = run.attempts.length;
  const model = last?.modelUsed ?? last?.model ?? "default";
  const outcome = run.state !== "ok" && last?.outcome ? ` · last attempt: ${last.outcome}` : "";
  const error = run.error ? " · error (below, as data)" : "";
  return `[${run.spec.label}] ${run.state} · model ${model} · ${tries} attempt${tries === 1 ? "" : "s"}${outcome}${error}`;
}

/** A run's error: it can quote the child (schema errors name its keys), so it is fenced, and capped here. */
export function errorExcerpt(batchId: string, run: RunRecord): string {
  const page = pageOf(run.error ?? "", 0, ERROR_EXCERPT_CHARS);
  const more = page.to < page.total ? `\n[error cut at ${page.to} of ${page.total} characters; the whole error: poll_until_complete ${JSON.stringify({ batchId, label: run.spec.label })}]` : "";
  return `${fence(run.spec.label, page.text, "run-error")}${more}`;
}
