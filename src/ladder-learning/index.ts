// The adaptive ladder as tools/batch.ts calls it: a batch's run specs with learned starts applied
// (from this agent's history in the store), plus the notes that say which role moved and why.
import type { BatchOptions, RunSpec } from "../batch/types.js";
import type { BatchStore } from "../store/batch-store.js";
import { adaptStarts, adaptiveOn } from "./apply.js";
import { roleHistory } from "./history.js";

export { learnedStarts, type AgentLearnedStart } from "./history.js";
export { learnedNote } from "./rule.js";

export interface LearnContext {
  store: BatchStore;
  agentId: string;
  /** `adaptiveLadder` in the plugin config. */
  configured: boolean;
  /** `adaptive` on the call. */
  call?: boolean;
  /** The call gave its own `ladder`. */
  explicitLadder: boolean;
  random?: () => number;
}

export function learnStarts(specs: RunSpec[], options: BatchOptions, ctx: LearnContext): { specs: RunSpec[]; notes: string[] } {
  if (!adaptiveOn({ configured: ctx.configured, call: ctx.call, explicitLadder: ctx.explicitLadder, modelOverride: options.modelOverride })) return { specs, notes: [] };
  const { specs: adapted, notes } = adaptStarts({
    specs,
    ladder: options.ladder,
    history: (wanted) => roleHistory(ctx.store, ctx.agentId, wanted),
    random: ctx.random ?? Math.random,
  });
  return { specs: adapted, notes };
}
