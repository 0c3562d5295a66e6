// Human tables for `openclaw parallel-agents …` (the --json forms print the views as they are).
import { capChangeLine } from "../scheduling/host-events.js";
import type { BatchLine, DoctorView, ShowView, StatusView } from "./views.js";
import { usageSummary } from "../pricing/index.js";

export function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("  ").trimEnd();
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

export function age(seconds: number): string {
  if (seconds < 90) return `${seconds}s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)}m`;
  if (seconds < 36 * 3600) return `${Math.round(seconds / 3600)}h`;
  return `${Math.round(seconds / 86400)}d`;
}

const usd = (n: number) => `$${n.toFixed(4)}`;

export function countsText(b: Pick<BatchLine, "counts">): string {
  const c = b.counts;
  const parts = [`${c.ok} ok`];
  if (c.failed) parts.push(`${c.failed} failed`);
  if (c.timedOut) parts.push(`${c.timedOut} timed out`);
  if (c.cancelled) parts.push(`${c.cancelled} cancelled`);
  if (c.running) parts.push(`${c.running} running`);
  if (c.queued) parts.push(`${c.queued} queued`);
  return parts.join(", ");
}

const stateOf = (b: BatchLine) => (b.complete ? (b.open ? "ending" : "done") : "open");

export function formatStatus(v: StatusView & { source: string }): string {
  const head = `parallel-agents: ${v.openCount} open batch${v.openCount === 1 ? "" : "es"}, ${v.batches.length} shown (from ${v.source}; store ${v.store})`;
  if (!v.batches.length) return `${head}\nNo batches yet.`;
  const rows = v.batches.map((b) => [b.batchId, b.agentId, stateOf(b), age(b.ageSeconds), String(b.runs), countsText(b), String(b.tokens), usd(b.costUsd)]);
  return `${head}\n\n${table(["BATCH", "AGENT", "STATE", "AGE", "RUNS", "COUNTS", "TOKENS", "COST"], rows)}`;
}

export function formatShow(v: ShowView & { source?: string }): string {
  const lines = [
    `Batch ${v.batchId} · agent ${v.agentId} · ${stateOf(v as unknown as BatchLine)} · age ${age(v.ageSeconds)} · ${countsText(v)} · ${v.tokens} tokens, ${usd(v.costUsd)}${v.source ? ` (from ${v.source})` : ""}`,
    ...(v.usage ? [`Usage: ${usageSummary(v.usage)}`] : []),
    "",
  ];
  const rows = v.runs.map((r) => [
    r.label,
    r.state,
    r.model,
    r.attempts.length ? r.attempts.map((a, i) => `#${i + 1} ${a.model}: ${a.outcome}${a.reason ? ` (${a.reason})` : ""}`).join("; ") : "-",
    String(r.usage.tokens),
  ]);
  lines.push(table(["LABEL", "STATE", "MODEL", "ATTEMPTS", "TOKENS"], rows));
  for (const r of v.runs) if (r.error) lines.push(`  ${r.label}: ${r.error}`);
  for (const n of v.notes ?? []) lines.push(`Note: ${n}`);
  return lines.join("\n");
}

export function formatCancel(v: { stopped: string[]; batch: ShowView }): string {
  const head = v.stopped.length ? `Stopped ${v.stopped.length} run(s) of ${v.batch.batchId}: ${v.stopped.join(", ")}.` : `Nothing to stop in ${v.batch.batchId}: its runs had already finished.`;
  return `${head}\n\n${formatShow(v.batch)}`;
}

export function formatDoctor(v: DoctorView): string {
  const s = v.store;
  const lines = [
    `parallel-agents doctor (from ${v.source})`,
    `store: ${s.path} — ${s.ok ? `ok (${s.batches} batches, ${s.open} open)` : `NOT OK: ${s.error}`}`,
    "",
    table(["TIER", "MODEL", "USABLE", "WHY NOT"], v.ladder.map((r) => [String(r.tier), r.model, r.usable ? "yes" : "no", r.why ?? ""])),
    "",
    `usable rungs: ${v.usableRungs} of ${v.ladder.length}${v.usableRungs ? "" : " (runs use the agent's default model)"}`,
    `allowModelOverride: ${v.allowModelOverride}${v.allowModelOverride ? "" : " (escalation off: set plugins.entries.parallel-agents.subagent.allowModelOverride: true)"}`,
    `adaptiveLadder: ${v.adaptiveLadder}${v.adaptiveLadder ? "" : " (off: every role starts on its own rung)"}`,
    ...(v.learnedStarts.length ? ["learned starts:", ...v.learnedStarts.map((l) => `  [${l.agentId}] ${l.note}`)] : ["learned starts: none"]),
    `notify: ${v.notify}`,
    `maxConcurrency (plugin): ${v.maxConcurrency}`,
    `host sub-agent limit: ${v.hostSubagentMaxConcurrent.value} (${v.hostSubagentMaxConcurrent.source})`,
    `providerConcurrency: ${Object.entries(v.providerConcurrency).map(([k, n]) => `${k}=${n}`).join(", ") || "(none: caps are learned from rate limits)"}`,
    ...formatSlots(v.providerSlots),
  ];
  return lines.join("\n");
}

function formatSlots(s: DoctorView["providerSlots"]): string[] {
  if (!s) return [];
  const rows = s.providers.map((p) => [p.provider, String(p.cap), String(p.bound), String(p.inFlight)]);
  return [
    "",
    `runs in flight: ${s.inFlight} of ${s.hostMax}`,
    ...(rows.length ? [table(["PROVIDER", "CAP NOW", "BOUND", "IN FLIGHT"], rows)] : []),
    ...s.changes.map((c) => `${new Date(c.at).toISOString()} ${capChangeLine(c)}`),
  ];
}
