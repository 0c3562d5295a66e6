// SKILL.md stays in step with the registry and within the AgentSkills frontmatter rules.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { findPackageRoot } from "../../src/roles/package-root.js";
import type { RegistryFile } from "../../src/roles/registry-schema.js";

const text = readFileSync(join(findPackageRoot(), "SKILL.md"), "utf8");
const skill = JSON.parse(readFileSync(join(findPackageRoot(), "skill.json"), "utf8")) as Required<RegistryFile>;

function frontmatter(): Record<string, string> {
  const m = /^---\n([\s\S]*?)\n---\n/.exec(text);
  expect(m).not.toBeNull();
  const out: Record<string, string> = {};
  for (const line of m![1]!.split("\n")) {
    const i = line.indexOf(":");
    out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

describe("SKILL.md", () => {
  it("has AgentSkills frontmatter: name, a one-line description under 160 chars, JSON metadata", () => {
    const fm = frontmatter();
    expect(fm.name).toBe("parallel-agents");
    expect(fm.description!.length).toBeGreaterThan(20);
    expect(fm.description!.length).toBeLessThan(160);
    expect(JSON.parse(fm.metadata!)).toHaveProperty("openclaw.emoji");
  });

  it("teaches all four tools and waiting with poll_until_complete", () => {
    for (const tool of ["parallel_spawn", "poll_until_complete", "research_team", "parallel_cancel"]) expect(text).toContain(`\`${tool}\``);
    expect(text).toMatch(/3-5 agents/);
    expect(text).toMatch(/Never fan out trivial work/);
    for (const state of ["ok", "failed", "timed_out", "cancelled"]) expect(text).toContain(`\`${state}\``);
  });

  it("lists every role with its vars, and every team", () => {
    for (const [name, role] of Object.entries(skill.roles)) {
      const row = text.split("\n").find((l) => l.startsWith(`| \`${name}\``));
      expect(row, `row for ${name}`).toBeDefined();
      for (const v of Object.keys(role.vars)) expect(row).toContain(`\`${v}`);
      // The Tools column says what skill.json declares: "yes" keeps the agent's tools, "none" has none.
      expect(row!.split("|")[3].trim(), `tools of ${name}`).toMatch((role as { tools?: string }).tools === "none" ? /^none/ : /^yes/);
    }
    for (const [name, team] of Object.entries(skill.teams)) {
      expect(text).toContain(`\`${name}\``);
      for (const m of team.members) expect(text).toContain(`\`${m.label}\``);
    }
  });

  it("stays concise", () => {
    expect(text.split("\n").length).toBeLessThan(150);
  });
});
