// Creates a batch from a tool call: options from call + config, a pre-spawn cost estimate, the
// budget check (refuse before spending anything), then hands it to the engine.
import { randomBytes } from "node:crypto";
import { MODEL_OVERRIDE_HINT } from "../config.js";
import type { Engine } from "../engine/engine.js";
import { checkPin, ladderNote, pinRefusal, resolveLadder, startingRung } from "../models/ladder.js";
import { BudgetGuard, estimateBatch } from "../orchestrator/cost.js";
import { firstModel } from "../orchestrator/policy.js";
import type { BatchOptions, BatchRecord, ResearchWorkflow, RunRecord, RunSpec } from "../orchestrator/types.js";
import { ToolInputError } from "../errors.js";
import { type PluginServices, type ToolCallContext, callerAgent } from "./context.js";

export interface BatchCallOptions {
  maxConcurrency?: number;
  retries?: number;
  escalate?: boolean;
  ladder?: string[];
  budget?: { maxTokens?: number; maxCostUsd?: number };
  notify?: boolean;
}

export function batchOptions(p: BatchCallOptions, services: PluginServices): BatchOptions {
  const c = services.config;
  return {
    maxConcurrency: p.maxConcurrency ?? c.maxConcurrency,
    retries: p.retries ?? c.retries,
    escalate: p.escalate ?? true,
    ladder: p.ladder ?? c.ladder,
    modelOverride: c.modelOverride,
    budget: p.budget ?? c.budget,
    prices: c.prices,
  };
}

export function newBatchId(): string {
  return `pa-${Date.now().toString(36)}-${randomBytes(4).toString("hex")}`;
}

export interface NewBatch {
  tool: string;
  specs: RunSpec[];
  call: BatchCallOptions;
  ctx: ToolCallContext;
  depth: number;
  workflow?: ResearchWorkflow;
}

/**
 * Records the batch and hands it to the engine. Returns the call's hold on it (taken before
 * the batch can end) and the estimate.
 */
/**
 * The ladder as this gateway can run it: unusable rungs skipped (with a note naming each and why),
 * each role's tier mapped onto the usable rungs, and an unusable pinned model refused up front.
 */
function resolveModels(tool: string, specs: RunSpec[], options: BatchOptions, services: PluginServices, notes: string[]): RunSpec[] {
  const host = services.models?.();
  if (!options.modelOverride || !host) return specs;
  const configured = options.ladder;
  const { usable, skipped } = resolveLadder({ ladder: configured, host });
  const note = ladderNote({ usable, skipped });
  if (note) notes.push(note);
  options.ladder = usable;
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

export function submitBatch(engine: Engine, services: PluginServices, b: NewBatch): { batch: BatchRecord; release: () => void; estimate: { tokens: number; costUsd: number } } {
  const options = batchOptions(b.call, services);
  const notes: string[] = [];
  const specs = resolveModels(b.tool, b.specs, options, services, notes);
  const runs: RunRecord[] = specs.map((spec) => ({ spec, state: "queued", attempts: [] }));
  const estimate = estimateBatch(
    runs.map((r) => ({ promptChars: r.spec.prompt.length, model: firstModel(r, options) })),
    { prices: options.prices, defaultModel: options.ladder[0] },
  );
  const refusal = new BudgetGuard(options.budget).wouldExceed(estimate);
  if (refusal) throw new ToolInputError(`${b.tool} refused before starting anything: ${refusal}. Raise budget.maxTokens / budget.maxCostUsd or send fewer tasks.`);
  if (!options.modelOverride) {
    const pinned = b.specs.some((s) => s.model);
    notes.push(pinned ? `model pins were not applied; ${MODEL_OVERRIDE_HINT}` : MODEL_OVERRIDE_HINT);
  }
  const batch: BatchRecord = {
    batchId: newBatchId(),
    createdAt: Date.now(),
    owner: "",
    requester: b.ctx.sessionKey ?? "unknown",
    agentId: callerAgent(b.ctx),
    depth: b.depth,
    options,
    runs,
    notes,
    notify: (b.call.notify ?? services.config.notify === "auto") && Boolean(b.ctx.sessionKey),
    ...(b.workflow ? { workflow: b.workflow } : {}),
  };
  const release = engine.hold(batch.batchId);
  engine.submit(batch);
  return { batch, release, estimate };
}
