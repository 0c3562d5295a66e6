// A research batch's lanes: their labels (unique whatever script, spacing or repetition the lenses
// use, and valid run labels), which run covers which topic, which lanes failed, and the synthesis text
// with a "Not covered" line for every failed topic it leaves out.
import { type BatchRecord, type RunRecord, TERMINAL_STATES } from "../batch/types.js";

export const SYNTHESIS_LABEL = "synthesis";

const MAX_LABEL_CHARS = 64;

/** The same lens, as a reader would see it: case, width and spacing do not make a new lens. */
export const lensKey = (lens: string): string => lens.normalize("NFKC").trim().replace(/\s+/g, " ").toLowerCase();

/** ASCII letters, digits, `.`, `_` and `-` of a lens: "Critical view" -> "Critical-view", "批判的な見方" -> "". */
function slugOf(lens: string, max: number): string {
  return lens
    .normalize("NFKD")
    .replace(/\p{M}+/gu, "")
    .replace(/\s+/g, "-")
    .replace(/[^A-Za-z0-9._-]+/g, "")
    .replace(/-{2,}/g, "-")
    .replace(/^[-._]+|[-._]+$/g, "")
    .slice(0, max)
    .replace(/[-._]+$/g, "");
}

/**
 * One slug per lens, unique in the list: the lens's ASCII slug when it is unique and not empty, else
 * prefixed with its position (`lens2`, `lens2-view`); positions alone if even that collides.
 */
export function lensSlugs(lenses: string[], topicCount: number): string[] {
  const reserved = `topic-${topicCount}-`.length + `lens${lenses.length}-`.length;
  const base = lenses.map((lens) => slugOf(lens, MAX_LABEL_CHARS - reserved));
  const seen = new Map<string, number>();
  for (const b of base) seen.set(b.toLowerCase(), (seen.get(b.toLowerCase()) ?? 0) + 1);
  const slugs = base.map((b, j) => (b && seen.get(b.toLowerCase()) === 1 ? b : `lens${j + 1}${b ? `-${b}` : ""}`));
  const distinct = new Set(slugs.map((s) => s.toLowerCase())).size === slugs.length;
  return distinct ? slugs : lenses.map((_, j) => `lens${j + 1}`);
}

/** A lane's run label: `topic-<n>`, or `topic-<n>-<lens slug>`. */
export const laneLabel = (topicIndex: number, slug?: string): string => `topic-${topicIndex + 1}${slug ? `-${slug}` : ""}`;

export function lanes(batch: BatchRecord) {
  const byLabel = new Map(batch.runs.map((r) => [r.spec.label, r]));
  return (batch.workflow?.lanes ?? []).map((lane) => ({ lane, run: byLabel.get(lane.label)! }));
}

export type FailedLane = { topic: string; label: string; state: string; error?: string };

export function failedLanes(batch: BatchRecord): FailedLane[] {
  return lanes(batch)
    .filter(({ run }) => run.state !== "ok")
    .map(({ lane, run }) => ({
      topic: lane.topic,
      label: lane.label,
      state: run.state,
      error: run.error ?? (TERMINAL_STATES.has(run.state) ? undefined : "still running when the synthesis started"),
    }));
}

/** The research batch's synthesis run (a lane is never labelled `synthesis`). */
export function synthesisRun(batch: BatchRecord): RunRecord | undefined {
  if (!batch.workflow) return undefined;
  return batch.runs.find((r) => r.spec.label === SYNTHESIS_LABEL && !batch.workflow!.lanes.some((l) => l.label === r.spec.label));
}

/** The synthesis's whole text, plus a "Not covered" line for each failed topic it does not name. */
export function synthesisText(batch: BatchRecord, run: RunRecord): string {
  const output = run.output ?? "";
  if (!TERMINAL_STATES.has(run.state)) return output;
  const missing = failedLanes(batch).filter((f) => !output.toLowerCase().includes(f.topic.toLowerCase()));
  if (!missing.length) return output;
  const lines = missing.map((f) => `Not covered: ${f.topic} (${f.state}${f.error ? `: ${f.error}` : ""})`);
  return [output.trimEnd(), ...lines].filter(Boolean).join("\n");
}
