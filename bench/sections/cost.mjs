// Section "cost": what the adaptive ladder saves, side by side in one run on a scripted model with
// prices — adaptive ladder vs fixed ladder (`adaptive: false`) vs all on the strongest rung, on a
// workload where the researcher role's cheap rung fails 80% of the time (prose instead of its JSON
// contract, the corrective follow-up too, then escalation to mid) and one where cheap always succeeds.
// Workloads and variants: bench/lib/cost-workload.mjs. The whole plugin (tools, engine, SQLite store)
// runs on the in-memory host whose scripted model answers each rung after its latency
// (bench/probes/cost-case.mjs), one fresh Node 24 process per repeat; medians over the repeats.
// Not in a real gateway: the variants must not learn from each other, so each runs as its own agent, and
// OpenClaw 2026.9.6 runs children only for configured agents ("Agent \"x\" no longer exists in
// configuration"), while configuring several agents makes the harness's agent-less warm-up turn fail
// (AgentSelectionRequiredError). The real-gateway proof of the learning is tests/e2e/stats.test.ts.
// Cost is the plugin's own figure (details.usage.costUsd); makespan is the wall time of the workload's
// batches (each call waits for its batch), summed.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { provision } from "../../scripts/provision.mjs";
import { runProbe } from "../lib/child.mjs";
import { BATCHES, CONCURRENCY, RUNG_PRICES, TASKS, WORKLOADS, variants } from "../lib/cost-workload.mjs";
import { median, round } from "../lib/stats.mjs";

const PROBE = fileURLToPath(new URL("../probes/cost-case.mjs", import.meta.url));
const TARGET = { fails: 0.8, succeeds: 1.02 };

/** The in-memory host and the plugin, bundled where the plugin finds its skill.json and prompts. */
async function hostBundle(root) {
  const dir = join(root, ".cache", "bench");
  mkdirSync(dir, { recursive: true });
  const outfile = join(dir, "cost-host.mjs");
  await build({
    stdin: { contents: `export { fakeHost } from "./tests/support/fake-host.ts";`, resolveDir: root, loader: "ts", sourcefile: "bench-cost-entry.ts" },
    outfile, bundle: true, platform: "node", format: "esm", target: "node20", logLevel: "warning",
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  return outfile;
}

async function inProcess(root, repeats, log) {
  const bundle = await hostBundle(root);
  const { nodeBin } = provision();
  const samples = [];
  for (let rep = 0; rep < repeats; rep++) {
    log(`  in process: repeat ${rep + 1}/${repeats}`);
    const r = await runProbe(PROBE, [bundle, rep], { node: nodeBin, timeoutMs: 20 * 60_000 });
    for (const [workload, byVariant] of Object.entries(r.workloads)) for (const [variant, s] of Object.entries(byVariant)) samples.push({ workload, variant, repeat: rep, ...s });
  }
  return samples;
}

function tableOf(title, samples, provider) {
  const med = (w, v, key) => median(samples.filter((s) => s.workload === w && s.variant === v).map((s) => s[key]));
  const rows = WORKLOADS.flatMap((w) =>
    variants(provider).map((v) => [
      w.label, v.label,
      round(med(w.id, v.id, "costUsd"), 4), round(med(w.id, v.id, "costUsd") / med(w.id, "fixed", "costUsd"), 3),
      round(med(w.id, v.id, "makespanMs") / 1000, 2), round(med(w.id, v.id, "makespanMs") / med(w.id, "fixed", "makespanMs"), 3),
      med(w.id, v.id, "attempts"), med(w.id, v.id, "tokens"), `${med(w.id, v.id, "runsOk")}/${BATCHES * TASKS}`, med(w.id, v.id, "startsUp"),
    ]),
  );
  const columns = ["workload", "variant", "cost $", "cost vs fixed", "makespan s", "makespan vs fixed", "attempts", "tokens", "runs ok", "runs started on mid"];
  return { table: { title, columns, rows }, ratio: (w, key) => med(w, "adaptive", key) / med(w, "fixed", key) };
}

export default {
  id: "cost",
  title: "Cost: adaptive ladder vs fixed ladder vs all on the strongest rung (scripted model with prices)",
  async run({ root, quick, log }) {
    const repeats = quick ? 3 : 5;
    const shape = `${BATCHES} batches x ${TASKS} researcher runs per workload and variant, maxConcurrency ${CONCURRENCY}`;
    const tables = [];
    const targets = [];
    const target = (r, w, key, name) => {
      const value = r.ratio(w, key);
      targets.push({ name, target: `<= ${TARGET[w]}x fixed`, value: round(value, 3), unit: "x", met: value <= TARGET[w] });
    };
    const mem = tableOf(`Cost, in process (plugin + SQLite store + in-memory host; latency cheap/mid/strong 200/400/800 ms): ${shape}; medians over ${repeats} fresh processes`, await inProcess(root, repeats, log), "m");
    tables.push(mem.table);
    target(mem, "fails", "costUsd", "adaptive cost, cheap fails 80%");
    target(mem, "fails", "makespanMs", "adaptive makespan, cheap fails 80%");
    target(mem, "succeeds", "costUsd", "adaptive cost, cheap succeeds");
    target(mem, "succeeds", "makespanMs", "adaptive makespan, cheap succeeds");
    return {
      tables,
      notes: [
        `prices (USD per million tokens, input/output): cheap ${RUNG_PRICES.cheap.input}/${RUNG_PRICES.cheap.output}, mid ${RUNG_PRICES.mid.input}/${RUNG_PRICES.mid.output}, strong ${RUNG_PRICES.strong.input}/${RUNG_PRICES.strong.output} (plugin \`prices\`)`,
        "the adaptive variant's first batch has no history and runs like the fixed ladder; about 1 in 10 of its later runs still start on cheap (exploration, Math.random)",
      ],
      targets,
      data: { batches: BATCHES, tasks: TASKS, concurrency: CONCURRENCY, prices: RUNG_PRICES },
    };
  },
};
