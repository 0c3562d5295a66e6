// Section "floor": ours vs a bare plugin fan-out (bench/lib/floor-plugin: a service that only calls
// api.runtime.subagent.run + waitForRun + deleteSession per task, no ledger, no policy) — the host's own
// cost of a plugin fan-out — and OpenClaw's native sessions_spawn x N + sessions_yield, in ONE gateway
// (both plugins loaded), alternating per repeat so machine noise hits every variant alike.
// Each variant is one real parent agent turn (fake model tool directive / script); every child's model
// request takes LATENCY_MS. makespan = chat request sent -> start of the parent model request that holds
// every child's result (for ours and floor: the request after the tool's result).
import { cpus, loadavg } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startGateway } from "../../tests/e2e/support/gateway.mjs";
import { countingPlugin } from "../lib/counting-plugin.mjs";
import { bodyReader, sleep } from "../lib/fake-bodies.mjs";
import { median, round } from "../lib/stats.mjs";

const FLOOR_DIR = resolve(fileURLToPath(new URL("../lib/floor-plugin", import.meta.url)));
const LATENCY_MS = 2000;
const CAP = 20;
const SIZES = [5, 20];
const NATIVE_AT = [20]; // native side by side only where the ours/native target is set
const SETTLE_MS = 1000;
const TARGET_FLOOR = 1.1;
const TARGET_NATIVE_20 = 0.27; // today's ours/native at N = 20 (gateway section): not to get worse
const MODEL = "fake/cheap";

