// JSON contracts: find the JSON in a child's reply, repair it locally, validate it against the run's
// outputSchema, and word the one corrective follow-up. Repairs happen here, at no token cost, so a
// child is only asked again when its answer is really wrong.
import type { ErrorObject, ValidateFunction } from "ajv";
import { jsonrepair } from "jsonrepair";
import { AjvClass } from "../lazy-deps.js";

export type Extracted = { value: unknown; repaired: boolean } | { error: string };

export type CheckResult =
  | { ok: true; value: unknown; repaired: boolean }
  | { ok: false; kind: "invalid_json" | "schema_violation"; errors: string[] };

export interface Contract {
  /** The normalized schema (sorted keys, `__proto__` keys and `$schema` dropped) that is enforced. */
  readonly schema: object;
  /** Human-readable, path-qualified problems; empty when `value` conforms. */
  validate(value: unknown): string[];
}

export const MAX_SCHEMA_BYTES = 64 * 1024;
export const MAX_SCHEMA_DEPTH = 32;
/** Error lines kept per check: enough to fix an answer, short enough to fit a follow-up message. */
export const MAX_ERRORS = 10;

const NOTHING_FOUND = "no JSON object or array found in the reply";
/** Fence languages that hold JSON. Other fences (```python …) are code, not the answer. */
const JSON_FENCES = new Set(["", "json", "json5", "jsonc"]);
/** Bracket spans looked at in prose, and readings checkReply tries; bounds the work on odd replies. */
const MAX_SPANS = 32;

// ---------------------------------------------------------------------------------------------
// Extraction

type Found = { value: unknown; repaired: boolean };

/**
 * Find the JSON value in a reply: the first of `candidates()`. Only objects and arrays count.
 * `repaired` is true when strict JSON.parse failed and jsonrepair fixed the text.
 */
export function extractJson(text: string): Extracted {
  if (!text.trim()) return { error: "the reply is empty" };
  for (const found of candidates(text)) return found;
  return { error: NOTHING_FOUND };
}

/**
 * Every plausible reading of a reply, most likely first. checkReply takes the first one that
 * satisfies the schema, so a wrong guess here costs a validation, not a corrective round trip.
 * 1. The whole reply, when it is strict JSON.
 * 2. ```json / ``` fenced blocks, the LAST first (models show drafts or examples before the final
 *    answer), strict before repaired.
 * 3. Bracket spans in prose, LONGEST first (short spans are usually citations like "[1]"):
 *    complete spans, strict; then the span left open at the end (a truncated answer), repaired;
 *    then complete spans inside that open one, strict; then complete spans, repaired.
 */
function* candidates(text: string): Generator<Found> {
  const trimmed = text.trim();
  const tried = new Set<string>();
  function* attempt(sources: string[], repair: boolean): Generator<Found> {
    for (const source of sources) {
      const key = `${repair ? "r" : "s"}:${source}`;
      if (tried.has(key)) continue;
      tried.add(key);
      const value = parseContainer(source, repair);
      if (value !== undefined) yield { value, repaired: repair };
    }
  }

  if (/^[[{]/.test(trimmed)) yield* attempt([trimmed], false);

  const fences = fencedBlocks(trimmed).reverse();
  yield* attempt(fences, false);
  yield* attempt(fences, true);

  const { free, enclosed, openTail } = bracketSpans(trimmed);
  yield* attempt(free, false);
  if (openTail !== undefined) yield* attempt([openTail], true);
  yield* attempt(enclosed, false);
  yield* attempt([...free, ...enclosed].sort((a, b) => b.length - a.length), true);
}

/** The parsed object or array, or undefined. */
function parseContainer(source: string, repair: boolean): object | undefined {
  try {
    const value: unknown = JSON.parse(repair ? jsonrepair(source) : source);
    return value !== null && typeof value === "object" ? value : undefined;
  } catch {
    return undefined;
  }
}

function fencedBlocks(text: string): string[] {
  const blocks: string[] = [];
  // The closing fence is optional at the very end: a truncated reply still has its block.
  for (const m of text.matchAll(/```[ \t]*([\w+-]*)[^\n]*\n([\s\S]*?)(?:```|$)/g)) {
    const body = m[2].trim();
    if (JSON_FENCES.has(m[1].toLowerCase()) && /^[[{]/.test(body)) blocks.push(body);
  }
  return blocks;
}

/**
 * One string-aware pass over the text. `free`: outermost complete {...}/[...] spans before any
 * unclosed bracket; `enclosed`: outermost complete spans after it; `openTail`: the text from the
 * first bracket that never closes. Each list longest first, capped.
 */
function bracketSpans(text: string): { free: string[]; enclosed: string[]; openTail?: string } {
  const openers: number[] = [];
  const closed: Array<[number, number]> = [];
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === "\\") i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = openers.length > 0; // quotes in plain prose are not JSON strings
    else if (ch === "{" || ch === "[") openers.push(i);
    else if (openers.length && ch === (text[openers[openers.length - 1]] === "{" ? "}" : "]")) {
      closed.push([openers.pop()!, i + 1]);
    }
  }
  const firstOpen = openers.length ? openers[0] : Infinity;
  const free: string[] = [];
  const enclosed: string[] = [];
  let end = -1;
  for (const [s, e] of closed.sort((a, b) => a[0] - b[0])) {
    if (s < end) continue; // inside a span already taken
    end = e;
    (s < firstOpen ? free : enclosed).push(text.slice(s, e));
  }
  const longest = (spans: string[]) => spans.sort((a, b) => b.length - a.length).slice(0, MAX_SPANS);
  return {
    free: longest(free),
    enclosed: longest(enclosed),
    openTail: Number.isFinite(firstOpen) ? text.slice(firstOpen) : undefined,
  };
}

// ---------------------------------------------------------------------------------------------
// Schemas

/** Compiled contracts by normalized schema text. Bounded: schemas come from model tool calls. */
const cache = new Map<string, Contract>();
const MAX_CACHED = 256;

/**
 * Compile an outputSchema once per distinct schema (compared by stable, key-sorted JSON).
 * Throws an Error whose message says what is wrong (`outputSchema is too deep (max 32 levels)`);
 * the tool layer turns it into a validation error for the caller.
 */
export function compileContract(schema: object): Contract {
  if (schema === null || typeof schema !== "object" || Array.isArray(schema)) {
    throw new Error("outputSchema must be a JSON Schema object");
  }
  const normalized = normalize(schema, 1) as Record<string, unknown>;
  // `$schema` names a draft; an unknown draft URI would fail compilation for no useful reason.
  delete normalized.$schema;
  const key = JSON.stringify(normalized);
  if (Buffer.byteLength(key, "utf8") > MAX_SCHEMA_BYTES) {
    throw new Error(`outputSchema is too large (max ${MAX_SCHEMA_BYTES / 1024} KB serialized)`);
  }

  const hit = cache.get(key);
  if (hit) return hit;

  let validateFn: ValidateFunction;
  try {
    // A fresh Ajv per schema: no clashes between schemas that reuse an $id, nothing retained twice.
    // ownProperties: `required: ["constructor"]` must not be satisfied by Object.prototype.
    validateFn = new (AjvClass())({ allErrors: true, strict: false, ownProperties: true }).compile(normalized);
  } catch (err) {
    throw new Error(`outputSchema is not a valid JSON Schema: ${(err as Error).message}`);
  }
  const contract: Contract = {
    schema: normalized,
    validate: (value) => (validateFn(value) ? [] : formatErrors(validateFn.errors ?? [])),
  };
  if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value as string);
  cache.set(key, contract);
  return contract;
}

