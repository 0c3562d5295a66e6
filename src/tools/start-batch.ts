// Creates a batch: options from call + config, a pre-spawn cost estimate, the budget check
// (refuse before spending anything), then the ledger record.
import { randomBytes } from "node:crypto";
import { MODEL_OVERRIDE_HINT } from "../config.js";
import type { BatchRunner } from "../orchestrator/batch-runner.js";
import { BudgetGuard, estimateBatch } from "../orchestrator/cost.js";
import { firstModel } from "../orchestrator/policy.js";
import type { BatchOptions, BatchRecord, RunRecord, RunSpec } from "../orchestrator/types.js";
import type { PluginServices, ToolCallContext } from "./context.js";
import { ToolInputError } from "../errors.js";

export interface BatchCallOptions {
  maxConcurrency?: number;
  retries?: number;
  escalate?: boolean;
  ladder?: string[];
  budget?: { maxTokens?: number; maxCostUsd?: number };
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

export function startBatch(
  tool: string,
  specs: RunSpec[],
  options: BatchOptions,
  services: PluginServices,
  ctx: ToolCallContext,
  depth: number,
): { runner: BatchRunner; estimate: { tokens: number; costUsd: number } } {
  const runs: RunRecord[] = specs.map((spec) => ({ spec, state: "queued", attempts: [] }));
  const estimate = estimateBatch(
    runs.map((r) => ({ promptChars: r.spec.prompt.length, model: firstModel(r, options) })),
    { prices: options.prices, defaultModel: options.ladder[0] },
  );
  const refusal = new BudgetGuard(options.budget).wouldExceed(estimate);
  if (refusal) throw new ToolInputError(`${tool} refused before starting anything: ${refusal}. Raise budget.maxTokens / budget.maxCostUsd or send fewer tasks.`);
  const notes: string[] = [];
  if (!options.modelOverride) {
    const pinned = specs.some((s) => s.model);
    notes.push(pinned ? `model pins were not applied; ${MODEL_OVERRIDE_HINT}` : MODEL_OVERRIDE_HINT);
  }
  const batch: BatchRecord = {
    batchId: newBatchId(),
    createdAt: Date.now(),
    owner: "",
    requester: ctx.sessionKey ?? "unknown",
    agentId: ctx.agentId ?? agentIdOf(ctx.sessionKey),
    depth,
    options,
    runs,
    notes,
  };
  return { runner: services.store().create(batch), estimate };
}

function agentIdOf(sessionKey: string | undefined): string {
  return /^agent:([^:]+):/.exec(sessionKey ?? "")?.[1] ?? "main";
}
