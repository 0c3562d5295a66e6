// Tool parameter schemas (TypeBox = JSON Schema) and their validation. The same objects are given to
// the host as `parameters` and compiled with Ajv in `execute`, because POST /tools/invoke skips
// validation. Errors name the field path, what was wrong and what is allowed, so the model can fix its call.
import { Type, type Static, type TProperties, type TSchema } from "@sinclair/typebox";
import type { Ajv, ErrorObject, ValidateFunction } from "ajv";
import { BudgetSchema, ChildPrompt } from "../config.js";
import { ToolInputError } from "../errors.js";
import { AjvClass } from "../lazy-deps.js";

/** Size limits for model-produced input; documented in README "Limits". */
const LIMITS = { taskChars: 20_000, varChars: 20_000, vars: 32, labelChars: 64, topicChars: 2_000, ladder: 10, labels: 500 };
const Strict = <P extends TProperties>(properties: P) => Type.Object(properties, { additionalProperties: false });

const Label = Type.String({ pattern: "^[A-Za-z0-9][A-Za-z0-9._-]*$", maxLength: LIMITS.labelChars });
const ModelRef = Type.String({ pattern: "^[A-Za-z0-9._-]+/[A-Za-z0-9._:@/-]+$", maxLength: 200 });
const Vars = Type.Record(Type.String({ pattern: "^[A-Za-z_][A-Za-z0-9_]*$", maxLength: 64 }), Type.String({ maxLength: LIMITS.varChars }), {
  maxProperties: LIMITS.vars,
});
const OutputSchema = Type.Object({}, { additionalProperties: true, description: "JSON Schema the child's reply must match" });

export const TaskSchema = Strict({
  task: Type.Optional(Type.String({ minLength: 1, maxLength: LIMITS.taskChars })),
  role: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  vars: Type.Optional(Vars),
  label: Type.Optional(Label),
  model: Type.Optional(ModelRef),
  timeoutSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 7200 })),
  outputSchema: Type.Optional(OutputSchema),
  tools: Type.Optional(Type.Boolean({ description: "false: the child gets no tools (a text-only task); default: the role's declaration, else the agent's tools" })),
  childPrompt: Type.Optional(Type.Union(ChildPrompt.anyOf, { description: 'The child\'s system prompt: "minimal" (bounded sub-agent prompt) or "full" (the whole conversation prompt); default: the plugin\'s childPrompt' })),
});

const batchOptions = {
  maxConcurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })),
  retries: Type.Optional(Type.Integer({ minimum: 0, maximum: 5 })),
  escalate: Type.Optional(Type.Boolean()),
  ladder: Type.Optional(Type.Array(ModelRef, { minItems: 1, maxItems: LIMITS.ladder })),
  timeoutSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 7200 })),
  budget: Type.Optional(BudgetSchema),
  adaptive: Type.Optional(Type.Boolean({ description: "false: every run starts on its role's own rung, even where the adaptive ladder learned a higher start" })),
};

const waitOptions = {
  waitSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 600 })),
  timeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 600_000 })),
  notify: Type.Optional(Type.Boolean({ description: "Tell this session when the batch ends (default: the plugin's notify setting)" })),
};

export const SpawnSchema = Strict({
  tasks: Type.Optional(Type.Array(TaskSchema, { minItems: 1, maxItems: 500 })),
  team: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  vars: Type.Optional(Vars),
  ...batchOptions,
  ...waitOptions,
});

export const PollSchema = Strict({
  batchId: Type.String({ minLength: 1, maxLength: 80 }),
  label: Type.Optional({ ...Label, description: "Read this one run (or research lane, or \"synthesis\") page by page" }),
  offset: Type.Optional(Type.Integer({ minimum: 0, description: "With label: the character to read on from (default 0), as a cut's \"read on\" call says" })),
  timeoutSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 600 })),
  timeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 600_000 })),
});

export const CancelSchema = Strict({
  batchId: Type.String({ minLength: 1, maxLength: 80 }),
  labels: Type.Optional(Type.Array(Label, { minItems: 1, maxItems: LIMITS.labels })),
});

export const ResearchSchema = Strict({
  topics: Type.Array(Type.String({ minLength: 1, maxLength: LIMITS.topicChars }), { minItems: 1, maxItems: 500 }),
  brief: Type.Optional(Type.String({ maxLength: LIMITS.taskChars })),
  lenses: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 8 })),
  synthesize: Type.Optional(Type.Boolean()),
  outputSchema: Type.Optional(OutputSchema),
  model: Type.Optional(ModelRef),
  ...batchOptions,
  ...waitOptions,
});

let ajv: Ajv | undefined;
const compiled = new WeakMap<TSchema, ValidateFunction>();

/** Params as JSON (what a tool call carries), checked against the tool's schema. */
export function validateParams<S extends TSchema>(tool: string, schema: S, params: unknown): Static<S> {
  let check = compiled.get(schema);
  if (!check) {
    ajv ??= new (AjvClass())({ allErrors: true, strict: false });
    check = ajv.compile(schema);
    compiled.set(schema, check);
  }
  if (params === null || typeof params !== "object" || Array.isArray(params)) {
    throw new ToolInputError(`${tool}: parameters must be a JSON object, got ${params === null ? "null" : Array.isArray(params) ? "an array" : typeof params}`);
  }
  if (!check(params)) throw new ToolInputError(`${tool}: invalid parameters: ${describeErrors(check.errors ?? [])}`);
  try {
    return plain(params) as Static<S>;
  } catch {
    throw new ToolInputError(`${tool}: parameters must be plain JSON (not nested thousands of levels deep)`);
  }
}

/** A copy holding what a JSON call carries: arrays by index (keys set on an array are dropped), objects by own keys. */
const plain = (v: unknown): unknown =>
  Array.isArray(v) ? Array.from(v, plain) : v !== null && typeof v === "object" ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)])) : v;

function describeErrors(errors: ErrorObject[]): string {
  const lines = errors.filter((e) => e.keyword !== "if").slice(0, 8).map((e) => {
    const at = e.instancePath ? e.instancePath.slice(1).replaceAll("/", ".") : "(root)";
    if (e.keyword === "additionalProperties") {
      const allowed = Object.keys((e.parentSchema as { properties?: object })?.properties ?? {}).join(", ");
      return `${at}: unknown field "${String(e.params.additionalProperty)}" (allowed: ${allowed})`;
    }
    if (e.keyword === "enum") return `${at}: must be one of ${(e.params.allowedValues as unknown[]).join(", ")}`;
    return `${at}: ${e.message}`;
  });
  return [...new Set(lines)].join("; ");
}
