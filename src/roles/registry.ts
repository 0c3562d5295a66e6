// The role registry: skill.json + prompts/*.hbs from the package, merged with a user's rolesDir.
// Loading validates every file and entry (errors name both) and compiles each template once;
// rendering fills a role's template with the caller's vars and task, which stay data.
import { existsSync, readdirSync, readFileSync, realpathSync } from "node:fs";
import { basename, isAbsolute, join, relative, resolve } from "node:path";
import { ToolInputError } from "../errors.js";
import { compileContract } from "../batch/json-contract.js";
import { findPackageRoot } from "./package-root.js";
import { RESERVED_VARS, RegistryError, validateRegistryFile, type RoleSpec, type TeamSpec } from "./registry-schema.js";
import { TemplateEngine, type Template } from "./templates.js";

export { RegistryError } from "./registry-schema.js";

export interface RenderOptions {
  vars?: Record<string, string>;
  /** Free-form extra instruction, rendered as a delimited block. */
  task?: string;
  /** Replaces the role's output schema (in the prompt and in the result); the caller has checked it. */
  outputSchema?: object;
}

/** `tier`: the starting rung on the model ladder (0 cheap, 1 mid, 2 strong); `tools`: whether the role's children need tools. */
export type RenderedPrompt = { prompt: string; tier: number; tools: boolean; outputSchema?: Record<string, unknown> };

export interface Registry {
  /** Throws a ToolInputError for an unknown role, an unknown variable or a missing required one. */
  render(role: string, options?: RenderOptions): RenderedPrompt;
  /** The team's members as role runs; `vars` flow to the members whose role declares them. */
  expandTeam(team: string, vars?: Record<string, string>): { role: string; label: string; vars: Record<string, string> }[];
  roleNames(): string[];
  teamNames(): string[];
  /** A named output schema (skill.json "schemas", e.g. "#research-result"), as a fresh copy. */
  schema(ref: string): Record<string, unknown> | undefined;
}

type Role = Pick<RoleSpec, "tier" | "vars"> & { tools: boolean; name: string; outputSchema?: Record<string, unknown>; template: Template };
/** `vars`: what a caller may pass, the variables of the members' roles that the member does not fix. */
type Team = TeamSpec & { vars: string[] };

const USER_FILES = ["roles.json", "skill.json"];

/** Resolve `rel` inside `base`; refuse absolute paths and anything (symlinks included) that leaves it. */
function insideFolder(base: string, rel: string, where: string): string {
  const outside = () => new RegistryError(`${where}: template "${rel}" must stay inside ${base}`);
  const escapes = (root: string, p: string) => {
    const r = relative(root, p);
    return r === "" || r.startsWith("..") || isAbsolute(r);
  };
  const full = resolve(base, rel);
  if (isAbsolute(rel) || escapes(base, full)) throw outside();
  if (!existsSync(full)) throw new RegistryError(`${where}: template "${rel}" not found in ${base}`);
  if (escapes(realpathSync(base), realpathSync(full))) throw outside();
  return full;
}

const names = (list: Iterable<string>) => [...list].join(", ") || "(none)";

/** A role's schema: a named reference or an object, checked by the same rules as a caller's. */
function roleSchema(spec: RoleSpec["outputSchema"], refs: Map<string, Record<string, unknown>>, where: string) {
  if (spec === undefined) return undefined;
  const schema = typeof spec === "string" ? refs.get(spec) : spec;
  if (!schema) throw new RegistryError(`${where}: unknown schema reference "${spec}" (known: ${names(refs.keys())})`);
  try {
    compileContract(schema);
  } catch (err) {
    throw new RegistryError(`${where}: ${(err as Error).message}`);
  }
  return schema;
}

