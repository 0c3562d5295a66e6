// Every change to a run is one of these transitions, applied to a copy and refused (undefined)
// when it does not fit the run's current state: a terminal run is never reopened or finished
// again, an attempt that ended cannot end twice, and a wait result for an attempt that is no
// longer the live one (stopped, or superseded by a retry) is ignored. A stop, once accepted, is
// final: no attempt starts after it, no follow-up is sent, and whatever ends the run afterwards
// ends it in the stop's state. Pure: no I/O, no clock.
import type { Usage } from "../runtime/port.js";
import { totalTokens } from "../pricing/prices.js";
import { type Attempt, type AttemptOutcome, type RunRecord, type RunState, type RunStop, STOPPED_STATE, TERMINAL_STATES } from "../batch/types.js";

export type Transition =
  /** queued -> running with a new attempt. */
  | { kind: "start"; attempt: Attempt }
  /** The host admitted the live attempt. */
  | { kind: "started"; n: number; runId: string; sessionKey: string; modelUsed?: string }
  /** A corrective follow-up now runs in the live attempt's session. */
  | { kind: "corrected"; n: number; runId: string; reason: string; usage: Usage; costUsd: number }
  /** The live attempt ended; the run moves on as the policy decided. */
  | { kind: "finish"; n: number; ended: EndedAttempt; next: NextState }
  /** A run without a live attempt ends (cancelled, budget) without starting one. */
  | { kind: "end"; state: Exclude<RunState, "queued" | "running" | "ok">; error: string }
  /** A gated run gets its prompt and may be admitted. */
  | { kind: "ungate"; prompt: string }
  /** A run marked running without a live attempt (never written so by us; repaired, not failed). */
  | { kind: "requeue" }
  /** The host refused to start the live attempt for now (still booting): it never ran, so it is dropped. */
  | { kind: "defer"; n: number; notBefore: number; error: string }
  /** A stop is accepted (recorded before it is carried out); the first one wins. */
  | { kind: "stop"; stop: RunStop };

export interface EndedAttempt {
  outcome: AttemptOutcome;
  reason?: string;
  endedAt: number;
  usage: Usage;
  modelUsed?: string;
  costUsd: number;
  nextModel?: string;
}

export type NextState =
  | { state: "ok"; output?: string; json?: unknown }
  | { state: "queued"; notBefore: number }
  | { state: "failed" | "timed_out" | "cancelled"; error: string; output?: string };

export function liveAttempt(run: RunRecord): Attempt | undefined {
  const last = run.attempts[run.attempts.length - 1];
  return last && !last.outcome ? last : undefined;
}

/** The run after `t`, or undefined when `t` does not apply to the run as it is now. */
export function applyTransition(current: RunRecord, t: Transition): RunRecord | undefined {
  if (TERMINAL_STATES.has(current.state)) return undefined;
  const run = structuredClone(current);
  const live = liveAttempt(run);
  switch (t.kind) {
    case "start":
      if (run.stop || run.state !== "queued" || live || run.spec.gate || t.attempt.n !== run.attempts.length + 1) return undefined;
      run.attempts.push(t.attempt);
      run.state = "running";
      run.notBefore = undefined;
      run.firstStartedAt ??= t.attempt.startedAt;
      return run;
    case "started":
      if (!live || live.n !== t.n || live.runId) return undefined;
      Object.assign(live, { runId: t.runId, sessionKey: t.sessionKey, modelUsed: t.modelUsed ?? live.modelUsed });
      return run;
    case "corrected":
      if (run.stop || !live || live.n !== t.n || live.corrected) return undefined;
      Object.assign(live, { corrected: true, runId: t.runId, reason: t.reason, usage: t.usage, costUsd: t.costUsd, tokens: tokensOf(t.usage) });
      return run;
    case "finish": {
      if (!live || live.n !== t.n || run.state !== "running") return undefined;
      const e = t.ended;
      Object.assign(live, { outcome: e.outcome, reason: e.reason, endedAt: e.endedAt, usage: e.usage, tokens: tokensOf(e.usage), costUsd: e.costUsd, modelUsed: e.modelUsed ?? live.modelUsed, nextModel: e.nextModel });
      return moveOn(run, run.stop ? stoppedNext(run.stop, t.next) : t.next);
    }
    case "end":
      if (live) return undefined;
      run.state = t.state;
      run.error = t.error;
      run.notBefore = undefined;
      return run;
    case "defer":
      if (!live || live.n !== t.n || live.runId) return undefined;
      run.attempts.pop();
      run.state = "queued";
      run.notBefore = t.notBefore;
      run.refusals = { count: (run.refusals?.count ?? 0) + 1, last: t.error };
      return run;
    case "requeue":
      if (run.stop || run.state !== "running" || live) return undefined;
      run.state = "queued";
      return run;
    case "ungate":
      if (!run.spec.gate || run.state !== "queued") return undefined;
      run.spec.gate = undefined;
      run.spec.prompt = t.prompt;
      return run;
    case "stop":
      if (run.stop) return undefined;
      run.stop = t.stop;
      return run;
  }
}

/** Whatever ended a stopped run's attempt, the run ends as the stop said; an output it produced is kept. */
function stoppedNext(stop: RunStop, next: NextState): NextState {
  if (next.state !== "queued" && next.state !== "ok" && STOPPED_STATE[stop.outcome] === next.state) return next;
  return { state: STOPPED_STATE[stop.outcome], error: stop.reason, output: next.state === "queued" ? undefined : next.output };
}

function moveOn(run: RunRecord, next: NextState): RunRecord {
  run.state = next.state;
  if (next.state === "queued") {
    Object.assign(run, { notBefore: next.notBefore, output: undefined, json: undefined });
  } else if (next.state === "ok") {
    Object.assign(run, { output: next.output, json: next.json, error: undefined });
  } else {
    Object.assign(run, { error: next.error, output: next.output, json: undefined });
  }
  return run;
}

const tokensOf = (u: Usage): number => totalTokens(u); // cache reads and writes count too
