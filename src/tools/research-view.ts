// A research batch as the caller reads it: one result per lane, the synthesis, and every failed or
// missing lane by name. The synthesis is only as honest as its model, so a failed topic that its
// text leaves out gets a "Not covered" line from us. Also builds the synthesis input (as data).
import { type BatchRecord, type RunRecord, TERMINAL_STATES, isComplete } from "../batch/types.js";
import { batchUsage, usageSummary } from "../pricing/index.js";
import { fence, runView } from "./render-result.js";

export const SYNTHESIS_LABEL = "synthesis";

function lanes(batch: BatchRecord) {
  const byLabel = new Map(batch.runs.map((r) => [r.spec.label, r]));
  return (batch.workflow?.lanes ?? []).map((lane) => ({ lane, run: byLabel.get(lane.label)! }));
}

type FailedLane = { topic: string; label: string; state: string; error?: string };

function failedLanes(batch: BatchRecord): FailedLane[] {
  return lanes(batch)
    .filter(({ run }) => run.state !== "ok")
    .map(({ lane, run }) => ({
      topic: lane.topic,
      label: lane.label,
      state: run.state,
      error: run.error ?? (TERMINAL_STATES.has(run.state) ? undefined : "still running when the synthesis started"),
    }));
}

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
  const synth = batch.runs.find((r) => r.spec.label === SYNTHESIS_LABEL && !batch.workflow?.lanes.some((l) => l.label === r.spec.label));
  return {
    batchId: batch.batchId,
    complete: isComplete(batch),
    results,
    ...(synth ? { synthesis: synthesisView(synth, failed) } : {}),
    failed,
    usage: batchUsage(batch),
  };
}

/** The run's model, attempts and error, as runView reports them. */
function modelAndAttempts(run: RunRecord) {
  const { model, attempts } = runView(run);
  return { model, attempts, ...(run.error ? { error: run.error } : {}) };
}

function synthesisView(run: RunRecord, failed: FailedLane[]) {
  let output = runView(run).output;
  if (TERMINAL_STATES.has(run.state)) {
    const missing = failed.filter((f) => !output.toLowerCase().includes(f.topic.toLowerCase()));
    if (missing.length) {
      const lines = missing.map((f) => `Not covered: ${f.topic} (${f.state}${f.error ? `: ${f.error}` : ""})`);
      output = [output.trimEnd(), ...lines].filter(Boolean).join("\n");
    }
  }
  return { state: run.state, output, ...modelAndAttempts(run) };
}

export type ResearchDetails = ReturnType<typeof researchDetails>;

export function researchText(d: ResearchDetails, notes: string[]): string {
  const lines = [`Research team ${d.batchId}: ${d.results.filter((r) => r.state === "ok").length}/${d.results.length} lanes ok.`];
  if (d.failed.length) lines.push(`Failed or missing lanes: ${d.failed.map((f) => `${f.label} (${f.state})`).join(", ")}.`);
  lines.push(`Used ${usageSummary(d.usage)}.`);
  for (const n of notes) lines.push(`Note: ${n}`);
  if (d.synthesis) lines.push(`\nSynthesis (${d.synthesis.state}):`, fence("synthesis", d.synthesis.output || "(no synthesis text)"));
  else for (const r of d.results) if (r.state === "ok") lines.push(fence(r.label, JSON.stringify(r.data)));
  if (!d.complete) lines.push(`\nThe research batch runs on its own; collect it with poll_until_complete {"batchId":"${d.batchId}"}.`);
  return lines.join("\n");
}
