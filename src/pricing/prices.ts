// What a model costs and what a run's tokens cost on it. Pure functions over a plain price table
// (USD per million tokens, keyed by `provider/model`), so a batch can store the table it was priced
// with and every figure replays the same from the ledger.
import type { Usage } from "../runtime/port.js";

/** USD per million tokens. A price without cache rates charges cache tokens at the input rate. */
export interface Price {
  input: number;
  output: number;
  cacheRead?: number;
  cacheWrite?: number;
}

export type Prices = Record<string, Price>;

/**
 * The model's price: its exact key, else the same model up to case, a date or `-latest` suffix and
 * dotted versions (`anthropic/claude-haiku-4-5-20251001` costs what `anthropic/claude-haiku-4-5`
 * costs), else the one priced model with the same bare name (transcripts sometimes drop the provider).
 */
export function priceOf(model: string | undefined, prices: Prices): Price | undefined {
  if (!model) return undefined;
  if (Object.hasOwn(prices, model)) return prices[model];
  const want = baseModelId(model);
  const keys = Object.keys(prices);
  const same = keys.find((k) => baseModelId(k) === want);
  if (same !== undefined) return prices[same];
  const bare = bareName(want);
  const matches = keys.filter((k) => bareName(baseModelId(k)) === bare);
  return matches.length === 1 ? prices[matches[0]] : undefined;
}

/** Dates as providers stamp them on model ids: -20251001, -2025-10-01, @20251001. */
const DATED = /[-@](?:\d{8}|\d{4}-\d{2}-\d{2})$/;

/** `provider/model` with the provider and model lower-cased, a date or `-latest` suffix dropped and `4.5` read as `4-5`. */
export function baseModelId(ref: string): string {
  const slash = ref.indexOf("/");
  const provider = slash > 0 ? `${ref.slice(0, slash).trim().toLowerCase()}/` : "";
  const model = ref
    .slice(slash + 1)
    .trim()
    .toLowerCase()
    .replace(DATED, "")
    .replace(/-latest$/, "")
    .replace(/(\d)\.(\d)/g, "$1-$2");
  return provider + model;
}

const bareName = (model: string): string => model.slice(model.lastIndexOf("/") + 1);

/** Host-reported counts can be missing or garbage; they count as 0 rather than poisoning totals. */
export const count = (n: number | undefined): number => (typeof n === "number" && Number.isFinite(n) && n > 0 ? n : 0);

/** Every token the run consumed: input, output, and the cache reads and writes the host reports apart. */
export const totalTokens = (u: Usage): number => count(u.inputTokens) + count(u.outputTokens) + count(u.cacheReadTokens) + count(u.cacheWriteTokens);

/** USD for `usage` at `price`; cache tokens at their own rates, or at the input rate when the price has none. */
export function priceUsage(usage: Usage, price: Price): number {
  const perMillion =
    count(usage.inputTokens) * count(price.input) +
    count(usage.outputTokens) * count(price.output) +
    count(usage.cacheReadTokens) * count(price.cacheRead ?? price.input) +
    count(usage.cacheWriteTokens) * count(price.cacheWrite ?? price.input);
  return perMillion / 1_000_000;
}

/** USD for `usage` on `model`; 0 when the model has no price (its tokens are still counted). */
export function costOf(usage: Usage, model: string | undefined, prices: Prices): number {
  const price = priceOf(model, prices);
  return price ? priceUsage(usage, price) : 0;
}

/**
 * What an attempt cost: the table's price for the model, else the host's own figure for the run
 * when it recorded one, else undefined (unknown, never a silent $0).
 */
export function attemptCost(usage: Usage, model: string | undefined, prices: Prices, hostCostUsd?: number): number | undefined {
  const price = priceOf(model, prices);
  if (price) return priceUsage(usage, price);
  return typeof hostCostUsd === "number" && Number.isFinite(hostCostUsd) && hostCostUsd >= 0 ? hostCostUsd : undefined;
}

export function addUsage(a: Usage, b: Usage): Usage {
  const sum: Usage = { inputTokens: count(a.inputTokens) + count(b.inputTokens), outputTokens: count(a.outputTokens) + count(b.outputTokens) };
  const cacheRead = count(a.cacheReadTokens) + count(b.cacheReadTokens);
  const cacheWrite = count(a.cacheWriteTokens) + count(b.cacheWriteTokens);
  if (cacheRead) sum.cacheReadTokens = cacheRead;
  if (cacheWrite) sum.cacheWriteTokens = cacheWrite;
  return sum;
}

/** Micro-dollar precision: enough for per-run costs, no float noise like 0.30000000000000004. */
export const roundUsd = (usd: number): number => Math.round(usd * 1e6) / 1e6;

/** Dollars as people write them: cents from $1 up, up to four decimals below (so $0.0125 ≠ $0.01). */
export function fmtUsd(usd: number): string {
  if (Math.abs(usd) >= 1) return `$${usd.toFixed(2)}`;
  const [whole, decimals] = usd.toFixed(4).split(".");
  return `$${whole}.${decimals.replace(/0+$/, "").padEnd(2, "0")}`;
}
