// Section "rate-limit": a provider that answers 429 above 2 open requests (the fake model's
// concurrency-limit rule), fed a fan-out of N runs at maxConcurrency N, three ways, in ONE gateway:
//   fixed cap     ours, with providerConcurrency capping that provider at 2
//   learned cap   ours, no cap configured: the engine learns it from the host's rate-limit retry events
//                 (first fan-out, then a second one with the learned cap kept)
//   none          the bare plugin fan-out (bench/lib/floor-plugin: run + waitForRun + delete per task, no
//                 caps): what a fan-out without provider-aware concurrency gets (the host retries each 429)
// Each variant has its own provider (all point at the fake model), so their limits and caps are apart.
// Measured: makespan (tool call -> its result), 429s the provider gave, model requests, our attempts.
import { cpus, loadavg } from "node:os";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startGateway } from "../../tests/e2e/support/gateway.mjs";
import { countingPlugin } from "../lib/counting-plugin.mjs";
import { median, round } from "../lib/stats.mjs";

const FLOOR_DIR = resolve(fileURLToPath(new URL("../lib/floor-plugin", import.meta.url)));
const LATENCY_MS = 1500;
const N = 8;
const LIMIT = 2;
const VARIANTS = [
  { id: "fixed", title: "ours, fixed cap (providerConcurrency 2)", provider: "capped", model: "tcap" },
  { id: "learned", title: "ours, learned cap (first fan-out)", provider: "learning", model: "tlearn" },
  { id: "learned-kept", title: "ours, learned cap (next fan-out, cap kept)", provider: "learning", model: "tlearn" },
  { id: "none", title: "no cap (bare plugin fan-out)", provider: "open", model: "topen" },
];

