// A cost cap needs prices: `budget.maxCostUsd` on models priced nowhere could never fire, so such a
// call is refused up front, naming the models and the config key that prices them.
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

/** Why a cost cap cannot hold on these models, or undefined when every one has a price. */
export function costCapRefusal(models: Array<string | undefined>, prices: Prices, defaultModel?: string): string | undefined {
  const missing = unpricedModels(models, prices, defaultModel);
  if (!missing.length) return undefined;
  const example = JSON.stringify({ [missing[0].includes("/") ? missing[0] : "provider/model"]: { input: 1, output: 5 } });
  return (
    `budget.maxCostUsd cannot be enforced: no price for ${missing.join(", ")} (not in the plugin's prices, ` +
    `nor in the gateway's model table models.providers.<id>.models[].cost). ` +
    `Add ${missing.length === 1 ? "it" : "them"} to plugins.entries.parallel-agents.config.prices in USD per million tokens, e.g. ${example}, or cap with budget.maxTokens instead`
  );
}
