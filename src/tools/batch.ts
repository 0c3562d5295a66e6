// A tool call becomes a batch: tasks (or a team preset) -> run specs (roles rendered, labels unique,
// output schemas compiled up front) -> the ladder as this gateway can run it -> a pre-spawn cost
// estimate and budget check (refuse before spending anything) -> the batch record, handed to the engine.
import { randomBytes } from "node:crypto";
import type { Static } from "@sinclair/typebox";
import { MODEL_OVERRIDE_HINT, type PluginConfig } from "../config.js";
import type { Engine } from "../engine/engine.js";
import { ToolInputError } from "../errors.js";
import { checkPin, ladderNote, pinRefusal, resolveLadder, startingRung } from "../models/ladder.js";
import { BudgetGuard, estimateBatch } from "../batch/cost.js";
import { costCapRefusal } from "../pricing/index.js";
import { compileContract } from "../batch/json-contract.js";
import { firstModel } from "../batch/policy.js";
import type { BatchOptions, BatchRecord, ResearchWorkflow, RunRecord, RunSpec } from "../batch/types.js";
import type { Registry } from "../roles/registry.js";
import { learnStarts } from "../ladder-learning/index.js";
import { type PluginServices, type ToolCallContext, callerAgent, requesterOf } from "./context.js";
import type { SpawnSchema, TaskSchema } from "./schemas.js";

type TaskInput = Static<typeof TaskSchema>;

/** parallel_spawn's tasks: the team's members first, then the listed tasks. */
export function collectTasks(p: Static<typeof SpawnSchema>, registry: Registry): TaskInput[] {
  const team = p.team ? wrap("parallel_spawn", () => registry.expandTeam(p.team!, p.vars ?? {})) : [];
  if (!p.team && p.vars) throw new ToolInputError(`parallel_spawn: top-level "vars" go with "team"; put a task's vars inside that task`);
  const tasks = [...team, ...(p.tasks ?? [])];
  if (tasks.length === 0) {
    throw new ToolInputError(`parallel_spawn: give "tasks" (1 or more) or a "team" (one of: ${registry.teamNames().join(", ")})`);
  }
  return tasks;
}

export function buildRunSpecs(tool: string, tasks: TaskInput[], registry: Registry, config: PluginConfig, timeoutSeconds?: number): RunSpec[] {
  if (tasks.length > config.maxTasks) {
    throw new ToolInputError(
      `${tool}: ${tasks.length} tasks is more than maxTasks (${config.maxTasks}); split the work or raise plugins.entries.parallel-agents.config.maxTasks`,
    );
  }
  const seen = new Set<string>();
  return tasks.map((t, i) => {
    const at = `${tool}: tasks.${i}`;
    const label = t.label ?? `agent-${i + 1}`;
    if (seen.has(label)) throw new ToolInputError(`${at}.label: "${label}" is used twice; labels must be unique in a batch`);
    seen.add(label);
    if (t.task !== undefined && !t.task.trim()) throw new ToolInputError(`${at}.task: is blank; give the instruction for this sub-agent, or drop "task" and use "role"`);
    if (!t.task && !t.role) throw new ToolInputError(`${at}: give "task" (an instruction) or "role" (one of: ${registry.roleNames().join(", ")})`);
    if (t.vars && !t.role) throw new ToolInputError(`${at}.vars: vars fill a role's template; add "role" or drop "vars"`);
    let prompt = t.task ?? "";
    let tier = 0;
    let tools = true;
    let outputSchema = t.outputSchema as object | undefined;
    // The caller's schema is checked once (size, depth, JSON Schema) before the renderer or the prompt
    // touch it, and from then on its checked copy is used; a role's own schema was checked when the registry loaded.
    if (outputSchema) outputSchema = wrap(`${at}.outputSchema`, () => compileContract(outputSchema!)).schema;
    if (t.role) {
      const rendered = wrap(at, () => registry.render(t.role!, { vars: t.vars ?? {}, task: t.task, outputSchema }));
      prompt = rendered.prompt;
      tier = rendered.tier;
      tools = rendered.tools;
      outputSchema ??= rendered.outputSchema;
    } else if (outputSchema) {
      prompt = `${prompt}\n\nReply with only a JSON value matching this JSON Schema, no prose:\n${JSON.stringify(outputSchema)}`;
    }
    // The task's own choice wins over its role's declaration (a reviewer given file paths needs tools).
    const surface = { prompt: t.childPrompt ?? config.childPrompt, tools: t.tools ?? tools };
    return { label, prompt, role: t.role, model: t.model, tier, timeoutSeconds: t.timeoutSeconds ?? timeoutSeconds ?? config.defaultTimeoutSeconds, outputSchema, surface };
  });
}

