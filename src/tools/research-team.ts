// research_team: one researcher per topic (and lens) returning schema-checked JSON, then one
// synthesis over the validated results, as one batch the engine runs (one budget for the call).
import type { Static } from "@sinclair/typebox";
import { ToolInputError } from "../errors.js";
import type { RunSpec } from "../batch/types.js";
import type { Registry } from "../roles/registry.js";
import { type PluginServices, type ToolCallContext, engineFor, fanOut } from "./context.js";
import { SYNTHESIS_LABEL, researchDetails, researchText } from "./research-view.js";
import { laneLabel, lensKey, lensSlugs } from "./research-lanes.js";
import { buildRunSpecs, submitBatch } from "./batch.js";
import { ResearchSchema, validateParams } from "./schemas.js";
import { type OnUpdate, waitBudgetMs, waitForBatch } from "./wait.js";

type ResearchParams = Static<typeof ResearchSchema>;

/** Lenses as given, refused when one repeats another (the same lens twice is the same lane twice). */
function checkLenses(lenses: string[] | undefined): void {
  const first = new Map<string, number>();
  lenses?.forEach((lens, j) => {
    const k = first.get(lensKey(lens));
    if (k !== undefined) throw new ToolInputError(`research_team: lenses.${j}: "${lens}" repeats lenses.${k}; give each lens once`);
    first.set(lensKey(lens), j);
  });
}

/** Topics × lenses (plus the synthesis) must fit maxTasks: checked before anything starts. */
function checkSize(p: ResearchParams, maxTasks: number): void {
  const lenses = p.lenses?.length ?? 1;
  const runs = p.topics.length * lenses + (p.synthesize === false ? 0 : 1);
  if (runs <= maxTasks) return;
  const shape = `${p.topics.length} topic${p.topics.length === 1 ? "" : "s"} × ${lenses} lens${lenses === 1 ? "" : "es"}${p.synthesize === false ? "" : " + 1 synthesis"}`;
  throw new ToolInputError(
    `research_team: topics × lenses is ${shape} = ${runs} runs, more than maxTasks (${maxTasks}); send fewer topics or lenses, or raise plugins.entries.parallel-agents.config.maxTasks`,
  );
}

/** Topics × lenses. A lens that names a registry role runs that role; otherwise it is the researcher's `lens` var. */
function lanes(p: ResearchParams, registry: Registry) {
  const lenses = p.lenses ?? [undefined];
  const slugs = p.lenses ? lensSlugs(p.lenses, p.topics.length) : [undefined];
  return p.topics.flatMap((topic, i) =>
    lenses.map((lens, j) => {
      const role = lens && registry.roleNames().includes(lens) ? lens : "researcher";
      const vars: Record<string, string> = { topic, ...(p.brief ? { brief: p.brief } : {}) };
      if (lens && role === "researcher") vars.lens = lens;
      return { topic, lens, role, vars, label: laneLabel(i, slugs[j]) };
    }),
  );
}

function laneSpecs(p: ResearchParams, registry: Registry, services: PluginServices, list: ReturnType<typeof lanes>): RunSpec[] {
  const schema = (p.outputSchema as object | undefined) ?? registry.schema("#research-result");
  return list.map((l, i) => {
    try {
      return buildRunSpecs("research_team", [{ role: l.role, vars: l.vars, label: l.label, model: p.model, outputSchema: schema }], registry, services.config, p.timeoutSeconds)[0];
    } catch (err) {
      const why = err instanceof Error ? err.message.replace(/^research_team: tasks\.0[.:]?\s*/, "") : String(err);
      const at = l.lens === l.role ? `lenses.${p.lenses!.indexOf(l.lens)}: lens "${l.lens}" names the role "${l.role}", which cannot research a topic` : `topics.${Math.floor(i / (p.lenses?.length ?? 1))}`;
      throw new ToolInputError(`research_team: ${at}: ${why}`);
    }
  });
}

export const researchTeamTool = (services: PluginServices, ctx: ToolCallContext) => ({
  name: "research_team",
  label: "Research team",
  description:
    "Research several topics in parallel (one researcher per topic, optional lenses), each returning validated JSON, then synthesise them into one answer that names every failed lane. Waits (bounded, or waitSeconds: 0 to return at once and be told when it ends).",
  parameters: ResearchSchema,
  catalogMode: "direct-only" as const,
  async execute(_id: string, raw: unknown, signal?: AbortSignal, onUpdate?: OnUpdate) {
    const p = validateParams("research_team", ResearchSchema, raw);
    const { depth, registry } = fanOut("research_team", ctx, services);
    checkLenses(p.lenses);
    checkSize(p, services.config.maxTasks);
    const list = lanes(p, registry);
    const specs = laneSpecs(p, registry, services, list);
    if (p.synthesize !== false) {
      // Rendered now to check the role; rendered again with the lanes' results when they are done.
      const [synthesis] = buildRunSpecs("research_team", [{ role: "synthesizer", vars: { results: "[]", failed: "[]" }, label: SYNTHESIS_LABEL }], registry, services.config, p.timeoutSeconds);
      specs.push({ ...synthesis, gate: "lanes" });
    }
    const workflow = { kind: "research" as const, ...(p.brief ? { brief: p.brief } : {}), lanes: list.map(({ topic, lens, label }) => ({ topic, label, ...(lens ? { lens } : {}) })) };
    const engine = engineFor("research_team");
    const { batch, release } = submitBatch(engine, services, { tool: "research_team", specs, call: p, ctx, depth, workflow });
    const done = await waitForBatch(engine, batch.batchId, waitBudgetMs(p.waitSeconds, 300, p.timeoutMs), release, signal, onUpdate);
    const details = researchDetails(done);
    return { content: [{ type: "text" as const, text: researchText(done) }], details };
  },
});
