// The role registry: skill.json + prompts/*.hbs from the package, merged with a user's rolesDir.
// Renders role prompts (vars and task are data, never template source) and expands team presets.
import { existsSync, readdirSync, readFileSync, realpathSync } from "node:fs";
import { basename, isAbsolute, join, relative, resolve } from "node:path";
import type { Ajv } from "ajv";
import { AjvClass } from "../lazy-deps.js";
import { findPackageRoot } from "./package-root.js";
import {
  RESERVED_VARS,
  RegistryError,
  validateRegistryFile,
  type RoleSpec,
  type TeamMember,
  type VarSpec,
} from "./registry-schema.js";
import { SCHEMA_REFS, plainSchema } from "./research-schema.js";
import { TemplateEngine, type Template } from "./templates.js";

export { RegistryError } from "./registry-schema.js";

export interface LoadOptions {
  /** Folder with a user registry (`roles.json`, or `skill.json`) and its `.hbs` templates. */
  rolesDir?: string;
  /** Package root holding skill.json and prompts/; found from this module when omitted. */
  packageRoot?: string;
}

export interface RenderOptions {
  vars?: Record<string, unknown>;
  /** Free-form extra instruction, rendered as a delimited block. */
  task?: string;
  /** Replaces the role's output schema (in the prompt and in the result). */
  outputSchema?: object;
}

export interface RenderedPrompt {
  prompt: string;
  /** Starting rung on the model ladder: 0 cheap, 1 mid, 2 strong. */
  tier: number;
  outputSchema?: Record<string, unknown>;
}

export interface TeamRun {
  role: string;
  label: string;
  vars: Record<string, string>;
}

export interface RoleInfo {
  name: string;
  description: string;
  tier: number;
  vars: Record<string, VarSpec>;
  outputSchema?: Record<string, unknown>;
  /** File the entry came from. */
  source: string;
}

export interface TeamInfo {
  name: string;
  description: string;
  members: TeamMember[];
  /** Variables a caller may pass to the team (each flows to the members whose role declares it). */
  vars: string[];
  source: string;
}

export type RoleErrorCode = "unknown_role" | "unknown_team" | "missing_var" | "unknown_var" | "bad_value";

/** A render/expand request is wrong (as opposed to the registry itself). */
export class RoleError extends Error {
  constructor(
    readonly code: RoleErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "RoleError";
  }
}

export interface Registry {
  render(role: string, options?: RenderOptions): RenderedPrompt;
  expandTeam(team: string, vars?: Record<string, unknown>): TeamRun[];
  roleNames(): string[];
  teamNames(): string[];
  role(name: string): RoleInfo | undefined;
  team(name: string): TeamInfo | undefined;
  /** Short human/model-readable list of roles and teams. */
  describe(): string;
  stats(): { compiles: number };
}

interface LoadedRole extends RoleInfo {
  template: Template;
}

const USER_FILES = ["roles.json", "skill.json"];
let checker: Ajv | undefined;
const schemaChecker = (): Ajv => (checker ??= new (AjvClass())({ strict: false, validateFormats: false, logger: false }));

function readJson(file: string, source: string): unknown {
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new RegistryError(`${source}: cannot read registry: ${(err as Error).message}`);
  }
}

/** Resolve `rel` inside `base`; refuse absolute paths and anything (symlinks included) that leaves it. */
function insideFolder(base: string, rel: string, where: string): string {
  const outside = () => new RegistryError(`${where}: template "${rel}" must stay inside ${base}`);
  if (isAbsolute(rel)) throw outside();
  const full = resolve(base, rel);
  const escapes = (root: string, p: string) => {
    const r = relative(root, p);
    return r === "" || r.startsWith("..") || isAbsolute(r);
  };
  if (escapes(base, full)) throw outside();
  if (!existsSync(full)) throw new RegistryError(`${where}: template "${rel}" not found in ${base}`);
  if (escapes(realpathSync(base), realpathSync(full))) throw outside();
  return full;
}

function resolveSchema(spec: RoleSpec["outputSchema"], where: string): Record<string, unknown> | undefined {
  if (spec === undefined) return undefined;
  if (typeof spec === "string") {
    const ref = SCHEMA_REFS[spec];
    if (!ref) throw new RegistryError(`${where}: unknown schema reference "${spec}" (known: ${Object.keys(SCHEMA_REFS).join(", ")})`);
    return plainSchema(ref);
  }
  if (!schemaChecker().validateSchema(spec)) {
    throw new RegistryError(`${where}: is not a valid JSON Schema: ${schemaChecker().errorsText(schemaChecker().errors)}`);
  }
  return plainSchema(spec);
}