export default {
  id: "floor",
  title: "Real gateway: ours vs a bare plugin fan-out (the host's floor) vs native",
  async run({ root, quick, log }) {
    const repeats = quick ? 1 : 3;
    const ours = countingPlugin(root);
    log("  starting one gateway with both plugins (ours + floor)");
    const gw = await startGateway({
      name: "bench-floor",
      pluginDir: FLOOR_DIR,
      subagent: { allowModelOverride: true },
      config: {
        agents: { defaults: { subagents: { maxConcurrent: CAP, maxChildrenPerAgent: CAP } } },
        plugins: {
          load: { paths: [FLOOR_DIR, ours.dir] },
          entries: {
            "parallel-agents": { enabled: true, config: { ladder: [MODEL, "fake/mid", "fake/strong"], maxConcurrency: CAP, retries: 0 }, subagent: { allowModelOverride: true } },
          },
        },
      },
    });
    log(`  gateway ready in ${gw.timings.readyMs} ms (warm-up turn ${gw.timings.warmupMs} ms)`);
    const fake = gw.fake;
    const bodies = bodyReader(join(gw.dirs.logs, "fake-model.jsonl"));
    let runNo = 0;

    function fanout(n) {
      runNo++;
      const token = `FLOOR-${runNo}-${Math.random().toString(36).slice(2, 8)}`;
      const childTag = `fk${runNo}x`;
      const markers = Array.from({ length: n }, (_, i) => `F${runNo}r${i}Q`);
      const task = (i) => `bench child ${childTag}-${i} [[delay:${LATENCY_MS}]] [[reply:${markers[i]}]]`;
      return { n, token, childTag, markers, task, session: `bench-floor-${runNo}`, parentKey: `agent:main:bench-floor-${runNo}` };
    }

    const parentReqs = (f) => fake.requests((q) => q.sessionKey === f.parentKey).sort((a, b) => a.seq - b.seq);
    const childEnds = (f) =>
      f.markers.map((m, i) => {
        const a = fake.requests((q) => q.sessionKey !== f.parentKey && q.lastUser?.includes(`${f.childTag}-${i} `) && q.reply?.text === m && q.endedAt);
        return a.length ? Math.min(...a.map((q) => q.endedAt)) : NaN;
      });

    async function quiet(f, timeoutMs = 30_000) {
      for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(200)) {
        const last = parentReqs(f).at(-1);
        if (last?.endedAt && Date.now() - last.endedAt >= SETTLE_MS) return;
      }
    }

    function result(variant, f, t0, done, resultsSeen) {
      if (!done) throw new Error(`${variant} N=${f.n}: no parent request with the results`);
      const ends = childEnds(f);
      const lastEnd = Math.max(...ends);
      return { variant, n: f.n, makespanMs: done.startedAt - t0, lastChildEndMs: lastEnd - t0, deliveredMs: done.startedAt - lastEnd, parentRequests: parentReqs(f).length, results: resultsSeen };
    }

    /** ours (parallel_spawn + waitSeconds) or floor (floor_spawn): one tool call, the next request has the results. */
    async function viaTool(kind, n) {
      const f = fanout(n);
      const directive =
        kind === "ours"
          ? `[[tool:parallel_spawn ${JSON.stringify({ tasks: f.markers.map((_, i) => ({ label: `c${i}`, task: f.task(i) })), waitSeconds: 120, maxConcurrency: n })}]]`
          : `[[tool:floor_spawn ${JSON.stringify({ tasks: f.markers.map((_, i) => f.task(i)), model: MODEL })}]]`;
      const t0 = Date.now();
      const r = await gw.chat(`${f.token} ${directive} [[reply:DONE]]`, { sessionKey: f.session, timeoutMs: 240_000 });
      if (r.text !== "DONE") throw new Error(`${kind} N=${n}: parent turn ended with ${JSON.stringify(r.text)?.slice(0, 200)}`);
      await quiet(f);
      const tool = kind === "ours" ? "parallel_spawn" : "floor_spawn";
      const done = parentReqs(f).find((q) => q.lastTool?.name === tool);
      const seen = done ? f.markers.filter((m) => done.lastTool.text.includes(m)).length : 0;
      return result(kind, f, t0, done, seen);
    }

    async function native(n) {
      const f = fanout(n);
      fake.script([
        { match: f.token, subagent: false, times: 1, tools: f.markers.map((_, i) => ({ name: "sessions_spawn", args: { task: f.task(i), label: `n${i}` } })) },
        { match: f.token, subagent: false, times: 1, tools: [{ name: "sessions_yield", args: {} }] },
      ]);
      const t0 = Date.now();
      await gw.chat(`${f.token} fan out`, { sessionKey: f.session, timeoutMs: 240_000 });
      let done = null;
      for (const deadline = Date.now() + 120_000; !done && Date.now() < deadline; await sleep(200)) {
        const all = bodies();
        done = parentReqs(f).find((q) => {
          const msgs = all.get(q.seq);
          const seen = msgs ? msgs.filter((m) => !m.text.includes(f.token)).map((m) => m.text).join("\n") : "";
          return f.markers.every((m) => seen.includes(m));
        });
      }
      await quiet(f);
      return result("native", f, t0, done, done ? n : 0);
    }

    const runs = [];
    try {
      for (const n of SIZES) {
        for (let r = 0; r < repeats; r++) {
          const order = r % 2 === 0 ? ["ours", "floor"] : ["floor", "ours"];
          if (NATIVE_AT.includes(n)) order.push("native");
          for (const v of order) {
            log(`  N=${n} repeat ${r + 1}/${repeats}: ${v}`);
            runs.push({ ...(v === "native" ? await native(n) : await viaTool(v, n)), repeat: r, load1: loadavg()[0] });
          }
        }
      }
    } finally {
      await gw.stop();
    }

    const get = (v, n, r) => runs.find((x) => x.variant === v && x.n === n && x.repeat === r);
    const rows = [];
    const perN = [];
    for (const n of SIZES) {
      const reps = [...new Set(runs.filter((x) => x.n === n).map((x) => x.repeat))];
      const med = (v, k) => median(runs.filter((x) => x.variant === v && x.n === n).map((x) => x[k]));
      const vsFloor = median(reps.map((r) => get("ours", n, r).makespanMs / get("floor", n, r).makespanMs));
      const vsNative = NATIVE_AT.includes(n) ? median(reps.map((r) => get("ours", n, r).makespanMs / get("native", n, r).makespanMs)) : null;
      perN.push({ n, runs: reps.length, ours: med("ours", "makespanMs"), floor: med("floor", "makespanMs"), native: NATIVE_AT.includes(n) ? med("native", "makespanMs") : null, vsFloor, vsNative });
      for (const v of ["ours", "floor", "native"]) {
        const rs = runs.filter((x) => x.variant === v && x.n === n);
        if (!rs.length) continue;
        rows.push([
          { ours: "ours: parallel_spawn + waitSeconds", floor: "floor: bare plugin service (run + waitForRun + deleteSession)", native: "OpenClaw native: sessions_spawn x N + sessions_yield" }[v],
          n, rs.length, `${Math.min(...rs.map((x) => x.results))}/${n}`, round(med(v, "makespanMs") / 1000, 2), round(med(v, "lastChildEndMs") / 1000, 2), round(med(v, "deliveredMs"), 0),
          round(med(v, "parentRequests"), 1), v === "ours" ? round(vsFloor, 2) : "", v === "ours" && vsNative !== null ? round(vsNative, 2) : "",
        ]);
      }
    }
    const at = (n) => perN.find((p) => p.n === n);
    return {
      tables: [
        {
          title:
            `Ours vs the floor (bare plugin fan-out) vs native, one gateway, alternating; child latency ${LATENCY_MS / 1000} s, host and our concurrency ${CAP}, children pinned to ${MODEL}; ` +
            `medians over the runs column; ratios are medians of per-repeat ratios; makespan = parent's chat request sent -> start of the parent model request holding every result`,
          columns: ["variant", "N", "runs", "results", "makespan s", "last child ends s", "delivered ms", "parent requests", "ours/floor", "ours/native"],
          rows,
        },
      ],
      notes: [
        `1-min load average during the runs: ${round(Math.min(...runs.map((x) => x.load1)), 1)}-${round(Math.max(...runs.map((x) => x.load1)), 1)} on ${cpus().length} cores (timings above ~2 x cores are dominated by other work on the machine).`,
        "floor = bench/lib/floor-plugin: the tool queues N jobs on a process-wide queue and wakes the plugin service's loop (20 ms poll as fallback), which per job only calls run, waitForRun and deleteSession; the tool awaits them and returns their answers.",
        "delivered ms: last child's final model response -> start of the parent request holding every result.",
      ],
      targets: [
        ...SIZES.map((n) => ({ name: `ours / floor makespan @N=${n}`, target: `<= ${TARGET_FLOOR}`, value: round(at(n).vsFloor, 2), unit: "x", met: at(n).vsFloor <= TARGET_FLOOR })),
        ...NATIVE_AT.map((n) => ({ name: `ours / native makespan @N=${n}`, target: `<= ${TARGET_NATIVE_20} (today's)`, value: round(at(n).vsNative, 2), unit: "x", met: at(n).vsNative <= TARGET_NATIVE_20 })),
      ],
      data: { latencyMs: LATENCY_MS, cap: CAP, repeats, gatewayTimings: gw.timings, perN, runs, oursHostCalls: ours.calls().length },
    };
  },
};
