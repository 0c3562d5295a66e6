// Loading registries: validation errors that name the file, the entry and the field (a 400 for the
// tool call that loads them), user rolesDir overrides, template paths confined to their folder, and
// templates checked at load.
import { afterEach, describe, expect, it } from "vitest";
import { cpSync, mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadRegistry, RegistryError } from "../../src/roles/registry.js";
import { findPackageRoot } from "../../src/roles/package-root.js";

const ROOT = findPackageRoot();
const temps: string[] = [];
afterEach(() => {
  for (const t of temps.splice(0)) rmSync(t, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "pa-roles-"));
  temps.push(dir);
  return dir;
}

/** A rolesDir holding roles.json and the given template files. */
function userDir(registry: object, files: Record<string, string> = {}): string {
  const dir = tempDir();
  writeFileSync(join(dir, "roles.json"), JSON.stringify(registry, null, 2));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

const okRole = (extra: object = {}) => ({
  description: "A test role.",
  template: "t.hbs",
  tier: 1,
  vars: { subject: { description: "What to do.", required: true } },
  ...extra,
});

function loadError(registry: object, files: Record<string, string> = { "t.hbs": "Do {{subject}}." }): string {
  const dir = userDir(registry, files);
  try {
    loadRegistry({ rolesDir: dir });
  } catch (err) {
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as Error).name).toBe("ToolInputError"); // what the host answers with a 400
    return (err as Error).message.replaceAll(dir, "<dir>");
  }
  throw new Error("expected loadRegistry to fail");
}

describe("a broken rolesDir: errors name the file and the entry", () => {
  it.each([
    ["tier out of range", { roles: { bad: okRole({ tier: 5 }) } }, "<dir>/roles.json roles.bad.tier: must be integer 0..2"],
    ["tier not a number", { roles: { bad: okRole({ tier: "high" }) } }, "<dir>/roles.json roles.bad.tier: must be integer 0..2"],
    ["unknown field", { roles: { bad: okRole({ model: "x" }) } }, "<dir>/roles.json roles.bad.model: unknown field (allowed: description, template, tier, outputSchema, vars, tools)"],
    ["missing description", { roles: { bad: { ...okRole(), description: undefined } } }, "<dir>/roles.json roles.bad.description: is required"],
    ["bad role name", { roles: { Bad_Name: okRole() } }, "<dir>/roles.json roles.Bad_Name: invalid name"],
    ["bad var name", { roles: { bad: okRole({ vars: { "my-var": { description: "d", required: false } } }) } }, "<dir>/roles.json roles.bad.vars.my-var: invalid name"],
    ["var without required", { roles: { bad: okRole({ vars: { subject: { description: "d" } } }) } }, "<dir>/roles.json roles.bad.vars.subject.required: is required"],
    ["not a .hbs template", { roles: { bad: okRole({ template: "t.txt" }) } }, "<dir>/roles.json roles.bad.template: must be a relative path to a .hbs file"],
    ["bad outputSchema", { roles: { bad: okRole({ outputSchema: 42 }) } }, "<dir>/roles.json roles.bad.outputSchema: must be a JSON Schema object or a reference"],
    ["unknown schema reference", { roles: { bad: okRole({ outputSchema: "#nope" }) } }, '<dir>/roles.json roles.bad.outputSchema: unknown schema reference "#nope" (known: #research-result)'],
    ["invalid JSON Schema", { roles: { bad: okRole({ outputSchema: { type: "thing" } }) } }, "<dir>/roles.json roles.bad.outputSchema: is not a valid JSON Schema"],
    ["reserved var", { roles: { bad: okRole({ vars: { task: { description: "d", required: false } } }) } }, "<dir>/roles.json roles.bad.vars.task: reserved name"],
    ["prototype var", { roles: { bad: okRole({ vars: { constructor: { description: "d", required: false } } }) } }, "<dir>/roles.json roles.bad.vars.constructor: reserved name"],
    ["required with default", { roles: { bad: okRole({ vars: { subject: { description: "d", required: true, default: "x" } } }) } }, "<dir>/roles.json roles.bad.vars.subject: a required variable cannot have a default"],
    ["missing template file", { roles: { bad: okRole({ template: "missing.hbs" }) } }, '<dir>/roles.json roles.bad.template: template "missing.hbs" not found'],
    ["team with unknown role", { teams: { crew: { description: "d", members: [{ role: "ghost", label: "a" }] } } }, "<dir>/roles.json teams.crew.members[0].role: unknown role 'ghost'"],
    ["team with no members", { teams: { crew: { description: "d", members: [] } } }, "<dir>/roles.json teams.crew.members: must be a non-empty array of members"],
    [
      "team duplicate label",
      { teams: { crew: { description: "d", members: [{ role: "architect", label: "a" }, { role: "architect", label: "a" }] } } },
      "<dir>/roles.json teams.crew.members[1].label: duplicate label 'a'",
    ],
    [
      "team member var the role lacks",
      { teams: { crew: { description: "d", members: [{ role: "architect", label: "a", vars: { topic: "x" } }] } } },
      "<dir>/roles.json teams.crew.members[0].vars.topic: role architect has no such variable (allowed: problem, constraints, context)",
    ],
    ["unknown top-level field", { roles: {}, extras: true }, "<dir>/roles.json extras: unknown field (allowed: $schema, roles, teams, schemas)"],
  ])("%s", (_name, registry, expected) => {
    expect(loadError(registry)).toContain(expected);
  });

  it("templates are checked at load: undeclared variables, unknown partials and helpers, syntax", () => {
    expect(loadError({ roles: { bad: okRole() } }, { "t.hbs": "Do {{subjct}}." })).toMatch(
      /^<dir>\/roles\.json roles\.bad\.template \(t\.hbs\):1: uses \{\{subjct\}\} but the role declares no variable 'subjct'/,
    );
    expect(loadError({ roles: { bad: okRole() } }, { "t.hbs": "{{#if (eq subjct 'a')}}x{{/if}}" })).toContain("no variable 'subjct'");
    expect(loadError({ roles: { bad: okRole() } }, { "t.hbs": "{{> nowhere}}" })).toContain("<dir>/roles.json roles.bad.template (t.hbs):1: unknown partial 'nowhere'");
    expect(loadError({ roles: { bad: okRole() } }, { "t.hbs": "{{shout subject}}" })).toContain("unknown helper 'shout'");
    expect(loadError({ roles: { bad: okRole() } }, { "t.hbs": "{{#if subject}}" })).toContain("template does not parse");
  });

  it("a rolesDir without a registry file is an error", () => {
    const dir = tempDir();
    expect(() => loadRegistry({ rolesDir: dir })).toThrowError(`rolesDir ${dir}: no roles.json or skill.json found`);
  });

  it("unparseable JSON names the file", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "roles.json"), "{ roles: ");
    expect(() => loadRegistry({ rolesDir: dir })).toThrowError(`${join(dir, "roles.json")}: cannot read registry`);
    expect(() => loadRegistry({ rolesDir: dir })).toThrow(RegistryError);
  });
});

