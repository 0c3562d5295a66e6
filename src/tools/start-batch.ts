// Creates a batch from a tool call: options from call + config, a pre-spawn cost estimate, the
// budget check (refuse before spending anything), then hands it to the engine.
import { randomBytes } from "node:crypto";
import { MODEL_OVERRIDE_HINT } from "../config.js";
import type { Engine } from "../engine/engine.js";
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
export function submitBatch(engine: Engine, services: PluginServices, b: NewBatch): { batch: BatchRecord; release: () => void; estimate: { tokens: number; costUsd: number } } {
  const options = batchOptions(b.call, services);
  const runs: RunRecord[] = b.specs.map((spec) => ({ spec, state: "queued", attempts: [] }));
  const estimate = estimateBatch(
    runs.map((r) => ({ promptChars: r.spec.prompt.length, model: firstModel(r, options) })),
    { prices: options.prices, defaultModel: options.ladder[0] },
  );
  const refusal = new BudgetGuard(options.budget).wouldExceed(estimate);
  if (refusal) throw new ToolInputError(`${b.tool} refused before starting anything: ${refusal}. Raise budget.maxTokens / budget.maxCostUsd or send fewer tasks.`);
  const notes: string[] = [];
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
