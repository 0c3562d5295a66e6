// The model ladder resolved against the host: rungs the gateway cannot run are skipped up front
// (a rung it cannot run only burns attempts on provider errors), and tiers map onto what is left.
// Pure functions; what "runnable" means on openclaw 2026.9.6 is documented in ./host-view.ts.
import type { HostModelView, SkipReason } from "./host-view.js";

export { type HostModelApis, type HostModelView, type SkipReason, hostModelView, parseRef } from "./host-view.js";

export interface SkippedRung {
  model: string;
  why: SkipReason;
}

export interface LadderResolution {
  /** Runnable rungs, cheapest first, in ladder order, without duplicates. */
  usable: string[];
  skipped: SkippedRung[];
}

export function resolveLadder(input: { ladder: string[]; host: HostModelView }): LadderResolution {
  const usable: string[] = [];
  const skipped: SkippedRung[] = [];
  for (const model of input.ladder) {
    if (usable.includes(model) || skipped.some((s) => s.model === model)) continue;
    const why = input.host.unusable(model);
    if (why) skipped.push({ model, why });
    else usable.push(model);
  }
  return { usable, skipped };
}

/**
 * The first model of a role at `tier`: its own rung if usable, else the next stronger usable rung,
 * else (its tier and everything above gone) the strongest usable rung. Undefined when no rung is
 * usable: the run then takes the agent's default model.
 */
export function startingRung(tier: number, ladder: string[], usable: string[]): string | undefined {
  if (usable.length === 0 || ladder.length === 0) return undefined;
  const from = Math.min(Math.max(0, Math.trunc(Number.isFinite(tier) ? tier : 0)), ladder.length - 1);
  return ladder.slice(from).find((m) => usable.includes(m)) ?? usable[usable.length - 1];
}

/**
 * The model to escalate to from `current`: the next stronger usable rung, undefined at the top.
 * From a model off the usable ladder (a caller's pin, or the agent's default) it is the strongest
 * usable rung. Never a rung below `current`, so never below where the run started.
 */
export function nextRung(current: string | undefined, usable: string[]): string | undefined {
  const at = current === undefined ? -1 : usable.indexOf(current);
  if (at < 0) return usable[usable.length - 1];
  return usable[at + 1];
}

/** A caller's pinned model, checked up front: an unusable pin is refused, not retried. */
export function checkPin(model: string, host: HostModelView): { ok: true } | { ok: false; why: SkipReason } {
  const why = host.unusable(model);
  return why ? { ok: false, why } : { ok: true };
}

/** The refusal for an unusable pin, naming the model and the usable choices. */
export function pinRefusal(model: string, why: SkipReason, usable: string[]): string {
  const choices = usable.length ? `usable ladder models: ${usable.join(", ")}` : "no ladder model is usable; omit model to use the agent's default";
  return `model "${model}" cannot run on this gateway (${why}); ${choices}`;
}

const list = (skipped: SkippedRung[]): string => skipped.map((s) => `${s.model} (${s.why})`).join(", ");

/** One note line about skipped rungs, or undefined when none was skipped. */
export function describeSkipped(skipped: SkippedRung[]): string | undefined {
  return skipped.length ? `ladder rungs skipped: ${list(skipped)}` : undefined;
}

/** The note when no rung is usable. */
export function noUsableRungNote(skipped: SkippedRung[]): string {
  return `no ladder rung is usable on this gateway${skipped.length ? ` (${list(skipped)})` : ""}; runs use the agent's default model`;
}

/** The note to show for a resolution: all gone, some skipped, or nothing to say. */
export function ladderNote(r: LadderResolution): string | undefined {
  return r.usable.length === 0 ? noUsableRungNote(r.skipped) : describeSkipped(r.skipped);
}