export function loadRegistry(options: { rolesDir?: string } = {}): Registry {
  const root = findPackageRoot();
  const engine = new TemplateEngine();
  const partials = join(root, "prompts", "partials");
  for (const f of readdirSync(partials).filter((n) => n.endsWith(".hbs")).sort()) {
    engine.registerPartial(basename(f, ".hbs"), readFileSync(join(partials, f), "utf8"), `prompts/partials/${f}`);
  }

  // Later files override earlier ones by name: the package's skill.json, then the rolesDir's file.
  const files = [{ file: join(root, "skill.json"), base: root, source: "skill.json" }];
  if (options.rolesDir) {
    const base = resolve(options.rolesDir);
    const file = USER_FILES.map((n) => join(base, n)).find((f) => existsSync(f));
    if (!file) throw new RegistryError(`rolesDir ${base}: no ${USER_FILES.join(" or ")} found`);
    files.push({ file, base, source: file });
  }
  const roleSpecs = new Map<string, { spec: RoleSpec; base: string; source: string }>();
  const teamSpecs = new Map<string, { spec: TeamSpec; source: string }>();
  const refs = new Map<string, Record<string, unknown>>();
  for (const { file, base, source } of files) {
    let data: unknown;
    try {
      data = JSON.parse(readFileSync(file, "utf8"));
    } catch (err) {
      throw new RegistryError(`${source}: cannot read registry: ${(err as Error).message}`);
    }
    const registry = validateRegistryFile(data, source);
    for (const [name, spec] of Object.entries(registry.roles ?? {})) roleSpecs.set(name, { spec, base, source });
    for (const [name, spec] of Object.entries(registry.teams ?? {})) teamSpecs.set(name, { spec, source });
    for (const [name, schema] of Object.entries(registry.schemas ?? {})) refs.set(`#${name}`, schema as Record<string, unknown>);
  }

  const roles = new Map<string, Role>();
  for (const [name, { spec, base, source }] of roleSpecs) {
    const at = `${source} roles.${name}`;
    for (const [v, vs] of Object.entries(spec.vars)) {
      if (RESERVED_VARS.includes(v) || v in Object.prototype) {
        throw new RegistryError(`${at}.vars.${v}: reserved name (the renderer supplies ${RESERVED_VARS.join(", ")})`);
      }
      if (vs.required && vs.default !== undefined) throw new RegistryError(`${at}.vars.${v}: a required variable cannot have a default`);
    }
    const outputSchema = roleSchema(spec.outputSchema, refs, `${at}.outputSchema`);
    const file = insideFolder(base, spec.template, `${at}.template`);
    const template = engine.compile(readFileSync(file, "utf8"), `${at}.template (${spec.template})`, new Set([...Object.keys(spec.vars), ...RESERVED_VARS]));
    roles.set(name, { name, tier: spec.tier, tools: spec.tools !== "none", vars: spec.vars, outputSchema, template });
  }

  const teams = new Map<string, Team>();
  for (const [name, { spec, source }] of teamSpecs) {
    const labels = new Set<string>();
    const vars = new Set<string>();
    spec.members.forEach((m, i) => {
      const at = `${source} teams.${name}.members[${i}]`;
      const role = roles.get(m.role);
      if (!role) throw new RegistryError(`${at}.role: unknown role '${m.role}' (roles: ${names(roles.keys())})`);
      if (labels.has(m.label)) throw new RegistryError(`${at}.label: duplicate label '${m.label}'`);
      labels.add(m.label);
      for (const v of Object.keys(m.vars ?? {})) {
        if (!Object.hasOwn(role.vars, v)) throw new RegistryError(`${at}.vars.${v}: role ${m.role} has no such variable (allowed: ${names(Object.keys(role.vars))})`);
      }
      for (const v of Object.keys(role.vars)) if (!Object.hasOwn(m.vars ?? {}, v)) vars.add(v);
    });
    teams.set(name, { ...spec, vars: [...vars] });
  }

  const render: Registry["render"] = (roleName, opts = {}) => {
    const role = roles.get(roleName);
    if (!role) throw new ToolInputError(`unknown role '${roleName}'; available roles: ${names(roles.keys())}`);
    const allowed = names(Object.keys(role.vars));
    const context: Record<string, string> = Object.create(null);
    for (const [k, v] of Object.entries(opts.vars ?? {})) {
      if (!Object.hasOwn(role.vars, k)) throw new ToolInputError(`role ${role.name}: unknown variable '${k}'; allowed: ${allowed}`);
      context[k] = v;
    }
    for (const [k, spec] of Object.entries(role.vars)) {
      if (spec.required && !context[k]?.trim()) throw new ToolInputError(`role ${role.name}: missing required variable '${k}' (${spec.description})`);
      context[k] ??= spec.default ?? "";
    }
    const outputSchema = opts.outputSchema ?? role.outputSchema;
    Object.assign(context, { task: opts.task ?? "", role: role.name, outputSchema: outputSchema ? JSON.stringify(outputSchema, null, 2) : "" });
    let text: string;
    try {
      text = role.template(context);
    } catch (err) {
      // Strict mode refuses unknown names (also constructor/__proto__ lookups): say which template.
      throw new ToolInputError(`role ${role.name}: template ${role.name} failed to render: ${(err as Error).message}`);
    }
    return { prompt: `${text.trim()}\n`, tier: role.tier, tools: role.tools, ...(outputSchema ? { outputSchema: structuredClone(outputSchema) as Record<string, unknown> } : {}) };
  };

  const expandTeam: Registry["expandTeam"] = (teamName, vars = {}) => {
    const team = teams.get(teamName);
    if (!team) throw new ToolInputError(`unknown team '${teamName}'; available teams: ${names(teams.keys())}`);
    for (const k of Object.keys(vars)) {
      if (!team.vars.includes(k)) throw new ToolInputError(`team ${teamName}: unknown variable '${k}'; allowed: ${names(team.vars)}`);
    }
    return team.members.map((m) => {
      const declared = roles.get(m.role)!.vars;
      const given = Object.entries(vars).filter(([k]) => Object.hasOwn(declared, k));
      return { role: m.role, label: m.label, vars: { ...Object.fromEntries(given), ...m.vars } };
    });
  };

  const schema = (ref: string) => (refs.has(ref) ? structuredClone(refs.get(ref)) : undefined);
  return { render, expandTeam, schema, roleNames: () => [...roles.keys()], teamNames: () => [...teams.keys()] };
}
