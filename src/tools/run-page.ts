// One run of a batch read page by page (poll_until_complete with `label`): its output from `offset`,
// fenced, READ_PAGE_CHARS at a time, each cut naming the call that reads on; its whole error, fenced.
import { type BatchRecord, TERMINAL_STATES } from "../batch/types.js";
import { ToolInputError } from "../errors.js";
import { READ_PAGE_CHARS, cutNote, fence, pageOf, wholeCharOffset } from "./read-on.js";
import { runLine, runText } from "./render-result.js";

/** The run with this label; a label the batch does not have is a 400 listing the ones it has. */
export function runOf(tool: string, batch: BatchRecord, label: string) {
  const run = batch.runs.find((r) => r.spec.label === label);
  if (run) return run;
  const labels = batch.runs.map((r) => r.spec.label);
  const shown = labels.slice(0, 30).join(", ") + (labels.length > 30 ? `, … (${labels.length - 30} more)` : "");
  throw new ToolInputError(`${tool}: label "${label}" is not a run of batch ${batch.batchId} (its labels: ${shown})`);
}

export function runPage(tool: string, batch: BatchRecord, label: string, offset: number) {
  const run = runOf(tool, batch, label);
  const finished = TERMINAL_STATES.has(run.state);
  const text = finished ? runText(batch, run) : "";
  if (offset > text.length && finished) {
    throw new ToolInputError(`${tool}: offset ${offset} is past the end of "${label}"'s output (${text.length} characters); use an offset from 0 to ${text.length}`);
  }
  const page = pageOf(text, wholeCharOffset(text, offset), READ_PAGE_CHARS);
  const lines = [`Batch ${batch.batchId}, ${runLine(run)}`];
  if (!finished) {
    lines.push(`Still ${run.state}: its output arrives when it ends. Call poll_until_complete ${JSON.stringify({ batchId: batch.batchId, label })} again.`);
  } else {
    lines.push(fence(label, page.text || (page.total ? "" : "(no output)")));
    lines.push(cutNote(batch.batchId, label, page) ?? `[end of output: characters ${page.from} to ${page.to} of ${page.total}]`);
    if (run.error) lines.push(fence(label, run.error.slice(0, READ_PAGE_CHARS), "run-error"));
  }
  const details = {
    batchId: batch.batchId,
    label,
    state: run.state,
    complete: finished,
    output: page.text,
    offset: page.from,
    totalChars: page.total,
    ...(page.to < page.total ? { nextOffset: page.to } : {}),
    ...(run.error ? { error: run.error } : {}),
  };
  return { text: lines.join("\n"), details };
}