export default {
  id: "rate-limit",
  title: "Real gateway: a provider that rate-limits above 2 open requests (fixed cap vs learned cap vs none)",
  async run({ root, quick, log }) {
    const repeats = quick ? 1 : 2;
    const ours = countingPlugin(root); // a copy of the built package: a rebuild meanwhile cannot break its load
    log("  starting one gateway with ours and the floor plugin, three providers on the fake model");
    const gw = await startGateway({
      name: "bench-ratelimit",
      readyTimeoutMs: 300_000, // a shared 2-core machine under load can take minutes to boot a gateway
      pluginDir: FLOOR_DIR,
      subagent: { allowModelOverride: true },
      models: ["parent", "cheap", ...new Set(VARIANTS.map((v) => v.model))],
      providers: ["fake", ...new Set(VARIANTS.map((v) => v.provider))],
      config: {
        plugins: {
          load: { paths: [FLOOR_DIR, ours.dir] },
          entries: {
            "parallel-agents": { enabled: true, config: { ladder: ["fake/cheap"], retries: 2, providerConcurrency: { capped: LIMIT } }, subagent: { allowModelOverride: true } },
          },
        },
      },
    });
    log(`  gateway ready in ${gw.timings.readyMs} ms (warm-up turn ${gw.timings.warmupMs} ms)`);
    const fake = gw.fake;
    for (const m of new Set(VARIANTS.map((v) => v.model))) fake.limit(m, LIMIT);
    const stats = (model) => fake.limitStats().find((l) => l.model === model);
    let runNo = 0;

    async function once(v) {
      runNo++;
      const tasks = Array.from({ length: N }, (_, i) => `rl${runNo}x-${i} [[delay:${LATENCY_MS}]] [[reply:R${runNo}N${i}]]`);
      const before = { ...stats(v.model) };
      const t0 = Date.now();
      let attempts = N;
      let ok = 0;
      if (v.id === "none") {
        const r = await gw.invokeTool("floor_spawn", { tasks, model: `${v.provider}/${v.model}`, timeoutSeconds: 900 }, { timeoutMs: 1_000_000 });
        if (r.status !== 200) throw new Error(`floor_spawn answered ${r.status}: ${JSON.stringify(r.body).slice(0, 300)}`);
        ok = (JSON.stringify(r.body).match(/"status":"ok"/g) ?? []).length;
      } else {
        const r = await gw.invokeTool(
          "parallel_spawn",
          { tasks: tasks.map((task, i) => ({ label: `t${i}`, task })), maxConcurrency: N, ladder: [`${v.provider}/${v.model}`], waitSeconds: 600 },
          { timeoutMs: 700_000 },
        );
        if (r.status !== 200) throw new Error(`parallel_spawn answered ${r.status}: ${JSON.stringify(r.body).slice(0, 300)}`);
        let details = r.body.result.details;
        while (!details.complete) {
          const p = await gw.invokeTool("poll_until_complete", { batchId: details.batchId, timeoutSeconds: 600 }, { timeoutMs: 700_000 });
          if (p.status !== 200) throw new Error(`poll_until_complete answered ${p.status}: ${JSON.stringify(p.body).slice(0, 300)}`);
          details = p.body.result.details;
        }
        const runs = details.runs;
        attempts = runs.reduce((n, x) => n + x.attempts.length, 0);
        ok = runs.filter((x) => x.state === "ok").length;
      }
      const after = stats(v.model);
      return {
        variant: v.id, makespanMs: Date.now() - t0, ok, attempts, rejected: after.rejected - before.rejected,
        requests: after.served + after.rejected - before.served - before.rejected, peakOpen: after.peakOpen, load1: loadavg()[0],
      };
    }

    const runs = [];
    try {
      for (let r = 0; r < repeats; r++) {
        for (const v of VARIANTS) {
          if (r > 0 && v.id === "learned") continue; // the first fan-out on a fresh provider happens once per gateway
          log(`  repeat ${r + 1}/${repeats}: ${v.title}`);
          runs.push({ ...(await once(v)), repeat: r });
        }
      }
    } finally {
      await gw.stop();
    }
    const rows = VARIANTS.map((v) => {
      const rs = runs.filter((x) => x.variant === v.id);
      const m = (k) => median(rs.map((x) => x[k]));
      return { v, runs: rs.length, makespanMs: m("makespanMs"), rejected: m("rejected"), requests: m("requests"), attempts: m("attempts"), ok: Math.min(...rs.map((x) => x.ok)) };
    });
    const fixed = rows.find((x) => x.v.id === "fixed");
    const kept = rows.find((x) => x.v.id === "learned-kept");
    const none = rows.find((x) => x.v.id === "none");
    return {
      tables: [
        {
          title: `${N} runs of ${LATENCY_MS / 1000} s at maxConcurrency ${N} on a provider that answers 429 above ${LIMIT} open requests; medians over the runs column`,
          columns: ["variant", "runs", "ok", "makespan s", "429s", "model requests", "our attempts"],
          rows: rows.map((x) => [x.v.title, x.runs, `${x.ok}/${N}`, round(x.makespanMs / 1000, 1), round(x.rejected, 1), round(x.requests, 1), x.v.id === "none" ? "n/a" : round(x.attempts, 1)]),
        },
      ],
      notes: [
        `1-min load average during the runs: ${round(Math.min(...runs.map((x) => x.load1)), 1)}-${round(Math.max(...runs.map((x) => x.load1)), 1)} on ${cpus().length} cores.`,
        "429s and model requests: counted by the fake model (OpenClaw retries a 429 inside the run itself, up to 10 times, so one run can cost many requests).",
        "our attempts: attempts recorded by the engine (a run taken back while throttled over the cap is one more attempt, on the same model).",
      ],
      targets: [
        { name: "fixed cap: every run ok, no 429", target: "0 x 429", value: fixed.rejected, unit: "429s", met: fixed.rejected === 0 && fixed.ok === N },
        { name: "learned cap kept: fewer 429s than no cap", target: `< ${round(none.rejected, 1)}`, value: kept.rejected, unit: "429s", met: kept.rejected < none.rejected },
      ],
      data: { latencyMs: LATENCY_MS, n: N, limit: LIMIT, repeats, gatewayTimings: gw.timings, runs },
    };
  },
};
