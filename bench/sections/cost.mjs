// Section "cost": what the adaptive ladder saves, side by side in one real gateway on the scripted
// fake model with prices (plugin `prices`). Three variants run the same workloads, each as its own
// agent (the adaptive ladder learns per agent, so no variant learns from another's runs):
//   adaptive     the default: the ladder learns a role's starting rung from its last runs
//   fixed        the same calls with `adaptive: false`: every run starts on its role's own rung
//   all strong   `ladder: ["fake/strong"]`: every run on the strongest rung
// Workloads (BATCHES batches of TASKS researcher runs each, run one after another):
//   cheap fails 80%   8 of every 10 researcher runs get prose, not JSON, from fake/cheap (the
//                     corrective follow-up fails too), then escalate to fake/mid
//   cheap succeeds    fake/cheap always answers valid JSON
// Each request to a rung takes that rung's latency (fake model `delay`); tokens are what the fake model
// reports (its estimate of the request); cost is the plugin's own figure (details.usage.costUsd).
// Makespan is the wall time of the workload's calls (each waits for its batch). Medians over repeats.
import { startGateway } from "../../tests/e2e/support/gateway.mjs";
import { median, round } from "../lib/stats.mjs";

const PRICES = { "fake/cheap": { input: 1, output: 5 }, "fake/mid": { input: 2.5, output: 12.5 }, "fake/strong": { input: 15, output: 75 } };
const LATENCY_MS = { cheap: 400, mid: 800, strong: 1600 };
const BATCHES = 5;
const TASKS = 10;
const FAILING_PER_10 = 8;
const CONCURRENCY = 5;
const TARGET = { fails: 0.8, succeeds: 1.02 };
const RESEARCH = JSON.stringify({ topic: "t", summary: "s", findings: [{ claim: "c", evidence: "e", sources: ["s"] }], confidence: 0.8, openQuestions: [] });

const VARIANTS = [
  { id: "adaptive", label: "adaptive ladder", extra: {} },
  { id: "fixed", label: "fixed ladder (adaptive: false)", extra: { adaptive: false } },
  { id: "strong", label: "all on fake/strong", extra: { ladder: ["fake/strong"] } },
];
const WORKLOADS = [
  { id: "fails", label: "cheap fails 80%", failing: FAILING_PER_10 },
  { id: "succeeds", label: "cheap always succeeds", failing: 0 },
];

/** The fake model's rules: per-rung latency; tasks marked FAILCHEAP (and their corrective follow-ups) fail on cheap. */
function rules() {
  const ok = (rung) => ({ name: `${rung}-ok`, model: `fake/${rung}`, subagent: true, match: "BENCHCOST", reply: RESEARCH, delay: LATENCY_MS[rung] });
  return [
    { name: "cheap-fails", model: "fake/cheap", subagent: true, match: "FAILCHEAP", invalidJson: true, delay: LATENCY_MS.cheap },
    { name: "cheap-fails-again", model: "fake/cheap", subagent: true, match: "Your previous answer cannot be used", invalidJson: true, delay: LATENCY_MS.cheap },
    ok("cheap"),
    ok("mid"),
    ok("strong"),
  ];
}