function wrap<T>(at: string, body: () => T): T {
  try {
    return body();
  } catch (err) {
    throw new ToolInputError(`${at}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The batch options a call may set (the rest come from the plugin config). */
type BatchCall = Pick<Static<typeof SpawnSchema>, "maxConcurrency" | "retries" | "escalate" | "ladder" | "budget" | "notify" | "adaptive">;

export interface NewBatch {
  tool: string;
  specs: RunSpec[];
  call: BatchCall;
  ctx: ToolCallContext;
  depth: number;
  workflow?: ResearchWorkflow;
}

/** The ladder as this gateway runs it: unusable rungs skipped (noted), tiers mapped onto the rest, unusable pins refused. */
function resolveModels(tool: string, specs: RunSpec[], options: BatchOptions, services: PluginServices, notes: string[], ctx: ToolCallContext): RunSpec[] {
  const host = services.models?.({ agentId: callerAgent(ctx), agentDir: ctx.agentDir }); // that agent's model policy and auth profiles
  if (!options.modelOverride || !host) return specs;
  const configured = options.ladder;
  const resolution = resolveLadder({ ladder: configured, host });
  const { usable } = resolution;
  options.ladder = usable;
  const note = ladderNote(resolution);
  if (note) notes.push(note);
  return specs.map((spec, i) => {
    if (spec.model) {
      const pin = checkPin(spec.model, host);
      if (!pin.ok) throw new ToolInputError(`${tool}: tasks.${i}.model: ${pinRefusal(spec.model, pin.why, usable)}`);
      return spec;
    }
    const start = startingRung(spec.tier, configured, usable);
    return { ...spec, tier: start === undefined ? 0 : usable.indexOf(start) };
  });
}

/** Records the batch and hands it to the engine. Returns the call's hold on it (taken before the batch can end) and the estimate. */
export function submitBatch(engine: Engine, services: PluginServices, b: NewBatch) {
  const c = services.config;
  const { maxConcurrency = c.maxConcurrency, retries = c.retries, escalate = true, ladder = c.ladder, budget = c.budget } = b.call;
  const defaultModel = services.defaultModel?.(callerAgent(b.ctx));
  const options: BatchOptions = { maxConcurrency, retries, escalate, ladder, modelOverride: c.modelOverride, budget, prices: c.prices, ...(defaultModel ? { defaultModel } : {}) };
  const notes: string[] = [];
  const agentId = callerAgent(b.ctx);
  const learning = learnStarts(resolveModels(b.tool, b.specs, options, services, notes, b.ctx), options, {
    store: engine.store, agentId, configured: c.adaptiveLadder, call: b.call.adaptive, explicitLadder: b.call.ladder !== undefined, random: services.random,
  });
  const specs = learning.specs;
  notes.push(...learning.notes);
  const runs: RunRecord[] = specs.map((spec) => ({ spec, state: "queued", attempts: [] }));
  const estimate = estimateBatch(
    runs.map((r) => ({ promptChars: r.spec.prompt.length, model: firstModel(r, options) })),
    { prices: options.prices, defaultModel: options.defaultModel },
  );
  const unpriced = costCapRefusal(runs, options);
  if (unpriced) throw new ToolInputError(`${b.tool}: ${unpriced}`);
  const refusal = new BudgetGuard(options.budget).wouldExceed(estimate);
  if (refusal) throw new ToolInputError(`${b.tool} refused before starting anything: ${refusal}. Raise budget.maxTokens / budget.maxCostUsd or send fewer tasks.`);
  const pinned = b.specs.some((s) => s.model);
  if (!options.modelOverride) notes.push(pinned ? `model pins were not applied; ${MODEL_OVERRIDE_HINT}` : MODEL_OVERRIDE_HINT);
  const batch: BatchRecord = {
    batchId: `pa-${Date.now().toString(36)}-${randomBytes(4).toString("hex")}`,
    createdAt: Date.now(),
    owner: "",
    requester: requesterOf(b.ctx),
    agentId,
    depth: b.depth,
    options,
    runs,
    notes,
    notify: (b.call.notify ?? c.notify === "auto") && Boolean(b.ctx.sessionKey),
    ...(b.workflow ? { workflow: b.workflow } : {}),
  };
  engine.submit(batch);
  // Same tick as submit: the batch's loop has not run yet, so it cannot end before this hold.
  const release = engine.hold(batch.batchId, batch.requester);
  return { batch, release, estimate };
}
