// The learning rule of the adaptive ladder, as pure functions: what a finished run says about the
// rung it started on, and whether a role's recent runs say "start one rung up". About one run in
// ten still starts on the lower rung, so the rule sees fresh evidence and can undo itself.
import { type Attempt, type AttemptOutcome, type RunRecord, TERMINAL_STATES } from "../batch/types.js";

/** How many of a role's newest finished runs (on one starting rung) the rule looks at. */
export const WINDOW = 10;
/** Failures on the starting rung, within the window, that move new runs one rung up. */
export const THRESHOLD = 5;
/** Share of learned runs that still start on the lower rung. */
export const EXPLORE_RATE = 0.1;

/** What one finished run says about the rung it started on. */
export interface StartVerdict {
  start: string;
  failed: boolean;
}

/** Ends that say nothing about the model: the gateway, the caller or the budget stopped it. */
const NOT_THE_MODEL: ReadonlySet<AttemptOutcome> = new Set(["interrupted", "cancelled", "budget"]);

const judged = (a: Attempt): boolean => a.outcome !== undefined && !NOT_THE_MODEL.has(a.outcome);

/**
 * The verdict of a finished run on its starting rung: failed when none of its attempts on that
 * model succeeded. Undefined while the run is going, when it never got a model of the ladder
 * (default model) or when nothing it tried there was the model's doing (cancelled, budget, restarts).
 */
export function startVerdict(run: RunRecord): StartVerdict | undefined {
  const start = run.attempts[0]?.model;
  if (!TERMINAL_STATES.has(run.state) || start === undefined) return undefined;
  const onStart = run.attempts.filter((a) => a.model === start && judged(a));
  if (onStart.length === 0) return undefined;
  return { start, failed: !onStart.some((a) => a.outcome === "ok") };
}

/** A learned start: runs of `role` that would start on `from` start on `to`. */
export interface LearnedStart {
  role: string;
  from: string;
  to: string;
  /** Of the role's last `of` finished runs that started on `from`, this many failed there. */
  failed: number;
  of: number;
}

/**
 * The rule: of the role's newest finished runs that started on `base` (at most WINDOW, newest
 * first in `history`), at least THRESHOLD failed there -> start on the next usable rung. Undefined
 * when too few failed, or `base` is the top (or off the usable ladder).
 */
export function learnStart(role: string, base: string, usable: string[], history: StartVerdict[]): LearnedStart | undefined {
  const at = usable.indexOf(base);
  const to = at < 0 ? undefined : usable[at + 1];
  if (to === undefined) return undefined;
  const window = history.filter((v) => v.start === base).slice(0, WINDOW);
  const failed = window.filter((v) => v.failed).length;
  return failed >= THRESHOLD ? { role, from: base, to, failed, of: window.length } : undefined;
}

/** One run of a learned role keeps the lower rung (about one in ten), so the rule keeps seeing it. */
export const explores = (random: () => number): boolean => random() < EXPLORE_RATE;

/** The note a batch carries: which role, the rung, and why. */
export function learnedNote(l: LearnedStart, kept = 0, runs = 0): string {
  const why = `${l.role} starts on ${l.to}: ${l.from} failed ${l.failed} of its last ${l.of} ${l.role} runs`;
  if (kept === 0) return why;
  return `${why} (${kept} of ${runs} ${l.role} run${runs === 1 ? "" : "s"} in this batch still start${kept === 1 ? "s" : ""} on ${l.from}, to keep checking it)`;
}
