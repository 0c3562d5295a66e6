// The adaptive ladder's evidence, read from the batch store (so it survives restarts): what each
// role's newest finished runs say about the rung they started on, per agent.
import type { BatchRecord, RunRecord } from "../batch/types.js";
import type { BatchStore } from "../store/batch-store.js";
import { type LearnedStart, type StartVerdict, WINDOW, learnStart, startVerdict } from "./rule.js";

/** Batches looked at, newest first, before the evidence is taken as it is (retention keeps fewer by default). */
const SCAN_BATCHES = 1000;

/** Finished runs of a batch newest-ended first, with their verdicts; pinned runs are evidence too. */
function verdictsOf(batch: BatchRecord): { run: RunRecord; verdict: StartVerdict }[] {
  const ended = (r: RunRecord) => r.attempts[r.attempts.length - 1]?.endedAt ?? 0;
  return batch.runs
    .filter((r) => r.spec.role !== undefined)
    .sort((a, b) => ended(b) - ended(a))
    .flatMap((run) => {
      const verdict = startVerdict(run);
      return verdict ? [{ run, verdict }] : [];
    });
}

/**
 * Newest-first verdicts of `agentId`'s runs of each wanted role (role -> the rung it would start
 * on), stopping once every role has a full window on that rung.
 */
export function roleHistory(store: BatchStore, agentId: string, wanted: Map<string, string>): Map<string, StartVerdict[]> {
  const out = new Map<string, StartVerdict[]>([...wanted.keys()].map((role) => [role, []]));
  const full = () => [...wanted].every(([role, base]) => out.get(role)!.filter((v) => v.start === base).length >= WINDOW);
  for (const { batchId } of store.list(SCAN_BATCHES, agentId)) {
    if (full()) break;
    const batch = store.load(batchId);
    if (!batch) continue;
    for (const { run, verdict } of verdictsOf(batch)) out.get(run.spec.role!)?.push(verdict);
  }
  return out;
}

export interface AgentLearnedStart extends LearnedStart {
  agentId: string;
}

/**
 * The starts learned now, per agent and role (all agents unless `agentId`): each role judged on the
 * rung its newest unpinned run would have started on, within that batch's usable ladder. What
 * `doctor` and `stats` list; the next batch of the role applies the same rule.
 */
export function learnedStarts(store: BatchStore, agentId?: string): AgentLearnedStart[] {
  const seen = new Map<string, { agentId: string; role: string; base?: string; ladder?: string[]; history: StartVerdict[] }>();
  for (const { batchId } of store.list(SCAN_BATCHES, agentId)) {
    const batch = store.load(batchId);
    if (!batch) continue;
    for (const run of batch.runs) {
      const role = run.spec.role;
      if (role === undefined) continue;
      const key = `${batch.agentId}\u0000${role}`;
      const entry = seen.get(key) ?? { agentId: batch.agentId, role, history: [] };
      seen.set(key, entry);
      const start = run.spec.learnedFrom ?? run.attempts[0]?.model;
      if (entry.base === undefined && !run.spec.model && start !== undefined) Object.assign(entry, { base: start, ladder: batch.options.ladder });
    }
    for (const { run, verdict } of verdictsOf(batch)) seen.get(`${batch.agentId}\u0000${run.spec.role}`)!.history.push(verdict);
  }
  return [...seen.values()].flatMap((e) => {
    const learned = e.base === undefined ? undefined : learnStart(e.role, e.base, e.ladder!, e.history);
    return learned ? [{ agentId: e.agentId, ...learned }] : [];
  });
}
