// The adaptive ladder at batch submission: runs of a role whose starting rung keeps failing start
// one usable rung up (all but about one in ten), and the batch's notes say so. Pins, explicit
// `ladder` overrides, `adaptive: false` and `adaptiveLadder: false` leave every start as it was.
import type { RunSpec } from "../batch/types.js";
import { type LearnedStart, type StartVerdict, explores, learnStart, learnedNote } from "./rule.js";

export interface AdaptInput {
  specs: RunSpec[];
  /** The batch's usable ladder, cheapest first; a spec's tier indexes it. */
  ladder: string[];
  /** Newest-first verdicts per wanted role (role -> the rung it would start on). */
  history: (wanted: Map<string, string>) => Map<string, StartVerdict[]>;
  random: () => number;
}

export interface Adapted {
  specs: RunSpec[];
  notes: string[];
  learned: LearnedStart[];
}

/** Whether the batch may learn: on in the config and the call, no explicit ladder, models can be chosen. */
export function adaptiveOn(o: { configured: boolean; call?: boolean; explicitLadder: boolean; modelOverride: boolean }): boolean {
  return o.configured && o.call !== false && !o.explicitLadder && o.modelOverride;
}

const baseOf = (spec: RunSpec, ladder: string[]): string | undefined => ladder[Math.min(spec.tier, ladder.length - 1)];

export function adaptStarts(input: AdaptInput): Adapted {
  const { specs, ladder } = input;
  const learnable = (s: RunSpec) => s.role !== undefined && s.model === undefined && baseOf(s, ladder) !== undefined;
  const wanted = new Map(specs.filter(learnable).map((s) => [s.role!, baseOf(s, ladder)!]));
  if (wanted.size === 0) return { specs, notes: [], learned: [] };
  const history = input.history(wanted);
  const learned = new Map<string, LearnedStart>();
  for (const [role, base] of wanted) {
    const l = learnStart(role, base, ladder, history.get(role) ?? []);
    if (l) learned.set(role, l);
  }
  const tally = new Map<string, { runs: number; kept: number }>();
  const out = specs.map((s) => {
    const l = learnable(s) ? learned.get(s.role!) : undefined;
    if (!l || baseOf(s, ladder) !== l.from) return s;
    const t = tally.get(l.role) ?? { runs: 0, kept: 0 };
    tally.set(l.role, t);
    t.runs++;
    if (explores(input.random)) {
      t.kept++;
      return s;
    }
    return { ...s, tier: ladder.indexOf(l.to), learnedFrom: l.from };
  });
  const notes = [...learned.values()].filter((l) => tally.has(l.role)).map((l) => learnedNote(l, tally.get(l.role)!.kept, tally.get(l.role)!.runs));
  return { specs: out, notes, learned: [...learned.values()] };
}
