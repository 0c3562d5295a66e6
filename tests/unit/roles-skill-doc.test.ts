// SKILL.md stays in step with the registry and within the AgentSkills frontmatter rules.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadRegistry } from "../../src/roles/registry.js";
import { findPackageRoot } from "../../src/roles/package-root.js";

const text = readFileSync(join(findPackageRoot(), "SKILL.md"), "utf8");
const registry = loadRegistry();

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
    for (const name of registry.roleNames()) {
      const row = text.split("\n").find((l) => l.startsWith(`| \`${name}\``));
      expect(row, `row for ${name}`).toBeDefined();
      for (const v of Object.keys(registry.role(name)!.vars)) expect(row).toContain(`\`${v}`);
    }
    for (const team of registry.teamNames()) {
      expect(text).toContain(`\`${team}\``);
      for (const m of registry.team(team)!.members) expect(text).toContain(`\`${m.label}\``);
    }
  });

  it("stays concise", () => {
    expect(text.split("\n").length).toBeLessThan(150);
  });
});
