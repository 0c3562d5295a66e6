// Section "engine scale": the real Engine and SQLite store over the in-memory runtime with
// ~0 ms children, so wall time per task is the engine's own overhead. Each case runs in a
// fresh process on the gateway's Node 24 (node:sqlite; peak RSS is that case's alone); medians over repeats.
import { fileURLToPath } from "node:url";
import { provision } from "../../scripts/provision.mjs";
import { engineBundle } from "../lib/bundle-internals.mjs";
import { runProbe } from "../lib/child.mjs";
import { median, round } from "../lib/stats.mjs";

const PROBE = fileURLToPath(new URL("../probes/engine-case.mjs", import.meta.url));
const CONCURRENCY = 50;
const TARGET_PER_TASK_MS = 1;
const TARGET_RSS_MB = 150;

export default {
  id: "engine-scale",
  title: "Engine scale (in-memory runtime)",
  async run({ quick, log }) {
    const bundle = await engineBundle();
    const { nodeBin } = provision();
    const cases = [
      { tasks: 1000, repeats: quick ? 3 : 5 },
      { tasks: 10000, repeats: quick ? 1 : 3 },
    ];
    const results = [];
    for (const { tasks, repeats } of cases) {
      const samples = [];
      for (let i = 0; i < repeats; i++) {
        log(`  ${tasks} tasks, run ${i + 1}/${repeats}`);
        const s = await runProbe(PROBE, [bundle, tasks, CONCURRENCY], { timeoutMs: 20 * 60_000, node: nodeBin });
        if (!s.complete || s.okRuns !== tasks) throw new Error(`engine case ${tasks}: ${s.okRuns}/${tasks} runs ok`);
        samples.push(s);
      }
      const m = (key) => median(samples.map((s) => s[key]));
      results.push({
        tasks,
        repeats,
        concurrency: CONCURRENCY,
        peakLive: Math.max(...samples.map((s) => s.peakLive)),
        wallMs: m("wallMs"),
        cpuMs: m("cpuMs"),
        perTaskMs: m("perTaskMs"),
        peakRssMB: m("peakRssMB"),
        rssBeforeMB: m("rssBeforeMB"),
        ledgerBytes: m("ledgerBytes"),
        samples,
      });
    }
    const at1k = results.find((r) => r.tasks === 1000);
    return {
      tables: [
        {
          title: `Engine scale: concurrency ${CONCURRENCY}, ~0 ms children, SQLite store; medians over fresh processes`,
          columns: ["tasks", "runs", "wall ms", "CPU ms", "overhead/task ms", "tasks/s", "peak RSS MB", "RSS at start MB", "store KB", "store B/task"],
          rows: results.map((r) => [
            r.tasks,
            r.repeats,
            round(r.wallMs, 0),
            round(r.cpuMs, 0),
            round(r.perTaskMs, 3),
            round(r.tasks / (r.wallMs / 1000), 0),
            round(r.peakRssMB, 1),
            round(r.rssBeforeMB, 1),
            round(r.ledgerBytes / 1024, 0),
            round(r.ledgerBytes / r.tasks, 0),
          ]),
        },
      ],
      targets: [
        { name: "engine overhead/task @1,000", target: `<= ${TARGET_PER_TASK_MS} ms`, value: round(at1k.perTaskMs, 3), unit: "ms", met: at1k.perTaskMs <= TARGET_PER_TASK_MS },
        { name: "peak RSS @1,000", target: `<= ${TARGET_RSS_MB} MB`, value: round(at1k.peakRssMB, 1), unit: "MB", met: at1k.peakRssMB <= TARGET_RSS_MB },
      ],
      data: { concurrency: CONCURRENCY, cases: results },
    };
  },
};
