// Shape of skill.json (and of a user's roles.json) as a TypeBox schema, plus Ajv validation whose
// errors name the file, the entry and the field: `skill.json roles.researcher.tier: must be integer 0..2`.
// A schema's `hint` is the message for any failure at that field; `keyHint` says what a valid key looks like.
import { Type, type Static, type TProperties, type TSchema } from "@sinclair/typebox";
import type { ErrorObject, ValidateFunction } from "ajv";
import { ToolInputError } from "../errors.js";
import { AjvClass } from "../lazy-deps.js";

/** Names the templates get from the renderer itself; a role cannot declare them as vars. */
export const RESERVED_VARS: readonly string[] = ["task", "outputSchema", "role"];

const ROLE_NAME = { pattern: "^[a-z][a-z0-9-]{0,63}$", rule: "names use lowercase letters, digits and '-', starting with a letter" };
const VAR_NAME = { pattern: "^[A-Za-z][A-Za-z0-9_]{0,63}$", rule: "names use letters, digits and '_', starting with a letter" };

const Strict = <P extends TProperties>(properties: P) => Type.Object(properties, { additionalProperties: false });
const Keyed = <T extends TSchema>(key: typeof ROLE_NAME, value: T, hint: string) =>
  Type.Record(Type.String({ pattern: key.pattern }), value, { additionalProperties: false, keyHint: key.rule, hint });
const Text = Type.String({ minLength: 1, hint: "must be a non-empty string" });
const JsonSchema = Type.Object({}, { additionalProperties: true });

const VarSpec = Strict({
  description: Text,
  required: Type.Boolean({ hint: "must be true or false" }),
  default: Type.Optional(Type.String({ hint: "must be a string" })),
});

const RoleSpec = Strict({
  description: Text,
  template: Type.String({ pattern: "^[^\\0]+\\.hbs$", hint: 'must be a relative path to a .hbs file, e.g. "prompts/researcher.hbs"' }),
  tier: Type.Integer({ minimum: 0, maximum: 2, hint: "must be integer 0..2 (0 cheap, 1 mid, 2 strong)" }),
  outputSchema: Type.Optional(
    Type.Union([Type.String({ pattern: "^#" }), JsonSchema], { hint: 'must be a JSON Schema object or a reference such as "#research-result"' }),
  ),
  vars: Keyed(VAR_NAME, VarSpec, "must be an object of variable specs keyed by variable name"),
  /** "none": the role's work is text in, text out, so its children get no tools; "agent" (default): the agent's tools. */
  tools: Type.Optional(Type.Union([Type.Literal("none"), Type.Literal("agent")], { hint: 'must be "none" (no tools: a text-only role) or "agent" (the agent\'s tools)' })),
});

const TeamSpec = Strict({
  description: Text,
  members: Type.Array(
    Strict({
      role: Type.String({ pattern: ROLE_NAME.pattern, hint: `must be a role name (${ROLE_NAME.rule})` }),
      label: Type.String({ pattern: "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", hint: "must be 1-64 of letters, digits, '.', '_', '-'" }),
      vars: Type.Optional(Keyed(VAR_NAME, Type.String(), "must map variable names to strings")),
    }),
    { minItems: 1, hint: "must be a non-empty array of members" },
  ),
});

const RegistryFile = Strict({
  $schema: Type.Optional(Type.String()),
  roles: Type.Optional(Keyed(ROLE_NAME, RoleSpec, "must be an object keyed by role name")),
  teams: Type.Optional(Keyed(ROLE_NAME, TeamSpec, "must be an object keyed by team name")),
  /** Output schemas roles refer to as "#<name>". */
  schemas: Type.Optional(Keyed(ROLE_NAME, JsonSchema, "must be an object of JSON Schema objects keyed by name")),
});

export type VarSpec = Static<typeof VarSpec>;
export type RoleSpec = Static<typeof RoleSpec>;
export type TeamSpec = Static<typeof TeamSpec>;
export type RegistryFile = Static<typeof RegistryFile>;

/**
 * A registry file or entry is wrong; the message names the file, the entry and the field. A tool call
 * that loads a broken rolesDir answers with it as a 400 (a ToolInputError), not an opaque 500.
 */
export class RegistryError extends ToolInputError {}

let validator: ValidateFunction | undefined;

/** `/roles/researcher/vars/0` -> `roles.researcher.vars[0]` */
const fieldPath = (pointer: string) =>
  pointer.split("/").slice(1).map((raw) => raw.replace(/~1/g, "/").replace(/~0/g, "~"))
    .reduce((out, part) => (/^\d+$/.test(part) ? `${out}[${part}]` : out ? `${out}.${part}` : part), "");

/** The error's field and message; `hinted` when the message is ours rather than Ajv's. */
function describeError(e: ErrorObject): { path: string; message: string; hinted: boolean } {
  const path = fieldPath(e.instancePath);
  const at = (name: unknown) => (path ? `${path}.${String(name)}` : String(name));
  const parent = e.parentSchema as { properties?: object; patternProperties?: object; keyHint?: string; hint?: unknown } | undefined;
  if (e.keyword === "additionalProperties") {
    const extra = e.params.additionalProperty;
    if (parent?.patternProperties && !parent.properties) return { path: at(extra), message: `invalid name (${parent.keyHint})`, hinted: true };
    return { path: at(extra), message: `unknown field (allowed: ${Object.keys(parent?.properties ?? {}).join(", ")})`, hinted: true };
  }
  if (e.keyword === "required") return { path: at(e.params.missingProperty), message: "is required", hinted: true };
  if (typeof parent?.hint === "string") return { path, message: parent.hint, hinted: true };
  return { path, message: e.message ?? "is invalid", hinted: false };
}

/** Check `data` against the registry file schema; throws RegistryError listing every problem (ours over Ajv's, per field). */
export function validateRegistryFile(data: unknown, source: string): RegistryFile {
  if (!validator) {
    const ajv = new (AjvClass())({ allErrors: true, verbose: true, strict: true });
    for (const keyword of ["hint", "keyHint"]) ajv.addKeyword({ keyword, schemaType: "string" });
    validator = ajv.compile(RegistryFile);
  }
  if (validator(data)) return data as RegistryFile;
  const described = (validator.errors ?? []).map(describeError);
  const paths = [...new Set(described.map((d) => d.path))];
  const lines = paths.flatMap((path) => {
    const here = described.filter((d) => d.path === path);
    const chosen = here.some((d) => d.hinted) ? here.filter((d) => d.hinted) : here;
    return [...new Set(chosen.map((d) => d.message))].map((message) => `${source} ${path || "(root)"}: ${message}`);
  });
  throw new RegistryError(lines.slice(0, 12).join("\n"));
}