/**
 * A plain-JSON copy with sorted keys (so equal schemas share a cache key) and without `__proto__`
 * keys (they could only ever mean prototype tricks). Depth is checked on the way down, which also
 * stops cycles.
 */
function normalize(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== "object") {
    if (typeof value === "number" && !Number.isFinite(value)) return null;
    return value;
  }
  if (depth > MAX_SCHEMA_DEPTH) throw new Error(`outputSchema is too deep (max ${MAX_SCHEMA_DEPTH} levels)`);
  if (Array.isArray(value)) {
    return value.map((v) => (v === undefined || typeof v === "function" ? null : normalize(v, depth + 1)));
  }
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[k];
    if (k === "__proto__" || v === undefined || typeof v === "function") continue;
    out[k] = normalize(v, depth + 1);
  }
  return out;
}

function formatErrors(errors: ErrorObject[]): string[] {
  return capErrors([...new Set(errors.map(formatError))]);
}

/** At most MAX_ERRORS lines, the last one saying how many were left out. */
function capErrors(lines: string[]): string[] {
  if (lines.length <= MAX_ERRORS) return lines;
  return [...lines.slice(0, MAX_ERRORS - 1), `…and ${lines.length - (MAX_ERRORS - 1)} more errors`];
}

function formatError(e: ErrorObject): string {
  const path = e.instancePath || "(root)";
  const p = e.params as Record<string, unknown>;
  let message = e.message ?? "is invalid";
  if (e.keyword === "additionalProperties") message += ` ('${String(p.additionalProperty)}')`;
  else if (e.keyword === "enum") message += `: ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}`;
  else if (e.keyword === "const") message += `: ${JSON.stringify(p.allowedValue)}`;
  return `${path}: ${message}`;
}

// ---------------------------------------------------------------------------------------------
// Checking and correcting

/** Extract, repair and validate one reply against a compiled contract. */
export function checkReply(text: string, contract: Contract): CheckResult {
  let firstErrors: string[] | undefined;
  let tried = 0;
  for (const found of candidates(text)) {
    const errors = contract.validate(found.value);
    if (!errors.length) return { ok: true, ...found };
    firstErrors ??= errors; // report against the most likely reading, not the last guess
    if (++tried >= MAX_SPANS) break;
  }
  if (firstErrors) return { ok: false, kind: "schema_violation", errors: firstErrors };
  return { ok: false, kind: "invalid_json", errors: [text.trim() ? NOTHING_FOUND : "the reply is empty"] };
}

/** The single follow-up sent to the same child session after a failed check. */
export function correctiveMessage(errors: string[], schema: object): string {
  return [
    "Your previous answer cannot be used: it must be a single JSON value that matches the JSON Schema below.",
    "",
    "Problems found:",
    ...capErrors(errors).map((e) => `- ${e}`),
    "",
    "Required JSON Schema:",
    "```json",
    JSON.stringify(schema, null, 2),
    "```",
    "",
    "Reply again with only the corrected JSON: no explanation before or after it.",
  ].join("\n");
}

