// A cost cap needs prices: `budget.maxCostUsd` on models priced nowhere could never fire, so such a
// call is refused up front, naming the models and the config key that prices them.
import { firstModel } from "../batch/policy.js";
import type { BatchOptions, RunRecord } from "../batch/types.js";
import { type Prices, priceOf } from "./prices.js";

/** The models of `models` without a price; `undefined` (the agent's default) as `defaultModel` or "the agent's default model". */
export function unpricedModels(models: Array<string | undefined>, prices: Prices, defaultModel?: string): string[] {
  const missing = new Set<string>();
  for (const m of models) {
    const model = m ?? defaultModel;
    if (!priceOf(model, prices)) missing.add(model ?? "the agent's default model");
  }
  return [...missing];
}

/** Every model the runs may use: each run's first model, and the rungs above it when it may escalate. */
export function modelsToRun(runs: RunRecord[], options: BatchOptions): Array<string | undefined> {
  const climbs = options.escalate && options.retries > 0;
  return runs.flatMap((run) => {
    const first = firstModel(run, options);
    if (!climbs || first === undefined) return [first];
    const at = options.ladder.indexOf(first);
    return [first, ...(at < 0 ? options.ladder.slice(-1) : options.ladder.slice(at + 1))];
  });
}

/** Why the batch's cost cap cannot hold (a model it may run has no price), or undefined: no cap, or every model priced. */
export function costCapRefusal(runs: RunRecord[], options: BatchOptions): string | undefined {
  if (options.budget.maxCostUsd === undefined) return undefined;
  return unpricedRefusal(modelsToRun(runs, options), options.prices, options.defaultModel);
}

/** Why a cost cap cannot hold on these models, or undefined when every one has a price. */
export function unpricedRefusal(models: Array<string | undefined>, prices: Prices, defaultModel?: string): string | undefined {
  const missing = unpricedModels(models, prices, defaultModel);
  if (!missing.length) return undefined;
  const example = JSON.stringify({ [missing[0].includes("/") ? missing[0] : "provider/model"]: { input: 1, output: 5 } });
  return (
    `budget.maxCostUsd cannot be enforced: no price for ${missing.join(", ")} (not in the plugin's prices, ` +
    `nor in the gateway's model table models.providers.<id>.models[].cost). ` +
    `Add ${missing.length === 1 ? "it" : "them"} to plugins.entries.parallel-agents.config.prices in USD per million tokens, e.g. ${example}, or cap with budget.maxTokens instead`
  );
}
