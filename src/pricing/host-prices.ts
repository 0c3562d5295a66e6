// Prices and default models the gateway's own config declares (openclaw 2026.9.6): the model table
// `models.providers.<id>.models[].cost = { input, output, cacheRead, cacheWrite }` (USD per million
// tokens, docs/gateway/config-tools/custom-providers.md) and the agents' default model
// (`agents.defaults.model`, a ref or `{ primary }`; an agent's own `model` in `agents.list` /
// `agents.entries` wins). `tieredPricing` rows are not read: a run is priced at the flat rates.
// Seen on 2026.9.6: the config plugins get (`api.config`) is the materialized runtime config, where
// every model row has a `cost` and each rate the operator left out is filled with 0. A row of zeros
// is therefore read as "no price" (the host itself does not take default-filled zeros as free usage);
// free local models are priced at 0 through the plugin's `prices`.
import type { Price, Prices } from "./prices.js";

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : undefined);
const rate = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : undefined);

/** The gateway's model table as a price table; models without a `cost` are left out. Never throws. */
export function hostPrices(openclawConfig: unknown): Prices {
  const out: Prices = {};
  try {
    for (const [provider, entry] of Object.entries(obj(obj(obj(openclawConfig)?.models)?.providers) ?? {})) {
      const models = obj(entry)?.models;
      if (!Array.isArray(models)) continue;
      for (const model of models) {
        const id = obj(model)?.id;
        const price = priceFrom(obj(obj(model)?.cost));
        if (typeof id === "string" && id.trim() && price) out[`${provider.trim().toLowerCase()}/${id.trim()}`] = price;
      }
    }
  } catch {
    /* an odd config object (throwing getters): no host prices */
  }
  return out;
}

/** A `cost` row as a price; undefined when it names neither an input nor an output rate, or every rate is 0. */
function priceFrom(cost: Obj | undefined): Price | undefined {
  if (!cost) return undefined;
  const [input, output, cacheRead, cacheWrite] = [cost.input, cost.output, cost.cacheRead, cost.cacheWrite].map(rate);
  if (input === undefined && output === undefined) return undefined;
  if (!input && !output && !cacheRead && !cacheWrite) return undefined; // the host's fill, not a price
  const price: Price = { input: input ?? 0, output: output ?? 0 };
  if (cacheRead !== undefined) price.cacheRead = cacheRead;
  if (cacheWrite !== undefined) price.cacheWrite = cacheWrite;
  return price;
}

/**
 * The price table a batch is costed with: the plugin's `prices` where they name a model, else the
 * gateway's model table, else the plugin's built-in list prices.
 */
export function priceTable(pluginPrices: Prices | undefined, openclawConfig: unknown, builtIn: Prices = {}): Prices {
  return { ...builtIn, ...hostPrices(openclawConfig), ...(pluginPrices ?? {}) };
}

/** The model an agent's runs use when none is pinned: its own `model`, else `agents.defaults.model`. */
export function agentDefaultModel(openclawConfig: unknown, agentId: string | undefined): string | undefined {
  try {
    const agents = obj(obj(openclawConfig)?.agents);
    const listed = Array.isArray(agents?.list) ? agents.list.map(obj).find((a) => a?.id === agentId) : undefined;
    const agent = agentId ? (obj(obj(agents?.entries)?.[agentId]) ?? listed) : undefined;
    return modelRef(agent?.model) ?? modelRef(obj(agents?.defaults)?.model);
  } catch {
    return undefined;
  }
}

const modelRef = (v: unknown): string | undefined => {
  const ref = typeof v === "string" ? v : obj(v)?.primary;
  return typeof ref === "string" && ref.trim() ? ref.trim() : undefined;
};
