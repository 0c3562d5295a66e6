// JSON contracts: find the JSON in a child's reply, repair it locally (jsonrepair), validate it against
// the run's outputSchema (Ajv), and word the one corrective follow-up (prompts/corrective.hbs).
// Repairs cost no tokens, so a child is only asked again when its answer is really wrong.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Ajv, ErrorObject, ValidateFunction } from "ajv";
import { jsonrepair } from "jsonrepair";
import { AjvClass } from "../lazy-deps.js";
import { findPackageRoot } from "../roles/package-root.js";
import { TemplateEngine, type Template } from "../roles/templates.js";

export type CheckResult =
  | { ok: true; value: unknown; repaired: boolean }
  | { ok: false; kind: "invalid_json" | "schema_violation"; errors: string[] };

/** `validate` lists path-qualified problems (at most MAX_ERRORS lines); none when `value` conforms. */
/** `schema` is the caller's schema as checked: key-sorted, without `__proto__` keys; use it, not the original. */
export type Contract = { validate(value: unknown): string[]; schema: object };

// Caller schemas come from model tool calls: their size and depth are bounded (depth also stops cycles).
const MAX_SCHEMA_BYTES = 64 * 1024;
const MAX_SCHEMA_DEPTH = 32;
const MAX_ERRORS = 10;

/**
 * Where the answer may be, most likely first: the whole reply; its last ```json (or bare ```) block;
 * the text from the first `{` to the last `}`, and from the first `[` to the last `]` (to the end when
 * it never closes), the earlier first. Only text that starts with a bracket counts.
 */
function sources(reply: string): string[] {
  const text = reply.trim();
  const fences = [...text.matchAll(/```([^\n]*)\n([\s\S]*?)(?:```|$)/g)].filter((m) => /^\s*(json[5c]?)?(\s|$)/i.test(m[1]));
  const spans = ["{}", "[]"]
    .map(([open, close]) => [text.indexOf(open), text.lastIndexOf(close)])
    .filter(([start]) => start >= 0)
    .sort((a, b) => a[0] - b[0])
    .map(([start, end]) => text.slice(start, end > start ? end + 1 : undefined));
  return [...new Set([text, fences.at(-1)?.[2].trim() ?? "", ...spans])].filter((s) => /^[[{]/.test(s));
}

/** Every source parsed strictly, then every source through jsonrepair; only objects and arrays. */
function* readings(reply: string): Generator<{ value: object; repaired: boolean }> {
  const list = sources(reply);
  for (const repaired of [false, true]) {
    for (const source of list) {
      let value: unknown;
      try {
        value = JSON.parse(repaired ? jsonrepair(source) : source);
      } catch {
        continue;
      }
      if (value !== null && typeof value === "object") yield { value, repaired };
    }
  }
}

/** The first reading that satisfies the contract; else the errors of the most likely reading. */
export function checkReply(reply: string, contract: Contract): CheckResult {
  let firstErrors: string[] | undefined;
  for (const found of readings(reply)) {
    const errors = contract.validate(found.value);
    if (!errors.length) return { ok: true, ...found };
    firstErrors ??= errors;
  }
  if (firstErrors) return { ok: false, kind: "schema_violation", errors: firstErrors };
  return { ok: false, kind: "invalid_json", errors: [reply.trim() ? "no JSON object or array found in the reply" : "the reply is empty"] };
}

const contracts = new Map<string, Contract>(); // by key-sorted schema JSON; bounded (oldest out first)
let ajv: Ajv | undefined;

/** Compile an outputSchema once per distinct schema. Throws what is wrong (`is too deep (max 32 levels)`); callers name the field. */
export function compileContract(schema: object): Contract {
  if (schema === null || typeof schema !== "object" || Array.isArray(schema)) throw new Error("must be a JSON Schema object");
  const key = JSON.stringify(sortKeys(schema, 1));
  if (Buffer.byteLength(key) > MAX_SCHEMA_BYTES) throw new Error(`is too large (max ${MAX_SCHEMA_BYTES / 1024} KB serialized)`);
  const hit = contracts.get(key);
  if (hit) return hit;
  // ownProperties: `required: ["constructor"]` must not be satisfied by Object.prototype.
  ajv ??= new (AjvClass())({ allErrors: true, strict: false, ownProperties: true });
  let check: ValidateFunction;
  try {
    check = ajv.compile(JSON.parse(key));
  } catch (err) {
    throw new Error(`is not a valid JSON Schema: ${(err as Error).message}`);
  } finally {
    ajv.removeSchema(); // back to the meta-schemas only: no caller's schema or $id stays to meet the next
  }
  const contract: Contract = {
    validate: (value) => (check(value) ? [] : capErrors([...new Set((check.errors ?? []).map(formatError))])),
    schema: JSON.parse(key) as object,
  };
  if (contracts.size >= 256) contracts.delete(contracts.keys().next().value!);
  contracts.set(key, contract);
  return contract;
}

/** Sorted keys, no `__proto__` keys (only ever prototype tricks), no root `$schema` (an unknown draft URI fails Ajv). */
function sortKeys(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== "object") return value;
  if (depth > MAX_SCHEMA_DEPTH) throw new Error(`is too deep (max ${MAX_SCHEMA_DEPTH} levels)`);
  if (Array.isArray(value)) return value.map((v) => sortKeys(v, depth + 1));
  const keys = Object.keys(value).filter((k) => k !== "__proto__" && !(depth === 1 && k === "$schema"));
  return Object.fromEntries(keys.sort().map((k) => [k, sortKeys((value as Record<string, unknown>)[k], depth + 1)]));
}

function formatError(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  let message = e.message ?? "is invalid";
  if (e.keyword === "additionalProperties") message += ` ('${String(p.additionalProperty)}')`;
  else if (e.keyword === "enum") message += `: ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}`;
  else if (e.keyword === "const") message += `: ${JSON.stringify(p.allowedValue)}`;
  return `${e.instancePath || "(root)"}: ${message}`;
}

/** At most MAX_ERRORS lines, the last one saying how many were left out. */
const capErrors = (lines: string[]): string[] =>
  lines.length <= MAX_ERRORS ? lines : [...lines.slice(0, MAX_ERRORS - 1), `…and ${lines.length - MAX_ERRORS + 1} more errors`];

let corrective: Template | undefined;

/** The single follow-up sent to the same child session after a failed check. */
export function correctiveMessage(errors: string[], schema: object): string {
  corrective ??= new TemplateEngine().compile(readFileSync(join(findPackageRoot(), "prompts", "corrective.hbs"), "utf8"), "prompts/corrective.hbs", new Set(["errors", "schema"]));
  return corrective({ errors: capErrors(errors), schema: JSON.stringify(schema, null, 2) });
}