function stringValue(value: unknown, what: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  throw new RoleError("bad_value", `${what} must be a string (got ${Array.isArray(value) ? "array" : typeof value})`);
}

function varList(vars: Record<string, VarSpec>): string {
  const names = Object.keys(vars);
  return names.length ? names.join(", ") : "(none)";
}

export function loadRegistry(options: LoadOptions = {}): Registry {
  const root = options.packageRoot ?? findPackageRoot();
  const engine = new TemplateEngine();

  const partialsDir = join(root, "prompts", "partials");
  if (existsSync(partialsDir)) {
    for (const f of readdirSync(partialsDir).filter((n) => n.endsWith(".hbs")).sort()) {
      engine.registerPartial(basename(f, ".hbs"), readFileSync(join(partialsDir, f), "utf8"), `prompts/partials/${f}`);
    }
  }

  type Entry<T> = { spec: T; base: string; source: string };
  const roleSpecs = new Map<string, Entry<RoleSpec>>();
  const teamSpecs = new Map<string, Entry<{ description: string; members: TeamMember[] }>>();
  const addFile = (file: string, base: string, source: string) => {
    const data = validateRegistryFile(readJson(file, source), source);
    for (const [name, spec] of Object.entries(data.roles ?? {})) roleSpecs.set(name, { spec, base, source });
    for (const [name, spec] of Object.entries(data.teams ?? {})) teamSpecs.set(name, { spec, base, source });
  };
  addFile(join(root, "skill.json"), root, "skill.json");
  if (options.rolesDir) {
    const dir = resolve(options.rolesDir);
    const file = USER_FILES.map((n) => join(dir, n)).find((f) => existsSync(f));
    if (!file) throw new RegistryError(`rolesDir ${dir}: no ${USER_FILES.join(" or ")} found`);
    addFile(file, dir, file);
  }

  const roles = new Map<string, LoadedRole>();
  for (const [name, { spec, base, source }] of roleSpecs) {
    const at = `${source} roles.${name}`;
    for (const [v, vs] of Object.entries(spec.vars)) {
      if (RESERVED_VARS.includes(v) || v in Object.prototype) {
        throw new RegistryError(`${at}.vars.${v}: reserved name (the renderer supplies ${RESERVED_VARS.join(", ")})`);
      }
      if (vs.required && vs.default !== undefined) throw new RegistryError(`${at}.vars.${v}: a required variable cannot have a default`);
    }
    const outputSchema = resolveSchema(spec.outputSchema, `${at}.outputSchema`);
    const file = insideFolder(base, spec.template, `${at}.template`);
    const allowed = new Set([...Object.keys(spec.vars), ...RESERVED_VARS]);
    const template = engine.compile(readFileSync(file, "utf8"), `${at}.template (${spec.template})`, allowed);
    roles.set(name, { name, description: spec.description, tier: spec.tier, vars: spec.vars, outputSchema, source, template });
  }

  const teams = new Map<string, TeamInfo>();
  for (const [name, { spec, source }] of teamSpecs) {
    const labels = new Set<string>();
    const teamVars = new Set<string>();
    spec.members.forEach((m, i) => {
      const at = `${source} teams.${name}.members[${i}]`;
      const role = roles.get(m.role);
      if (!role) throw new RegistryError(`${at}.role: unknown role '${m.role}' (roles: ${[...roles.keys()].join(", ")})`);
      if (labels.has(m.label)) throw new RegistryError(`${at}.label: duplicate label '${m.label}'`);
      labels.add(m.label);
      for (const v of Object.keys(m.vars ?? {})) {
        if (!Object.hasOwn(role.vars, v)) throw new RegistryError(`${at}.vars.${v}: role ${m.role} has no such variable (allowed: ${varList(role.vars)})`);
      }
      for (const v of Object.keys(role.vars)) if (!Object.hasOwn(m.vars ?? {}, v)) teamVars.add(v);
    });
    teams.set(name, { name, description: spec.description, members: spec.members, vars: [...teamVars], source });
  }

  const roleOrThrow = (name: string): LoadedRole => {
    const role = typeof name === "string" ? roles.get(name) : undefined;
    if (!role) throw new RoleError("unknown_role", `unknown role '${String(name)}'; available roles: ${[...roles.keys()].join(", ")}`);
    return role;
  };

  const render = (roleName: string, opts: RenderOptions = {}): RenderedPrompt => {
    const role = roleOrThrow(roleName);
    const given = opts.vars ?? {};
    if (typeof given !== "object" || Array.isArray(given)) throw new RoleError("bad_value", `role ${role.name}: vars must be an object`);
    const context: Record<string, string> = Object.create(null);
    for (const [k, v] of Object.entries(given)) {
      if (!Object.hasOwn(role.vars, k)) {
        throw new RoleError("unknown_var", `role ${role.name}: unknown variable '${k}'; allowed: ${varList(role.vars)}`);
      }
      const s = stringValue(v, `role ${role.name}: variable '${k}'`);
      if (s !== undefined) context[k] = s;
    }
    for (const [k, spec] of Object.entries(role.vars)) {
      const have = context[k];
      if (spec.required && (have === undefined || have.trim() === "")) {
        throw new RoleError("missing_var", `role ${role.name}: missing required variable '${k}' (${spec.description})`);
      }
      if (have === undefined) context[k] = spec.default ?? "";
    }
    const task = stringValue(opts.task, `role ${role.name}: task`) ?? "";
    let outputSchema = role.outputSchema;
    if (opts.outputSchema !== undefined) {
      try {
        outputSchema = resolveSchema(opts.outputSchema as RoleSpec["outputSchema"], `role ${role.name}: outputSchema`);
      } catch (err) {
        throw new RoleError("bad_value", (err as Error).message);
      }
    }
    context.task = task;
    context.role = role.name;
    context.outputSchema = outputSchema ? JSON.stringify(outputSchema, null, 2) : "";
    let text: string;
    try {
      text = role.template(context);
    } catch (err) {
      // Strict mode refuses unknown names (also constructor/__proto__ lookups): say which template.
      throw new RoleError("bad_value", `role ${role.name}: template ${role.name} failed to render: ${(err as Error).message}`);
    }
    const prompt = text.replace(/^\s+/, "").trimEnd() + "\n";
    const out: RenderedPrompt = { prompt, tier: role.tier };
    if (outputSchema) out.outputSchema = structuredClone(outputSchema);
    return out;
  };

  const expandTeam = (teamName: string, vars: Record<string, unknown> = {}): TeamRun[] => {
    const team = typeof teamName === "string" ? teams.get(teamName) : undefined;
    if (!team) throw new RoleError("unknown_team", `unknown team '${String(teamName)}'; available teams: ${[...teams.keys()].join(", ") || "(none)"}`);
    const given: Record<string, string> = {};
    for (const [k, v] of Object.entries(vars ?? {})) {
      if (!team.vars.includes(k)) {
        throw new RoleError("unknown_var", `team ${team.name}: unknown variable '${k}'; allowed: ${team.vars.join(", ") || "(none)"}`);
      }
      const s = stringValue(v, `team ${team.name}: variable '${k}'`);
      if (s !== undefined) given[k] = s;
    }
    return team.members.map((m) => {
      const role = roles.get(m.role)!;
      const memberVars: Record<string, string> = {};
      for (const [k, v] of Object.entries(given)) if (Object.hasOwn(role.vars, k)) memberVars[k] = v;
      Object.assign(memberVars, m.vars ?? {});
      return { role: m.role, label: m.label, vars: memberVars };
    });
  };

  const describe = (): string => {
    const lines = ["Roles:"];
    for (const r of roles.values()) {
      const vars = Object.entries(r.vars)
        .map(([k, v]) => (v.required ? `${k} (required)` : v.default !== undefined ? `${k}=${v.default}` : k))
        .join(", ");
      lines.push(`- ${r.name} (tier ${r.tier}${r.outputSchema ? ", JSON" : ""}): ${r.description} Vars: ${vars || "none"}.`);
    }
    lines.push("Teams:");
    for (const t of teams.values()) {
      const members = t.members.map((m) => `${m.label} (${m.role})`).join(", ");
      lines.push(`- ${t.name}: ${t.description} Members: ${members}. Vars: ${t.vars.join(", ") || "none"}.`);
    }
    return lines.join("\n");
  };

  const publicRole = (r: LoadedRole): RoleInfo => {
    const { template: _t, ...info } = r;
    return structuredClone(info);
  };

  return {
    render,
    expandTeam,
    roleNames: () => [...roles.keys()],
    teamNames: () => [...teams.keys()],
    role: (name) => (roles.has(name) ? publicRole(roles.get(name)!) : undefined),
    team: (name) => (teams.has(name) ? structuredClone(teams.get(name)!) : undefined),
    describe,
    stats: () => ({ compiles: engine.compiles }),
  };
}
