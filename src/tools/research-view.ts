// A research batch as the caller reads it: one result per lane, the synthesis, and every failed or
// missing lane by name. The synthesis is only as honest as its model, so a failed topic that its
// text leaves out gets a "Not covered" line from us. Also builds the synthesis input (as data).
import { type BatchRecord, type RunRecord, isComplete } from "../batch/types.js";
import { TEXT_PAGE_CHARS, fencedPage } from "./read-on.js";
import { errorExcerpt, runText, runView } from "./render-result.js";
import { failedLanes, lanes, synthesisRun, synthesisText } from "./research-lanes.js";
import { batchUsage, usageSummary } from "../pricing/index.js";

export { SYNTHESIS_LABEL } from "./research-lanes.js";

const OUTPUT_CAP_CHARS = 16_000;

/** The synthesizer role's vars: validated lane results and failed lanes, both as JSON data. */
export function synthesisVars(batch: BatchRecord): Record<string, string> {
  const good = lanes(batch)
    .filter(({ run }) => run.state === "ok")
    .map(({ lane, run }) => ({ label: lane.label, topic: lane.topic, data: run.json ?? null }));
  const brief = batch.workflow?.brief;
  return { results: JSON.stringify(good), failed: JSON.stringify(failedLanes(batch)), ...(brief ? { brief } : {}) };
}

export function researchDetails(batch: BatchRecord) {
  const results = lanes(batch).map(({ lane, run }) => ({
    topic: lane.topic,
    ...(lane.lens ? { lens: lane.lens } : {}),
    label: lane.label,
    state: run.state,
    data: run.json ?? null,
    ...modelAndAttempts(run),
  }));
  const failed = failedLanes(batch);
  const synth = synthesisRun(batch);
  return {
    batchId: batch.batchId,
    complete: isComplete(batch),
    results,
    ...(synth ? { synthesis: synthesisView(batch, synth) } : {}),
    failed,
    usage: batchUsage(batch),
  };
}

/** The run's model, attempts and error, as runView reports them. */
function modelAndAttempts(run: RunRecord) {
  const { model, attempts } = runView(run);
  return { model, attempts, ...(run.error ? { error: run.error } : {}) };
}

function synthesisView(batch: BatchRecord, run: RunRecord) {
  const text = synthesisText(batch, run);
  const output = text.slice(0, OUTPUT_CAP_CHARS);
  return { state: run.state, output, ...(text.length > OUTPUT_CAP_CHARS ? { outputTruncated: true, outputChars: text.length } : {}), ...modelAndAttempts(run) };
}

export type ResearchDetails = ReturnType<typeof researchDetails>;

/** The research batch as text: lane counts, failed lanes by label, then the synthesis (or each lane's JSON), fenced and pageable. */
export function researchText(batch: BatchRecord): string {
  const d = researchDetails(batch);
  const lines = [`Research team ${d.batchId}: ${d.results.filter((r) => r.state === "ok").length}/${d.results.length} lanes ok.`];
  if (d.failed.length) lines.push(`Failed or missing lanes: ${d.failed.map((f) => `${f.label} (${f.state})`).join(", ")}.`);
  const shown = d.results.slice(0, 40).map((r) => `${r.label} (${r.state})`).join(", ") + (d.results.length > 40 ? `, … (${d.results.length - 40} more)` : "");
  lines.push(`Lanes: ${shown}. Read one whole with poll_until_complete {"batchId":"${d.batchId}","label":"<lane label>"}.`);
  lines.push(`Used ${usageSummary(d.usage)}.`);
  for (const n of batch.notes) lines.push(`Note: ${n}`);
  const synth = synthesisRun(batch);
  if (synth) {
    const text = synthesisText(batch, synth);
    lines.push(`\nSynthesis (${synth.state}):`, fencedPage(batch.batchId, synth.spec.label, text || "(no synthesis text)", 0, TEXT_PAGE_CHARS));
    if (synth.error) lines.push(errorExcerpt(batch.batchId, synth));
  } else {
    for (const { lane, run } of lanes(batch)) if (run.state === "ok") lines.push(fencedPage(batch.batchId, lane.label, runText(batch, run), 0, TEXT_PAGE_CHARS));
  }
  if (!d.complete) lines.push(`\nThe research batch runs on its own; collect it with poll_until_complete {"batchId":"${d.batchId}"}.`);
  return lines.join("\n");
}
