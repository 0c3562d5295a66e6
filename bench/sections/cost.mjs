// Section "cost": what the adaptive ladder saves, side by side in one run on a scripted model with
// prices — adaptive ladder vs fixed ladder (`adaptive: false`) vs all on the strongest rung, on a
// workload where the researcher role's cheap rung fails 80% of the time (prose instead of its JSON
// contract, the corrective follow-up too, then escalation to mid) and one where cheap always succeeds.
// Workloads and variants: bench/lib/cost-workload.mjs. Two drivers:
//   in process (default)   the whole plugin (tools, engine, SQLite store) on the in-memory host whose
//                          scripted model answers each rung after its latency (bench/probes/cost-case.mjs),
//                          one fresh Node 24 process per repeat; medians over the repeats
//   real gateway           BENCH_COST_GATEWAY=1 (=only: without the in-process driver): one OpenClaw gateway with the scripted fake model (rules
//                          with per-rung delays) and plugin `prices`; one repeat (slow on a shared machine)
// Cost is the plugin's own figure (details.usage.costUsd); makespan is the wall time of the workload's
// batches (each call waits for its batch), summed.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { provision } from "../../scripts/provision.mjs";
import { startGateway } from "../../tests/e2e/support/gateway.mjs";
import { runProbe } from "../lib/child.mjs";
import { BATCHES, CONCURRENCY, CORRECTIVE, RESEARCH, RUNG_PRICES, TASKS, WORKLOADS, ladderOf, pricesOf, runWorkload, variants } from "../lib/cost-workload.mjs";
import { median, round } from "../lib/stats.mjs";

const PROBE = fileURLToPath(new URL("../probes/cost-case.mjs", import.meta.url));
const TARGET = { fails: 0.8, succeeds: 1.02 };
const GATEWAY_LATENCY_MS = { cheap: 400, mid: 800, strong: 1600 };

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

async function realGateway(root, log) {
  log("  real gateway: starting (provisions openclaw + Node 24 on first use)");
  const gw = await startGateway({
    name: "bench-cost",
    pluginDir: root, // the built plugin (npm run bench builds first), staged like an install
    pluginConfig: { ladder: ladderOf("fake"), prices: pricesOf("fake"), retries: 2 },
    subagent: { allowModelOverride: true },
    config: { agents: { defaults: { subagents: { maxConcurrent: 20, maxChildrenPerAgent: 20 } } } },
  });
  // Stopped from outside (Ctrl-C, a timeout): the gateway goes down with the bench, never left running.
  const onSignal = (sig) => void gw.stop().finally(() => process.exit(sig === "SIGINT" ? 130 : 143));
  process.once("SIGINT", onSignal).once("SIGTERM", onSignal);
  const ok = (rung) => ({ name: `${rung}-ok`, model: `fake/${rung}`, subagent: true, match: "BENCHCOST", reply: RESEARCH, delay: GATEWAY_LATENCY_MS[rung] });
  gw.fake.script([
    { name: "cheap-fails", model: "fake/cheap", subagent: true, match: "FAILCHEAP", reply: "Here is what I found: the topic is broad.", delay: GATEWAY_LATENCY_MS.cheap },
    { name: "cheap-fails-again", model: "fake/cheap", subagent: true, match: CORRECTIVE, reply: "Still prose.", delay: GATEWAY_LATENCY_MS.cheap },
    ok("cheap"), ok("mid"), ok("strong"),
  ]);
  const samples = [];
  try {
    for (const w of WORKLOADS) {
      log(`  real gateway: ${w.label}`);
      const acc = await runWorkload(w, 0, "fake", async (_v, sessionKey, args) => {
        const r = await gw.invokeTool("parallel_spawn", args, { sessionKey, timeoutMs: 700_000 });
        if (r.status !== 200) throw new Error(`parallel_spawn: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
        return r.body.result.details;
      });
      for (const [variant, s] of Object.entries(acc)) samples.push({ workload: w.id, variant, repeat: 0, ...s });
    }
  } finally {
    process.off("SIGINT", onSignal).off("SIGTERM", onSignal);
    await gw.stop();
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
    const withGateway = ["1", "only"].includes(process.env.BENCH_COST_GATEWAY ?? "");
    const tables = [];
    const targets = [];
    const target = (r, w, key, name) => {
      const value = r.ratio(w, key);
      targets.push({ name, target: `<= ${TARGET[w]}x fixed`, value: round(value, 3), unit: "x", met: value <= TARGET[w] });
    };
    if (process.env.BENCH_COST_GATEWAY !== "only") {
      const mem = tableOf(`Cost, in process (plugin + SQLite store + in-memory host; latency cheap/mid/strong 200/400/800 ms): ${shape}; medians over ${repeats} fresh processes`, await inProcess(root, repeats, log), "m");
      tables.push(mem.table);
      target(mem, "fails", "costUsd", "adaptive cost, cheap fails 80%");
      target(mem, "fails", "makespanMs", "adaptive makespan, cheap fails 80%");
      target(mem, "succeeds", "costUsd", "adaptive cost, cheap succeeds");
      target(mem, "succeeds", "makespanMs", "adaptive makespan, cheap succeeds");
    }
    let gateway;
    if (withGateway) {
      const samples = await realGateway(root, log);
      gateway = tableOf(`Cost, real gateway (scripted fake model, latency cheap/mid/strong ${Object.values(GATEWAY_LATENCY_MS).join("/")} ms): ${shape}; one run`, samples, "fake");
      tables.push(gateway.table);
      target(gateway, "fails", "costUsd", "gateway: adaptive cost, cheap fails 80%");
      target(gateway, "fails", "makespanMs", "gateway: adaptive makespan, cheap fails 80%");
      target(gateway, "succeeds", "costUsd", "gateway: adaptive cost, cheap succeeds");
      target(gateway, "succeeds", "makespanMs", "gateway: adaptive makespan, cheap succeeds");
    }
    return {
      tables,
      notes: [
        `prices (USD per million tokens, input/output): cheap ${RUNG_PRICES.cheap.input}/${RUNG_PRICES.cheap.output}, mid ${RUNG_PRICES.mid.input}/${RUNG_PRICES.mid.output}, strong ${RUNG_PRICES.strong.input}/${RUNG_PRICES.strong.output} (plugin \`prices\`)`,
        "the adaptive variant's first batch has no history and runs like the fixed ladder; about 1 in 10 of its later runs still start on cheap (exploration, Math.random)",
        ...(withGateway ? [] : ["the real-gateway driver runs with BENCH_COST_GATEWAY=1 (node bench/run.mjs --only cost)"]),
      ],
      targets,
      data: { batches: BATCHES, tasks: TASKS, concurrency: CONCURRENCY, prices: RUNG_PRICES },
    };
  },
};
