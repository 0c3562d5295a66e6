// research_team: one researcher per topic (and lens) returning schema-checked JSON, then one
// synthesis run whose input is the validated results, as data, plus every failed or missing
// lane by name. Two ledgered batches; the synthesis runs even when lanes failed.
import type { Static } from "@sinclair/typebox";
import type { BatchRunner } from "../orchestrator/batch-runner.js";
import type { Registry } from "../roles/registry.js";
import { ResearchResult } from "../roles/research-schema.js";
import { assertMayFanOut, type PluginServices, type ToolCallContext, withGatewayHint } from "./context.js";
import { driveWithProgress, type OnUpdate, waitBudgetMs } from "./drive.js";
import { fence, runView } from "./render-result.js";
import { buildRunSpecs } from "./run-specs.js";
import { ResearchSchema } from "./schemas.js";
import { batchOptions, startBatch } from "./start-batch.js";
import { validateParams } from "./validate.js";

type ResearchParams = Static<typeof ResearchSchema>;
interface Lane { topic: string; lens?: string; label: string }

/** Topics × lenses. A lens that names a registry role runs that role; otherwise it is the researcher's `lens` var. */
function lanes(p: ResearchParams, registry: Registry) {
  const lenses = p.lenses ?? [undefined];
  const list: (Lane & { role: string; vars: Record<string, string> })[] = [];
  p.topics.forEach((topic, i) => {
    for (const lens of lenses) {
      const role = lens && registry.roleNames().includes(lens) ? lens : "researcher";
      const vars: Record<string, string> = { topic, ...(p.brief ? { brief: p.brief } : {}) };
      if (lens && role === "researcher") vars.lens = lens;
      list.push({ topic, lens, label: `topic-${i + 1}${lens ? `-${lens.replace(/[^A-Za-z0-9._-]/g, "")}` : ""}`, role, vars });
    }
  });
  return list;
}

export const researchTeamTool = (services: PluginServices, ctx: ToolCallContext) => ({
  name: "research_team",
  label: "Research team",
  description:
    "Research several topics in parallel (one researcher per topic, optional lenses), each returning validated JSON, then synthesise them into one answer that names every failed lane. Waits (bounded) and returns everything.",
  parameters: ResearchSchema,
  catalogMode: "direct-only" as const,
  async execute(_id: string, raw: unknown, signal?: AbortSignal, onUpdate?: OnUpdate) {
    const p = validateParams("research_team", ResearchSchema, raw);
    const depth = assertMayFanOut("research_team", ctx, services.config);
    const registry = services.registry();
    const laneList = lanes(p, registry);
    const schema = (p.outputSchema as object | undefined) ?? (ResearchResult as object);
    const tasks = laneList.map((l) => ({ role: l.role, vars: l.vars, label: l.label, model: p.model, outputSchema: schema }));
    const specs = buildRunSpecs("research_team", tasks, registry, services.config, p.timeoutSeconds);
    const options = batchOptions(p, services);
    const waitUntil = Date.now() + waitBudgetMs(p.waitSeconds, 300, p.timeoutMs);

    return withGatewayHint("research_team", async () => {
      const { runner } = startBatch("research_team", specs, options, services, ctx, depth);
      await driveWithProgress(runner, Math.max(0, waitUntil - Date.now()), signal, onUpdate);
      const results = runner.batch.runs.map((run, i) => ({
        topic: laneList[i].topic,
        ...(laneList[i].lens ? { lens: laneList[i].lens } : {}),
        label: run.spec.label,
        state: run.state,
        data: run.json ?? null,
        model: runView(run).model,
        attempts: runView(run).attempts,
        ...(run.error ? { error: run.error } : {}),
      }));
      const failed = results.filter((r) => r.state !== "ok").map(({ topic, label, state, error }) => ({ topic, label, state, error: error ?? (state === "running" || state === "queued" ? "still running when the research team stopped waiting" : undefined) }));
      const synthesis = p.synthesize === false ? undefined : await synthesise(p, results, failed, services, ctx, depth, waitUntil, signal, onUpdate);
      const details = {
        batchId: runner.batch.batchId,
        complete: runner.complete && (!synthesis || synthesis.runner.complete),
        results,
        ...(synthesis ? { synthesis: synthesis.view, synthesisBatchId: synthesis.runner.batch.batchId } : {}),
        failed,
        usage: sumUsage([runner, synthesis?.runner]),
      };
      return { content: [{ type: "text" as const, text: researchText(details, runner) }], details };
    });
  },
});

async function synthesise(
  p: ResearchParams,
  results: { label: string; topic: string; state: string; data: unknown }[],
  failed: object[],
  services: PluginServices,
  ctx: ToolCallContext,
  depth: number,
  waitUntil: number,
  signal?: AbortSignal,
  onUpdate?: OnUpdate,
) {
  const good = results.filter((r) => r.state === "ok").map(({ label, topic, data }) => ({ label, topic, data }));
  const vars = { results: JSON.stringify(good), failed: JSON.stringify(failed), ...(p.brief ? { brief: p.brief } : {}) };
  const registry = services.registry();
  const specs = buildRunSpecs("research_team", [{ role: "synthesizer", vars, label: "synthesis" }], registry, services.config, p.timeoutSeconds);
  const { runner } = startBatch("research_team", specs, batchOptions(p, services), services, ctx, depth);
  // The synthesis gets at least a minute even when the lanes used the whole wait.
  await driveWithProgress(runner, Math.max(60_000, waitUntil - Date.now()), signal, onUpdate);
  const run = runner.batch.runs[0];
  const v = runView(run);
  return { runner, view: { state: run.state, output: v.output, model: v.model, attempts: v.attempts, ...(run.error ? { error: run.error } : {}) } };
}

function sumUsage(runners: (BatchRunner | undefined)[]) {
  let tokens = 0;
  let costUsd = 0;
  for (const r of runners) {
    if (!r) continue;
    tokens += r.totals().tokens;
    costUsd += r.totals().costUsd;
  }
  return { tokens, costUsd: Math.round(costUsd * 1e6) / 1e6 };
}

function researchText(d: { batchId: string; results: { label: string; topic: string; state: string; data: unknown }[]; synthesis?: { state: string; output: string }; failed: { label: string; state: string }[] }, runner: BatchRunner): string {
  const lines = [`Research team ${d.batchId}: ${d.results.filter((r) => r.state === "ok").length}/${d.results.length} lanes ok.`];
  if (d.failed.length) lines.push(`Failed or missing lanes: ${d.failed.map((f) => `${f.label} (${f.state})`).join(", ")}.`);
  for (const n of runner.batch.notes) lines.push(`Note: ${n}`);
  if (d.synthesis) lines.push(`\nSynthesis (${d.synthesis.state}):`, fence("synthesis", d.synthesis.output || "(no synthesis text)"));
  else for (const r of d.results) if (r.state === "ok") lines.push(fence(r.label, JSON.stringify(r.data)));
  if (!runner.complete) lines.push(`\nSome lanes were still running; collect them with poll_until_complete {"batchId":"${d.batchId}"}.`);
  return lines.join("\n");
}
