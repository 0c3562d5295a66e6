// The ladder at work, from the batch store (so it survives restarts): per model the attempts, what
// they ended as and the escalations away from it; per role the runs, how often the first rung was
// enough, attempts per run and cost; the totals against the all-on-the-strongest-rung baseline; and
// the starts the adaptive ladder has learned. One JSON shape for the CLI, the gateway method, the
// chat command and the dashboard.
import type { Attempt, BatchRecord, RunRecord } from "../batch/types.js";
import { type AgentLearnedStart, learnedNote, learnedStarts } from "../ladder-learning/index.js";
import { startVerdict } from "../ladder-learning/rule.js";
import { roundUsd } from "../pricing/prices.js";
import type { BatchStore } from "../store/batch-store.js";
import { batchBaseline } from "./baseline.js";
import { parseSince } from "./since.js";

export interface StatsOptions {
  /** One agent's batches only (the chat command's scope). */
  agentId?: string;
  /** Batches created at or after this: epoch ms, or a duration back from now ("7d") or a date. */
  since?: number | string;
  now?: number;
  /** `adaptiveLadder: false` in the config: no start is learned, so none is listed. */
  adaptiveLadder?: boolean;
}

/** Batches read at most (retention keeps 200 by default). */
const MAX_BATCHES = 100_000;
/** The bucket of runs that name no role (free-form tasks). */
export const NO_ROLE = "(task)";

export interface ModelStats {
  model: string;
  attempts: number;
  ok: number;
  /** Ended attempts that were not ok, by outcome (invalid_json, schema_violation, empty_output, provider_error, timeout, ...). */
  failures: Record<string, number>;
  running: number;
  /** Attempts after which the run moved on to another model. */
  escalations: number;
  tokens: number;
  costUsd: number;
}

export interface RoleStats {
  role: string;
  runs: number;
  /** Finished runs with a verdict on their starting rung, and how many succeeded there. */
  judged: number;
  firstRungOk: number;
  firstRungSuccessRate: number | null;
  meanAttempts: number | null;
  tokens: number;
  costUsd: number;
}

function modelOf(map: Map<string, ModelStats>, a: Attempt): ModelStats {
  const model = a.model ?? "default";
  let m = map.get(model);
  if (!m) map.set(model, (m = { model, attempts: 0, ok: 0, failures: {}, running: 0, escalations: 0, tokens: 0, costUsd: 0 }));
  return m;
}

function roleOf(map: Map<string, RoleStats & { attempts: number; started: number }>, run: RunRecord) {
  const role = run.spec.role ?? NO_ROLE;
  let r = map.get(role);
  if (!r) map.set(role, (r = { role, runs: 0, judged: 0, firstRungOk: 0, firstRungSuccessRate: null, meanAttempts: null, tokens: 0, costUsd: 0, attempts: 0, started: 0 }));
  return r;
}

function countAttempt(m: ModelStats, a: Attempt): void {
  m.attempts++;
  m.tokens += a.tokens;
  m.costUsd += a.costUsd;
  if (a.outcome === undefined) m.running++;
  else if (a.outcome === "ok") m.ok++;
  else m.failures[a.outcome] = (m.failures[a.outcome] ?? 0) + 1;
  if (a.nextModel !== undefined && a.nextModel !== a.model) m.escalations++;
}

function countRun(r: RoleStats & { attempts: number; started: number }, run: RunRecord): void {
  r.runs++;
  if (run.attempts.length) r.started++;
  r.attempts += run.attempts.length;
  for (const a of run.attempts) {
    r.tokens += a.tokens;
    r.costUsd += a.costUsd;
  }
  const verdict = startVerdict(run);
  if (!verdict) return;
  r.judged++;
  if (!verdict.failed) r.firstRungOk++;
}

/** The batches in scope, oldest first. */
function batchesOf(store: BatchStore, agentId: string | undefined, from: number | undefined): BatchRecord[] {
  return store
    .list(MAX_BATCHES, agentId)
    .filter((s) => from === undefined || s.createdAt >= from)
    .flatMap((s) => store.load(s.batchId) ?? [])
    .reverse();
}

export function statsView(store: BatchStore, options: StatsOptions = {}) {
  const now = options.now ?? Date.now();
  const from = parseSince(options.since, now);
  const models = new Map<string, ModelStats>();
  const roles = new Map<string, RoleStats & { attempts: number; started: number }>();
  const totals = { batches: 0, runs: 0, attempts: 0, tokens: 0, costUsd: 0, baselineCostUsd: 0, savedUsd: 0, savedPct: null as number | null, baselineModels: [] as string[] };
  const baselineModels = new Set<string>();
  for (const batch of batchesOf(store, options.agentId, from)) {
    totals.batches++;
    for (const run of batch.runs) {
      totals.runs++;
      countRun(roleOf(roles, run), run);
      for (const a of run.attempts) {
        countAttempt(modelOf(models, a), a);
        totals.attempts++;
        totals.tokens += a.tokens;
        totals.costUsd += a.costUsd;
      }
    }
    const baseline = batchBaseline(batch);
    totals.baselineCostUsd += baseline.costUsd;
    if (baseline.model) baselineModels.add(baseline.model);
  }
  totals.costUsd = roundUsd(totals.costUsd);
  totals.baselineCostUsd = roundUsd(totals.baselineCostUsd);
  totals.savedUsd = roundUsd(totals.baselineCostUsd - totals.costUsd);
  totals.savedPct = totals.baselineCostUsd > 0 ? Math.round((totals.savedUsd / totals.baselineCostUsd) * 1000) / 10 : null;
  totals.baselineModels = [...baselineModels];
  return {
    scope: { agentId: options.agentId ?? null, since: from === undefined ? null : new Date(from).toISOString() },
    models: [...models.values()].map((m) => ({ ...m, costUsd: roundUsd(m.costUsd) })).sort((a, b) => b.attempts - a.attempts || a.model.localeCompare(b.model)),
    roles: [...roles.values()]
      .map(({ attempts, started, ...r }) => ({
        ...r,
        firstRungSuccessRate: r.judged ? Math.round((r.firstRungOk / r.judged) * 1000) / 1000 : null,
        meanAttempts: started ? Math.round((attempts / started) * 100) / 100 : null,
        costUsd: roundUsd(r.costUsd),
      }))
      .sort((a, b) => b.runs - a.runs || a.role.localeCompare(b.role)),
    totals,
    learnedStarts: options.adaptiveLadder === false ? [] : learnedStarts(store, options.agentId).map((l: AgentLearnedStart) => ({ ...l, note: learnedNote(l) })),
  };
}

export type StatsView = ReturnType<typeof statsView>;