export default {
  id: "cost",
  title: "Cost: adaptive ladder vs fixed ladder vs all on the strongest rung (real gateway, scripted model with prices)",
  async run({ quick, log }) {
    const repeats = quick ? 1 : 3;
    log("  starting the gateway (provisions openclaw + Node 24 on first use)");
    const gw = await startGateway({
      name: "bench-cost",
      pluginConfig: { ladder: ["fake/cheap", "fake/mid", "fake/strong"], prices: PRICES, maxConcurrency: CONCURRENCY, retries: 2 },
      subagent: { allowModelOverride: true },
      config: { agents: { defaults: { subagents: { maxConcurrent: 20, maxChildrenPerAgent: 20 } } } },
    });
    log(`  gateway ready in ${gw.timings.readyMs} ms`);
    const samples = []; // { workload, variant, repeat, costUsd, makespanMs, attempts, tokens, runsOk, learnedNotes }
    try {
      gw.fake.script(rules());
      for (let rep = 0; rep < repeats; rep++) {
        for (const w of WORKLOADS) {
          // Variants interleaved batch by batch, so a slow moment of the shared machine hits all three alike.
          const acc = Object.fromEntries(VARIANTS.map((v) => [v.id, { costUsd: 0, makespanMs: 0, attempts: 0, tokens: 0, runsOk: 0, learnedNotes: 0 }]));
          for (let b = 0; b < BATCHES; b++) {
            for (const v of VARIANTS) {
              const tasks = Array.from({ length: TASKS }, (_, i) => ({
                role: "researcher",
                label: `r${i}`,
                vars: { topic: `BENCHCOST ${i < w.failing ? "FAILCHEAP " : ""}topic ${rep}-${b}-${i}` },
              }));
              const sessionKey = `agent:cost-${v.id}-${w.id}-${rep}:main`;
              const t0 = Date.now();
              const r = await gw.invokeTool("parallel_spawn", { tasks, waitSeconds: 600, ...v.extra }, { sessionKey, timeoutMs: 700_000 });
              const ms = Date.now() - t0;
              const d = r.body?.result?.details;
              if (r.status !== 200 || !d?.complete) throw new Error(`${w.id}/${v.id} batch ${b}: ${r.status} ${JSON.stringify(r.body).slice(0, 400)}`);
              const a = acc[v.id];
              a.costUsd += d.usage.costUsd;
              a.makespanMs += ms;
              a.attempts += d.runs.reduce((n, run) => n + run.attempts.length, 0);
              a.tokens += d.usage.tokens;
              a.runsOk += d.runs.filter((run) => run.state === "ok").length;
              a.learnedNotes += (d.notes ?? []).filter((n) => / starts on /.test(n)).length;
            }
          }
          for (const v of VARIANTS) samples.push({ workload: w.id, variant: v.id, repeat: rep, ...acc[v.id] });
          log(`  repeat ${rep + 1}/${repeats}, ${w.label}: ${VARIANTS.map((v) => `${v.id} $${round(acc[v.id].costUsd, 4)} ${round(acc[v.id].makespanMs / 1000, 1)} s`).join(", ")}`);
        }
      }
    } finally {
      await gw.stop();
    }

    const med = (w, v, key) => median(samples.filter((s) => s.workload === w && s.variant === v).map((s) => s[key]));
    const rows = WORKLOADS.flatMap((w) =>
      VARIANTS.map((v) => [
        w.label,
        v.label,
        round(med(w.id, v.id, "costUsd"), 4),
        round(med(w.id, v.id, "costUsd") / med(w.id, "fixed", "costUsd"), 3),
        round(med(w.id, v.id, "makespanMs") / 1000, 1),
        round(med(w.id, v.id, "makespanMs") / med(w.id, "fixed", "makespanMs"), 3),
        med(w.id, v.id, "attempts"),
        med(w.id, v.id, "tokens"),
        `${med(w.id, v.id, "runsOk")}/${BATCHES * TASKS}`,
      ]),
    );
    const ratio = (w, key) => med(w, "adaptive", key) / med(w, "fixed", key);
    const target = (w, key, name) => {
      const value = ratio(w, key);
      return { name, target: `<= ${TARGET[w]}x fixed`, value: round(value, 3), unit: "x", met: value <= TARGET[w] };
    };
    return {
      tables: [
        {
          title: `Cost: ${BATCHES} batches x ${TASKS} researcher runs per workload, concurrency ${CONCURRENCY}, latency cheap/mid/strong ${LATENCY_MS.cheap}/${LATENCY_MS.mid}/${LATENCY_MS.strong} ms; medians over ${repeats} run(s)`,
          columns: ["workload", "variant", "cost $", "cost vs fixed", "makespan s", "makespan vs fixed", "attempts", "tokens", "runs ok"],
          rows,
        },
      ],
      notes: [
        `prices (USD per million tokens, input/output): ${Object.entries(PRICES).map(([m, p]) => `${m} ${p.input}/${p.output}`).join(", ")}`,
        "the adaptive variant's first batch has no history and runs like the fixed ladder; about 1 in 10 of its later runs still start on fake/cheap (exploration)",
      ],
      targets: [
        target("fails", "costUsd", "adaptive cost, cheap fails 80%"),
        target("fails", "makespanMs", "adaptive makespan, cheap fails 80%"),
        target("succeeds", "costUsd", "adaptive cost, cheap succeeds"),
        target("succeeds", "makespanMs", "adaptive makespan, cheap succeeds"),
      ],
      data: { prices: PRICES, latencyMs: LATENCY_MS, batches: BATCHES, tasks: TASKS, concurrency: CONCURRENCY, repeats, samples },
    };
  },
};
