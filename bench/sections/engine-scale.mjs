// Section "engine scale": the real Engine and SQLite store over the in-memory runtime with
// ~0 ms children, so wall time per task is the engine's own overhead. Each case runs in a
// fresh process on the gateway's Node 24 (node:sqlite; peak RSS is that case's alone), this
// tree and the baseline version (0.2 by default; lib/baseline.mjs) alternating, repeat by
// repeat, so both see the same machine; medians over repeats and the ratio of the medians.
import { fileURLToPath } from "node:url";
import { provision } from "../../scripts/provision.mjs";
import { baselineSources } from "../lib/baseline.mjs";
import { engineBundle } from "../lib/bundle-internals.mjs";
import { runProbe } from "../lib/child.mjs";
import { median, round } from "../lib/stats.mjs";

const PROBE = fileURLToPath(new URL("../probes/engine-case.mjs", import.meta.url));
const CONCURRENCY = 50;
const TARGET_PER_TASK_MS = 0.45; // 0.1's in-memory ledger at 1,000 tasks
const TARGET_RSS_MB = 150;

export default {
  id: "engine-scale",
  title: "Engine scale (in-memory runtime), side by side with the baseline version",
  async run({ quick, log }) {
    const { nodeBin } = provision();
    const baseline = baselineSources();
    const versions = [{ label: "this tree", bundle: await engineBundle() }];
    if (baseline.root) versions.push({ label: `${baseline.label} (${baseline.sha})`, bundle: await engineBundle(baseline.root) });
    const cases = [
      { tasks: 1000, repeats: quick ? 3 : 7 },
      { tasks: 10000, repeats: quick ? 1 : 3 },
    ];
    const results = [];
    for (const { tasks, repeats } of cases) {
      const samples = new Map(versions.map((v) => [v.label, []]));
      for (let i = 0; i < repeats; i++) {
        for (const v of i % 2 ? [...versions].reverse() : versions) {
          log(`  ${tasks} tasks, ${v.label}, run ${i + 1}/${repeats}`);
          const s = await runProbe(PROBE, [v.bundle, tasks, CONCURRENCY], { timeoutMs: 20 * 60_000, node: nodeBin });
          if (!s.complete || s.okRuns !== tasks) throw new Error(`engine case ${tasks} (${v.label}): ${s.okRuns}/${tasks} runs ok`);
          samples.get(v.label).push(s);
        }
      }
      for (const v of versions) {
        const vs = samples.get(v.label);
        const m = (key) => median(vs.map((s) => s[key]));
        results.push({
          version: v.label, tasks, repeats, concurrency: CONCURRENCY, peakLive: Math.max(...vs.map((s) => s.peakLive)),
          wallMs: m("wallMs"), cpuMs: m("cpuMs"), perTaskMs: m("perTaskMs"), peakRssMB: m("peakRssMB"), rssBeforeMB: m("rssBeforeMB"), ledgerBytes: m("ledgerBytes"), samples: vs,
        });
      }
    }
    const ours = (tasks) => results.find((r) => r.tasks === tasks && r.version === versions[0].label);
    const base = (tasks) => results.find((r) => r.tasks === tasks && r.version === versions[1]?.label);
    const ratio = (tasks, key) => (base(tasks) ? round(ours(tasks)[key] / base(tasks)[key], 2) : "");
    const at1k = ours(1000);
    return {
      tables: [
        {
          title: `Engine scale: concurrency ${CONCURRENCY}, ~0 ms children, SQLite store; medians over fresh processes, versions alternating`,
          columns: ["tasks", "version", "runs", "wall ms", "CPU ms", "overhead/task ms", "tasks/s", "peak RSS MB", "store KB", `overhead vs ${baseline.label ?? "baseline"}`, `CPU vs ${baseline.label ?? "baseline"}`],
          rows: results.map((r) => [
            r.tasks,
            r.version,
            r.repeats,
            round(r.wallMs, 0),
            round(r.cpuMs, 0),
            round(r.perTaskMs, 3),
            round(r.tasks / (r.wallMs / 1000), 0),
            round(r.peakRssMB, 1),
            round(r.ledgerBytes / 1024, 0),
            r.version === versions[0].label ? ratio(r.tasks, "perTaskMs") : "",
            r.version === versions[0].label ? ratio(r.tasks, "cpuMs") : "",
          ]),
        },
      ],
      notes: baseline.error ? [baseline.error] : [],
      targets: [
        { name: "engine overhead/task @1,000", target: `<= ${TARGET_PER_TASK_MS} ms`, value: round(at1k.perTaskMs, 3), unit: "ms", met: at1k.perTaskMs <= TARGET_PER_TASK_MS },
        { name: "peak RSS @1,000", target: `<= ${TARGET_RSS_MB} MB`, value: round(at1k.peakRssMB, 1), unit: "MB", met: at1k.peakRssMB <= TARGET_RSS_MB },
      ],
      data: { concurrency: CONCURRENCY, baseline, cases: results },
    };
  },
};
