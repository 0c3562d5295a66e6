// Plugin configuration (`plugins.entries.parallel-agents.config`): one TypeBox schema is the
// source of truth; openclaw.plugin.json carries the same JSON Schema (a unit test keeps them equal).
import { type Static, Type } from "@sinclair/typebox";
import { DEFAULT_PRICES } from "./batch/cost.js";
import { priceTable } from "./pricing/host-prices.js";
import type { Prices } from "./pricing/prices.js";

export const PLUGIN_ID = "parallel-agents";
export const DEFAULT_LADDER = ["anthropic/claude-haiku-4-5", "kimi-coding/k2p5", "anthropic/claude-opus-4-5"];

const ModelRef = Type.String({ pattern: "^[A-Za-z0-9._-]+/[A-Za-z0-9._:@/-]+$", maxLength: 200 });
const Price = Type.Object(
  {
    input: Type.Number({ minimum: 0 }),
    output: Type.Number({ minimum: 0 }),
    cacheRead: Type.Optional(Type.Number({ minimum: 0 })),
    cacheWrite: Type.Optional(Type.Number({ minimum: 0 })),
  },
  { additionalProperties: false },
);
/** "minimal": the host's bounded sub-agent prompt (the default); "full": the parent's whole conversation prompt. */
export const ChildPrompt = Type.Union([Type.Literal("minimal"), Type.Literal("full")]);
export const BudgetSchema = Type.Object(
  {
    maxTokens: Type.Optional(Type.Integer({ minimum: 1 })),
    maxCostUsd: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1_000_000 })),
  },
  { additionalProperties: false },
);

export const ConfigSchema = Type.Object(
  {
    ladder: Type.Optional(Type.Array(ModelRef, { minItems: 1, maxItems: 10 })),
    maxConcurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })),
    maxTasks: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
    defaultTimeoutSeconds: Type.Optional(Type.Integer({ minimum: 5, maximum: 7200 })),
    retries: Type.Optional(Type.Integer({ minimum: 0, maximum: 5 })),
    prices: Type.Optional(Type.Record(Type.String({ maxLength: 200 }), Price)),
    budget: Type.Optional(BudgetSchema),
    rolesDir: Type.Optional(Type.String({ minLength: 1, maxLength: 1000 })),
    maxDepth: Type.Optional(Type.Integer({ minimum: 1, maximum: 5 })),
    notify: Type.Optional(Type.Union([Type.Literal("auto"), Type.Literal("off")])),
    childPrompt: Type.Optional(ChildPrompt),
    providerConcurrency: Type.Optional(
      Type.Record(Type.String({ pattern: "^[A-Za-z0-9._-]+(/[A-Za-z0-9._:@/-]+)?$", maxLength: 200 }), Type.Integer({ minimum: 1, maximum: 256 }), {
        description: 'Gateway-wide cap on runs in flight per "<provider>" or "<provider>/<model>", across all batches and agents',
      }),
    ),
    adaptiveLadder: Type.Optional(Type.Boolean()),
    retention: Type.Optional(
      Type.Object(
        { maxBatches: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })), maxAgeHours: Type.Optional(Type.Number({ exclusiveMinimum: 0 })) },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export type RawConfig = Static<typeof ConfigSchema>;

export interface PluginConfig {
  ladder: string[];
  maxConcurrency: number;
  maxTasks: number;
  defaultTimeoutSeconds: number;
  retries: number;
  /** USD per million tokens: the plugin's `prices`, else the gateway's model table, else built-in list prices. */
  prices: Prices;
  budget: { maxTokens?: number; maxCostUsd?: number };
  rolesDir?: string;
  /** Deepest fan-out level allowed; 1 = only top-level sessions fan out, children cannot. */
  maxDepth: number;
  /** "auto": tell the requester session when a batch it did not collect ends; "off": never. */
  notify: "auto" | "off";
  /** The prompt children get unless a task says otherwise. */
  childPrompt: "minimal" | "full";
  retention: { maxBatches: number; maxAgeMs: number };
  /** Configured caps on runs in flight per provider or provider/model, gateway-wide. */
  providerConcurrency: Record<string, number>;
  /** The host's sub-agent limit (agents.defaults.subagents.maxConcurrent, 8 by default). */
  hostMaxConcurrent: number;
  /** The agents' default model (agents.defaults.model), the provider of runs without a pinned model. */
  defaultModel?: string;
  /** A role whose starting rung keeps failing starts one rung up (src/ladder-learning/); false turns it off. */
  adaptiveLadder: boolean;
  /** The operator allowed model overrides (`plugins.entries.parallel-agents.subagent.allowModelOverride`). */
  modelOverride: boolean;
}

export const MODEL_OVERRIDE_HINT =
  `model escalation is off: runs use the agent's default model. Set plugins.entries.${PLUGIN_ID}.subagent.allowModelOverride: true in openclaw.json to turn it on.`;

/** Applies defaults; `hostConfig` is the whole OpenClaw config, read for the operator's override switch. */
export function resolveConfig(raw: RawConfig | undefined, hostConfig?: unknown): PluginConfig {
  const c = raw ?? {};
  const entry = (hostConfig as { plugins?: { entries?: Record<string, { subagent?: { allowModelOverride?: unknown } }> } })
    ?.plugins?.entries?.[PLUGIN_ID];
  return {
    ladder: c.ladder ?? DEFAULT_LADDER,
    maxConcurrency: c.maxConcurrency ?? 5,
    maxTasks: c.maxTasks ?? 50,
    defaultTimeoutSeconds: c.defaultTimeoutSeconds ?? 300,
    retries: c.retries ?? 2,
    prices: priceTable(c.prices, hostConfig, DEFAULT_PRICES),
    budget: c.budget ?? {},
    rolesDir: c.rolesDir,
    maxDepth: c.maxDepth ?? 1,
    notify: c.notify ?? "auto",
    childPrompt: c.childPrompt ?? "minimal",
    adaptiveLadder: c.adaptiveLadder !== false,
    retention: { maxBatches: c.retention?.maxBatches ?? 200, maxAgeMs: (c.retention?.maxAgeHours ?? 168) * 3600_000 },
    modelOverride: entry?.subagent?.allowModelOverride === true,
    providerConcurrency: c.providerConcurrency ?? {},
    ...hostLimits(hostConfig),
  };
}

/** The host's sub-agent limit and default model, read from its config (so we never hand it more runs than it starts). */
export function hostLimits(hostConfig: unknown): { hostMaxConcurrent: number; defaultModel?: string } {
  const defaults = (hostConfig as { agents?: { defaults?: { subagents?: { maxConcurrent?: unknown }; model?: unknown } } })?.agents?.defaults;
  const max = defaults?.subagents?.maxConcurrent;
  const model = defaults?.model;
  const primary = typeof model === "string" ? model : (model as { primary?: unknown } | undefined)?.primary;
  return {
    hostMaxConcurrent: typeof max === "number" && Number.isInteger(max) && max > 0 ? max : HOST_SUBAGENT_MAX_DEFAULT,
    defaultModel: typeof primary === "string" && primary ? primary : undefined,
  };
}

/** OpenClaw 2026.9.6's default for agents.defaults.subagents.maxConcurrent. */
export const HOST_SUBAGENT_MAX_DEFAULT = 8;
