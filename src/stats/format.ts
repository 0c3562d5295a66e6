// `openclaw parallel-agents stats` and `/parallel-agents stats` as tables (--json prints the view).
import { fmtUsd } from "../batch/cost.js";
import { table } from "../cli/format.js";
import type { StatsView } from "./view.js";

const pct = (rate: number | null) => (rate === null ? "-" : `${Math.round(rate * 100)}%`);
const failures = (f: Record<string, number>) =>
  Object.entries(f)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n}`)
    .join(", ") || "-";

export function formatStats(v: StatsView & { source?: string }): string {
  const t = v.totals;
  const scope = [v.scope.agentId ? `agent ${v.scope.agentId}` : "all agents", v.scope.since ? `since ${v.scope.since}` : "all stored batches"].join(", ");
  const saved = t.savedPct === null ? "no priced baseline" : `saved ${fmtUsd(t.savedUsd)} (${t.savedPct}%) against all on ${t.baselineModels.join(", ")} (${fmtUsd(t.baselineCostUsd)})`;
  const lines = [
    `parallel-agents stats (${scope}${v.source ? `; from ${v.source}` : ""})`,
    `${t.batches} batches, ${t.runs} runs, ${t.attempts} attempts, ${t.tokens} tokens, ${fmtUsd(t.costUsd)}; ${saved}`,
  ];
  if (!t.attempts) return [...lines, "No attempts yet."].join("\n");
  lines.push(
    "",
    table(
      ["MODEL", "ATTEMPTS", "OK", "FAILURES", "ESCALATED AWAY", "TOKENS", "COST"],
      v.models.map((m) => [m.model, String(m.attempts), String(m.ok), failures(m.failures), String(m.escalations), String(m.tokens), fmtUsd(m.costUsd)]),
    ),
    "",
    table(
      ["ROLE", "RUNS", "FIRST RUNG OK", "MEAN ATTEMPTS", "TOKENS", "COST"],
      v.roles.map((r) => [r.role, String(r.runs), `${pct(r.firstRungSuccessRate)} (${r.firstRungOk}/${r.judged})`, r.meanAttempts === null ? "-" : String(r.meanAttempts), String(r.tokens), fmtUsd(r.costUsd)]),
    ),
  );
  lines.push("", v.learnedStarts.length ? "Learned starts (adaptive ladder):" : "Learned starts: none");
  for (const l of v.learnedStarts) lines.push(`  ${v.scope.agentId ? "" : `[${l.agentId}] `}${l.note}`);
  return lines.join("\n");
}
