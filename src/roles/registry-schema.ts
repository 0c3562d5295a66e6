// Shape of skill.json (and of a user's roles.json) as a TypeBox schema, plus Ajv validation whose
// errors name the file, the entry and the field: `skill.json roles.researcher.tier: must be integer 0..2`.
import { Type, type Static } from "@sinclair/typebox";
import type { Ajv, ErrorObject } from "ajv";
import { ToolInputError } from "../errors.js";
import { AjvClass } from "../lazy-deps.js";

const ROLE_NAME_PATTERN = "^[a-z][a-z0-9-]{0,63}$";
const VAR_NAME_PATTERN = "^[A-Za-z][A-Za-z0-9_]{0,63}$";
const LABEL_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$";
/** Names the templates get from the renderer itself; a role cannot declare them as vars. */
export const RESERVED_VARS: readonly string[] = ["task", "outputSchema", "role"];

const hint = (text: string) => ({ hint: text });
const ROLE_NAME_RULE = "names use lowercase letters, digits and '-', starting with a letter";
const VAR_NAME_RULE = "names use letters, digits and '_', starting with a letter";

export const VarSpec = Type.Object(
  {
    description: Type.String({ minLength: 1, ...hint("must be a non-empty string") }),
    required: Type.Boolean(hint("must be true or false")),
    default: Type.Optional(Type.String(hint("must be a string"))),
  },
  { additionalProperties: false },
);

export const RoleSpec = Type.Object(
  {
    description: Type.String({ minLength: 1, ...hint("must be a non-empty string") }),
    template: Type.String({
      pattern: "^[^\\0]+\\.hbs$",
      ...hint("must be a relative path to a .hbs file, e.g. \"prompts/researcher.hbs\""),
    }),
    tier: Type.Integer({ minimum: 0, maximum: 2, ...hint("must be integer 0..2 (0 cheap, 1 mid, 2 strong)") }),
    outputSchema: Type.Optional(
      Type.Union([Type.String({ pattern: "^#" }), Type.Object({}, { additionalProperties: true })], {
        ...hint("must be a JSON Schema object or a reference such as \"#research-result\""),
      }),
    ),
    vars: Type.Record(Type.String({ pattern: VAR_NAME_PATTERN }), VarSpec, {
      additionalProperties: false,
      keyHint: VAR_NAME_RULE,
      ...hint("must be an object of variable specs keyed by variable name"),
    }),
  },
  { additionalProperties: false },
);

export const TeamMember = Type.Object(
  {
    role: Type.String({ pattern: ROLE_NAME_PATTERN, ...hint(`must be a role name (${ROLE_NAME_RULE})`) }),
    label: Type.String({ pattern: LABEL_PATTERN, ...hint("must be 1-64 of letters, digits, '.', '_', '-'") }),
    vars: Type.Optional(Type.Record(Type.String({ pattern: VAR_NAME_PATTERN }), Type.String(), {
        additionalProperties: false,
        keyHint: VAR_NAME_RULE,
        ...hint("must map variable names to strings"),
      })),
  },
  { additionalProperties: false },
);

export const TeamSpec = Type.Object(
  {
    description: Type.String({ minLength: 1, ...hint("must be a non-empty string") }),
    members: Type.Array(TeamMember, { minItems: 1, ...hint("must be a non-empty array of members") }),
  },
  { additionalProperties: false },
);

export const RegistryFile = Type.Object(
  {
    $schema: Type.Optional(Type.String()),
    roles: Type.Optional(
      Type.Record(Type.String({ pattern: ROLE_NAME_PATTERN }), RoleSpec, {
        additionalProperties: false,
        keyHint: ROLE_NAME_RULE,
        ...hint("must be an object keyed by role name"),
      }),
    ),
    teams: Type.Optional(
      Type.Record(Type.String({ pattern: ROLE_NAME_PATTERN }), TeamSpec, {
        additionalProperties: false,
        keyHint: ROLE_NAME_RULE,
        ...hint("must be an object keyed by team name"),
      }),
    ),
  },
  { additionalProperties: false },
);

export type VarSpec = Static<typeof VarSpec>;
export type RoleSpec = Static<typeof RoleSpec>;
export type TeamMember = Static<typeof TeamMember>;
export type TeamSpec = Static<typeof TeamSpec>;
export type RegistryFile = Static<typeof RegistryFile>;

/**
 * A registry file or entry is wrong; the message names the file, the entry and the field. A tool call
 * that loads a broken rolesDir answers with it as a 400 (a ToolInputError), not an opaque 500.
 */
export class RegistryError extends ToolInputError {}

let validator: ReturnType<Ajv["compile"]> | undefined;

function compileValidator() {
  const ajv = new (AjvClass())({ allErrors: true, verbose: true, strict: true });
  ajv.addKeyword({ keyword: "hint", schemaType: "string" });
  ajv.addKeyword({ keyword: "keyHint", schemaType: "string" });
  return ajv.compile(RegistryFile);
}

/** `/roles/researcher/vars/0` -> `roles.researcher.vars[0]` */
function fieldPath(pointer: string): string {
  let out = "";
  for (const raw of pointer.split("/").slice(1)) {
    const part = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    out += /^\d+$/.test(part) ? `[${part}]` : out ? `.${part}` : part;
  }
  return out;
}

function describeError(e: ErrorObject): { path: string; message: string; hinted: boolean } {
  const path = fieldPath(e.instancePath);
  const join = (name: string) => (path ? `${path}.${name}` : name);
  if (e.keyword === "additionalProperties") {
    const extra = String((e.params as { additionalProperty: string }).additionalProperty);
    const parent = e.parentSchema as { properties?: object; patternProperties?: object; keyHint?: string };
    if (parent.patternProperties && !parent.properties) {
      return { path: join(extra), message: `invalid name${parent.keyHint ? ` (${parent.keyHint})` : ""}`, hinted: true };
    }
    const allowed = Object.keys(parent.properties ?? {});
    return { path: join(extra), message: `unknown field (allowed: ${allowed.join(", ")})`, hinted: true };
  }
  if (e.keyword === "required") {
    return { path: join(String((e.params as { missingProperty: string }).missingProperty)), message: "is required", hinted: true };
  }
  const h = (e.parentSchema as { hint?: unknown } | undefined)?.hint;
  if (typeof h === "string") return { path, message: h, hinted: true };
  return { path, message: e.message ?? "is invalid", hinted: false };
}

/** Check `data` against the registry file schema; throws RegistryError listing every problem. */
export function validateRegistryFile(data: unknown, source: string): RegistryFile {
  validator ??= compileValidator();
  if (validator(data)) return data as RegistryFile;
  const byPath = new Map<string, { message: string; hinted: boolean }[]>();
  for (const e of validator.errors ?? []) {
    const d = describeError(e);
    const list = byPath.get(d.path) ?? [];
    list.push(d);
    byPath.set(d.path, list);
  }
  const lines: string[] = [];
  for (const [path, list] of byPath) {
    const hinted = list.filter((d) => d.hinted);
    const chosen = hinted.length ? hinted : list;
    for (const message of new Set(chosen.map((d) => d.message))) lines.push(`${source} ${path || "(root)"}: ${message}`);
  }
  throw new RegistryError(lines.slice(0, 12).join("\n"));
}