describe("user roles from rolesDir", () => {
  it("override built-ins by name, add new roles and teams, and use the shared partials", () => {
    const dir = userDir(
      {
        roles: {
          researcher: {
            description: "House researcher.",
            template: "house/researcher.hbs",
            tier: 2,
            vars: { topic: { description: "Topic.", required: true }, lens: { description: "Lens.", required: false, default: "house" } },
          },
          haiku: okRole({ template: "haiku.hbs", tier: 0 }),
        },
        teams: {
          "poets-and-critics": {
            description: "A haiku and an architect.",
            members: [
              { role: "haiku", label: "poem" },
              { role: "architect", label: "design" },
            ],
          },
        },
      },
      {
        "house/researcher.hbs": "HOUSE {{topic}} via {{lens}}\n{{> task}}\n{{> respond}}",
        "haiku.hbs": "Write a haiku about {{subject}}.\n{{> boundaries}}",
      },
    );
    const reg = loadRegistry({ rolesDir: dir });
    const out = reg.render("researcher", { vars: { topic: "{{constructor}}" }, task: "{{#with x}}y{{/with}}" });
    expect(out.prompt).toMatch(/^HOUSE \{\{constructor\}\} via house\n/);
    expect(out.prompt).toContain("<task>\n{{#with x}}y{{/with}}\n</task>");
    expect(out.tier).toBe(2);
    expect(out.outputSchema).toBeUndefined();
    expect(reg.render("haiku", { vars: { subject: "rain" } }).prompt).toContain("Write a haiku about rain.");
    expect(reg.roleNames()).toEqual(["researcher", "content-writer", "code-reviewer", "architect", "synthesizer", "haiku"]);
    expect(reg.teamNames()).toContain("poets-and-critics");
    expect(reg.expandTeam("poets-and-critics", { subject: "s", problem: "p" })).toEqual([
      { role: "haiku", label: "poem", vars: { subject: "s" } },
      { role: "architect", label: "design", vars: { problem: "p" } },
    ]);
    // the built-in registry is untouched
    expect(loadRegistry().render("researcher", { vars: { topic: "t" } }).tier).toBe(0);
  });

  it("accept skill.json as the file name", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "skill.json"), JSON.stringify({ roles: { mini: okRole() } }));
    writeFileSync(join(dir, "t.hbs"), "Mini {{subject}}");
    expect(loadRegistry({ rolesDir: dir }).render("mini", { vars: { subject: "x" } }).prompt).toBe("Mini x\n");
  });

  it("an override that breaks a built-in team is reported on the team", () => {
    const msg = loadError({ roles: { "code-reviewer": okRole() } });
    expect(msg).toContain("skill.json teams.code-review.members[0].vars.focus: role code-reviewer has no such variable");
  });

  it("refuses templates that escape their folder", () => {
    const outside = tempDir();
    writeFileSync(join(outside, "evil.hbs"), "evil");
    const rel = (dir: string) => join("..", outside.split("/").pop()!, "evil.hbs");

    const dir1 = userDir({ roles: { evil: okRole({ template: "PLACEHOLDER" }) } });
    writeFileSync(join(dir1, "roles.json"), JSON.stringify({ roles: { evil: okRole({ template: rel(dir1) }) } }));
    expect(() => loadRegistry({ rolesDir: dir1 })).toThrowError(/roles\.evil\.template: template ".*evil\.hbs" must stay inside/);

    expect(loadError({ roles: { evil: okRole({ template: join(outside, "evil.hbs") }) } })).toContain("must stay inside");
    expect(loadError({ roles: { evil: okRole({ template: "../../../../../etc/x.hbs" }) } })).toContain("must stay inside");

    const dir2 = userDir({ roles: { evil: okRole({ template: "link.hbs" }) } });
    symlinkSync(join(outside, "evil.hbs"), join(dir2, "link.hbs"));
    expect(() => loadRegistry({ rolesDir: dir2 })).toThrowError(/template "link\.hbs" must stay inside/);
  });
});
