// Validates tool params with Ajv compiled once per schema. Errors name the field path, what was
// wrong and what is allowed, so the calling model can fix its call.
import type { Static, TSchema } from "@sinclair/typebox";
import type { Ajv, ErrorObject, ValidateFunction } from "ajv";
import { ToolInputError } from "../errors.js";
import { AjvClass } from "../lazy-deps.js";

let ajv: Ajv | undefined;
const compiled = new WeakMap<TSchema, ValidateFunction>();

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
  return params as Static<S>;
}

export function describeErrors(errors: ErrorObject[]): string {
  const lines = errors
    .filter((e) => e.keyword !== "if")
    .slice(0, 8)
    .map((e) => {
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
