// Section "templates": render rate of every built-in role through the registry the plugin
// ships (dist/index.js loadRegistry().render), with realistic sample vars. Median renders/s
// over several timed slices, after a warm-up (compiled templates are cached by the engine).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { median, round } from "../lib/stats.mjs";

const CODE = Array.from({ length: 60 }, (_, i) => `  const v${i} = items.map((x) => x * ${i}).filter(Boolean); // line ${i}`).join("\n");
const SAMPLES = {
  topic: "How do vector databases index embeddings at scale?",
  brief: "Choose a retrieval stack for a 50M-document corpus.",
  lens: "critical",
  style: "funny",
  format: "social media post",
  audience: "backend engineers",
  length: "280 characters",
  code: `function work(items) {\n${CODE}\n}`,
  focus: "security",
  language: "TypeScript",
  context: "Hot path of an ingestion service; p99 latency matters.",
  problem: "Design a multi-tenant job queue with per-tenant fairness.",
  constraints: "Postgres only, 10k jobs/s, two engineers, three months.",
  results: JSON.stringify(Array.from({ length: 5 }, (_, i) => ({ label: `agent-${i + 1}`, topic: `topic ${i + 1}`, data: { summary: "x".repeat(400), confidence: 0.7 } }))),
  failed: JSON.stringify([{ label: "agent-6", topic: "topic 6", state: "timed_out", error: "no result within 120s" }]),
};

/** Every variable a role declares in skill.json, filled with a realistic sample. */
function sampleVars(role) {
  return Object.fromEntries(Object.keys(role.vars).map((name) => [name, SAMPLES[name] ?? `sample value for ${name}`]));
}

function rate(fn, sliceMs) {
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < sliceMs) {
    for (let i = 0; i < 50; i++) fn();
    n += 50;
    t = performance.now();
  }
  return n / ((t - t0) / 1000);
}

export default {
  id: "templates",
  title: "Role template render rate",
  async run({ root, quick }) {
    const { loadRegistry } = await import(pathToFileURL(join(root, "dist/index.js")).href);
    const t0 = performance.now();
    const registry = loadRegistry();
    const loadMs = performance.now() - t0;
    const skill = JSON.parse(readFileSync(join(root, "skill.json"), "utf8"));
    const slices = quick ? 3 : 7;
    const sliceMs = quick ? 150 : 300;
    const rows = [];
    const data = [];
    for (const name of registry.roleNames()) {
      const vars = sampleVars(skill.roles[name]);
      const render = () => registry.render(name, { vars, task: "Keep it short." });
      const promptChars = render().prompt.length;
      rate(render, 100); // warm-up
      const rates = Array.from({ length: slices }, () => rate(render, sliceMs));
      const perSec = median(rates);
      rows.push([name, Object.keys(vars).length, promptChars, round(perSec, 0), round(1e6 / perSec, 1)]);
      data.push({ role: name, vars: Object.keys(vars), promptChars, rendersPerSec: perSec, rates });
    }
    return {
      tables: [
        {
          title: `Templates: loadRegistry() ${round(loadMs, 1)} ms (first, in-process); render rate median of ${slices} x ${sliceMs} ms slices`,
          columns: ["role", "vars", "prompt chars", "renders/s", "µs/render"],
          rows,
        },
      ],
      targets: [],
      data: { loadRegistryMs: loadMs, roles: data },
    };
  },
};
