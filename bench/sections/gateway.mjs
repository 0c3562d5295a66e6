// Section "gateway": one real OpenClaw gateway (the e2e harness: pinned openclaw + Node 24, offline,
// scripted fake model on loopback), fanning N children out three ways from a real parent agent turn:
//   ours (wait)   parallel_spawn with waitSeconds: the parent's second request already has every result
//   ours (poll)   parallel_spawn (waitSeconds 0), then poll_until_complete on "$batchId"
//   native        the parent model calls sessions_spawn N times in one turn, then sessions_yield; the
//                 host delivers the batched completion as a new parent turn
//   seed          the seed's pattern: N sessions_spawn (quiet: no completion events), `exec sleep S`,
//                 sessions_list, then sessions_history per child, all in the parent's own turn
// Every child's model request takes LATENCY_MS (fake model `[[delay]]`), so the ideal makespan is
// ceil(N / concurrency) x LATENCY_MS; the host's sub-agent lane and ours are both capped at CAP.
// Timestamps come from the fake model's request log (same clock as this process), the plugin's
// ledger (attempt endedAt) and the host's `subagents` list; host calls from a counting wrapper.
import { readFileSync } from "node:fs";
import { bodyReader, sleep } from "../lib/fake-bodies.mjs";
import { join } from "node:path";
import { startGateway } from "../../tests/e2e/support/gateway.mjs";
import { countingPlugin } from "../lib/counting-plugin.mjs";
import { median, round } from "../lib/stats.mjs";

const LATENCY_MS = 2000;
const CAP = 20; // host subagents.maxConcurrent and maxChildrenPerAgent (range 1-20), and our maxConcurrency
const SIZES = [5, 20];
const SETTLE_MS = 1500; // quiet time after the result-bearing parent request, to count any late parent turn
const TARGET_SLACK = { factor: 1.05, plusMs: 500 };
const TARGET_NOTICED_MS = 100;
// Section time after which further repeats are skipped (per N, counted from the section's start).
const BUDGET_MS = { 5: 3 * 60_000, 20: 8 * 60_000 };
const BATCH_ID = /\bpa-[a-z0-9]+-[0-9a-f]{8}\b/;


export default {
  id: "gateway",
  title: "Real gateway: ours vs OpenClaw native vs the seed's pattern",
  async run({ root, quick, log }) {
    const repeats = quick ? 1 : 3;
    const seedSleepS = quick ? 5 : 30;
    const plugin = countingPlugin(root);
    log("  starting the gateway (provisions openclaw + Node 24 on first use)");
    const gw = await startGateway({
      name: "bench",
      pluginDir: plugin.dir,
      pluginConfig: { ladder: ["fake/cheap", "fake/mid", "fake/strong"], maxConcurrency: CAP, retries: 0 },
      subagent: { allowModelOverride: true },
      config: { agents: { defaults: { subagents: { maxConcurrent: CAP, maxChildrenPerAgent: CAP } } } },
    });
    log(`  gateway ready in ${gw.timings.readyMs} ms (warm-up turn ${gw.timings.warmupMs} ms)`);
    const fake = gw.fake;
    const bodies = bodyReader(join(gw.dirs.logs, "fake-model.jsonl"));
    let runNo = 0;

    /** Requests of one fan-out: parent seqs (bodies with the token), the result-bearing one, children. */
    function observe(token, childTag, markers, { lastIsDone = false } = {}) {
      const all = bodies();
      const parentSeqs = [...all].filter(([, msgs]) => msgs.some((m) => m.role === "user" && m.text.includes(token))).map(([s]) => s);
      const isParent = new Set(parentSeqs);
      const seenIn = (s) => all.get(s).filter((m) => !m.text.includes(token)).map((m) => m.text).join("\n");
      parentSeqs.sort((a, b) => a - b);
      const doneSeq = lastIsDone ? parentSeqs.at(-1) : parentSeqs.find((s) => markers.every((k) => seenIn(s).includes(k)));
      const resultsSeen = doneSeq ? markers.filter((k) => seenIn(doneSeq).includes(k)).length : 0;
      const log = fake.requests();
      const bySeq = new Map(log.map((q) => [q.seq, q]));
      const children = markers.map((_, i) => {
        const reqs = log.filter((q) => !isParent.has(q.seq) && q.lastUser.includes(`${childTag}-${i} `));
        // The child's final model response: the one that answered with its marker.
        const answer = reqs.find((q) => q.reply?.text === markers[i] && q.endedAt);
        return { i, reqs, start: reqs.length ? Math.min(...reqs.map((q) => q.startedAt)) : NaN, end: answer ? answer.endedAt : NaN };
      });
      return { parentSeqs, doneSeq, done: doneSeq && bySeq.get(doneSeq), bySeq, children, resultsSeen };
    }

    /** Waits until the result-bearing parent request exists and the parent has been quiet SETTLE_MS. */
    async function settle(token, childTag, markers, timeoutMs, opts) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const o = observe(token, childTag, markers, opts);
        const lastParent = o.parentSeqs.map((s) => o.bySeq.get(s)).filter(Boolean).at(-1);
        const quiet = lastParent?.endedAt && Date.now() - lastParent.endedAt >= SETTLE_MS;
        if (o.done?.endedAt && quiet) return o;
        if (Date.now() > deadline) throw new Error(`fan-out ${token}: results did not reach the parent within ${timeoutMs} ms`);
        await sleep(200);
      }
    }

    function fanout(n) {
      runNo++;
      const token = `FANOUT-${runNo}-${Math.random().toString(36).slice(2, 8)}`;
      const childTag = `kid${runNo}x`;
      const markers = Array.from({ length: n }, (_, i) => `M${runNo}r${i}Q`);
      const task = (i) => `bench child ${childTag}-${i} [[delay:${LATENCY_MS}]] [[reply:${markers[i]}]]`;
      return { token, childTag, markers, task, session: `bench-${runNo}`, parentKey: `agent:main:bench-${runNo}` };
    }

    function summarise(variant, n, f, o, t0, extra) {
      const ends = o.children.map((c) => c.end);
      const lastEnd = ends.some(Number.isNaN) ? NaN : Math.max(...ends);
      const makespanMs = o.done.startedAt - t0;
      const idealMs = Math.ceil(n / Math.min(n, CAP)) * LATENCY_MS;
      return {
        variant,
        n,
        makespanMs,
        idealMs,
        overIdeal: makespanMs / idealMs,
        parentRequests: o.parentSeqs.length,
        firstChildStartMs: Math.min(...o.children.map((c) => c.start).filter(Number.isFinite)) - t0,
        lastChildEndMs: lastEnd - t0,
        deliveredMs: o.done.startedAt - lastEnd,
        childRequests: o.children.reduce((s, c) => s + c.reqs.length, 0),
        results: o.resultsSeen,
        ...extra(ends),
      };
    }

    async function ours(n, mode) {
      const f = fanout(n);
      const tasks = Array.from({ length: n }, (_, i) => ({ label: `c${i}`, task: f.task(i) }));
      const d = (tool, args) => `[[tool:${tool} ${JSON.stringify(args)}]]`;
      const msg =
        mode === "wait"
          ? `${f.token} ${d("parallel_spawn", { tasks, waitSeconds: 120, maxConcurrency: n })} [[reply:DONE]]`
          : `${f.token} ${d("parallel_spawn", { tasks, waitSeconds: 0, maxConcurrency: n })} ${d("poll_until_complete", { batchId: "$batchId", timeoutSeconds: 120 })} [[reply:DONE]]`;
      const callsBefore = plugin.calls().length;
      const t0 = Date.now();
      const r = await gw.chat(msg, { sessionKey: f.session, timeoutMs: 240_000 });
      if (r.text !== "DONE") throw new Error(`ours (${mode}) N=${n}: parent turn ended with ${JSON.stringify(r.text)?.slice(0, 200)}`);
      const o = await settle(f.token, f.childTag, f.markers, 60_000);
      const calls = plugin.calls().slice(callsBefore);
      const texts = bodies().get(o.doneSeq).map((m) => m.text).join("\n");
      const batchId = BATCH_ID.exec(texts)?.[0];
      const ledger = join(gw.dirs.state, "plugins/parallel-agents/batches", `${batchId}.jsonl`);
      const ended = new Map();
      for (const line of readFileSync(ledger, "utf8").split("\n").filter(Boolean)) {
        const l = JSON.parse(line);
        if (l.t === "attempt" && l.attempt.endedAt) ended.set(l.label, l.attempt.endedAt);
      }
      const byMethod = {};
      for (const c of calls) byMethod[c.m] = (byMethod[c.m] ?? 0) + 1;
      // Where the time between a child's last response and the ledger's endedAt goes.
      const runIdOf = new Map(calls.filter((c) => c.m === "run").map((c) => [c.sessionKey, c.runIdOut]));
      const waitBack = (sessionKey) => {
        const w = calls.filter((c) => c.m === "waitForRun" && c.runId === runIdOf.get(sessionKey) && c.status !== "pending" && c.status !== "timeout");
        return w.length ? Math.min(...w.map((c) => c.t + c.d)) : NaN;
      };
      const ms = (m) => median(calls.filter((c) => c.m === m).map((c) => c.d));
      return summarise(`ours: parallel_spawn ${mode === "wait" ? "+ waitSeconds" : "then poll_until_complete"}`, n, f, o, t0, (ends) => ({
        hostCallsPerChild: calls.length / n,
        hostCalls: byMethod,
        noticedMs: median(ends.map((e, i) => ended.get(`c${i}`) - e)),
        noticedMaxMs: Math.max(...ends.map((e, i) => ended.get(`c${i}`) - e)),
        noticedBy: "plugin ledger: attempt endedAt",
        hostWaitMs: median(o.children.map((c) => waitBack(c.reqs[0]?.sessionKey) - c.end).filter(Number.isFinite)),
        callMs: { run: ms("run"), waitForRun: ms("waitForRun"), getSessionMessages: ms("getSessionMessages"), deleteSession: ms("deleteSession") },
      }));
    }

    async function native(n) {
      const f = fanout(n);
      fake.script([
        { match: f.token, subagent: false, times: 1, tools: Array.from({ length: n }, (_, i) => ({ name: "sessions_spawn", args: { task: f.task(i), label: `n${i}` } })) },
        { match: f.token, subagent: false, times: 1, tools: [{ name: "sessions_yield", args: {} }] },
      ]);
      const t0 = Date.now();
      await gw.chat(`${f.token} fan out`, { sessionKey: f.session, timeoutMs: 240_000 });
      const o = await settle(f.token, f.childTag, f.markers, 120_000);
      // The host's own bookkeeping: when did its registry mark each child's run ended?
      const list = await gw.invokeTool("subagents", { action: "list" }, { sessionKey: f.parentKey });
      let views = [];
      try {
        const parsed = JSON.parse(list.text ?? "{}");
        views = [...(parsed.active ?? []), ...(parsed.recent ?? [])];
      } catch {
        /* reported as null below */
      }
      const endedAt = (i) => views.find((v) => v.label === `n${i}`)?.endedAt;
      const spawnCalls = n + 1;
      return summarise("OpenClaw native: sessions_spawn x N + sessions_yield", n, f, o, t0, (ends) => {
        const d = ends.map((e, i) => (endedAt(i) ? endedAt(i) - e : NaN)).filter(Number.isFinite);
        return {
          hostCallsPerChild: spawnCalls / n,
          hostCalls: { sessions_spawn: n, sessions_yield: 1 },
          noticedMs: d.length ? median(d) : null,
          noticedMaxMs: d.length ? Math.max(...d) : null,
          noticedBy: "host registry: subagents list endedAt",
        };
      });
    }

    async function seed(n) {
      const f = fanout(n);
      fake.script([
        { match: f.token, subagent: false, times: 1, tools: Array.from({ length: n }, (_, i) => ({ name: "sessions_spawn", args: { task: f.task(i), label: `s${i}`, expectsCompletionMessage: false } })) },
        { match: f.token, subagent: false, times: 1, tools: [{ name: "exec", args: { command: `sleep ${seedSleepS}`, yieldMs: (seedSleepS + 30) * 1000, timeoutSeconds: seedSleepS + 30 } }] },
        { match: f.token, subagent: false, times: 1, tools: [{ name: "sessions_list", args: {} }] },
      ]);
      const t0 = Date.now();
      const chat = gw.chat(`${f.token} fan out`, { sessionKey: f.session, timeoutMs: 240_000 });
      // The history calls need the child session keys from the spawn results: script them during the sleep.
      let keys = [];
      for (const deadline = Date.now() + 60_000; keys.length < n && Date.now() < deadline; await sleep(200)) {
        const all = bodies();
        for (const [, msgs] of all) {
          if (!msgs.some((m) => m.role === "user" && m.text.includes(f.token))) continue;
          const found = msgs.filter((m) => m.role === "tool").map((m) => /"childSessionKey":\s*"([^"]+)"/.exec(m.text)?.[1]).filter(Boolean);
          if (found.length >= n) keys = found;
        }
      }
      if (keys.length < n) throw new Error(`seed N=${n}: saw ${keys.length} child session keys`);
      fake.script({ match: f.token, subagent: false, times: 1, tools: keys.map((k) => ({ name: "sessions_history", args: { sessionKey: k, limit: 20 } })) });
      await chat;
      // The seed reads whatever is there after its fixed sleep: its last request is its answer, complete or not.
      const o = await settle(f.token, f.childTag, f.markers, 60_000, { lastIsDone: true });
      const listReq = o.parentSeqs.map((s) => o.bySeq.get(s)).find((q) => q.reply.tools?.some((t) => t.name === "sessions_list"));
      return summarise(`seed: spawn, exec sleep ${seedSleepS}, sessions_list, sessions_history`, n, f, o, t0, (ends) => ({
        hostCallsPerChild: (2 * n + 2) / n,
        hostCalls: { sessions_spawn: n, exec: 1, sessions_list: 1, sessions_history: n },
        noticedMs: median(ends.filter(Number.isFinite).map((e) => listReq.endedAt - e)),
        noticedMaxMs: Math.max(...ends.filter(Number.isFinite).map((e) => listReq.endedAt - e)),
        noticedBy: "parent's sessions_list call after the fixed sleep",
      }));
    }

    const results = [];
    const sectionStart = Date.now();
    const skipped = [];
    try {
      for (const n of SIZES) {
        for (let r = 0; r < repeats; r++) {
          // `npm run bench` must end within 15 minutes on a busy 2-core box: extra repeats give way.
          if (r > 0 && Date.now() - sectionStart > BUDGET_MS[n]) {
            skipped.push(`N=${n}: ${repeats - r} repeat(s) skipped (time budget)`);
            break;
          }
          // Interleaved, so machine noise hits every variant alike; ratios are taken per repeat.
          log(`  N=${n} repeat ${r + 1}/${repeats}: ours (wait)`);
          results.push({ ...(await ours(n, "wait")), repeat: r });
          if (r === 0) {
            // Same engine path as "wait" plus one parent turn: one run per N is enough to show the extra turn.
            log(`  N=${n} repeat ${r + 1}/${repeats}: ours (poll)`);
            results.push({ ...(await ours(n, "poll")), repeat: r });
          }
          log(`  N=${n} repeat ${r + 1}/${repeats}: native`);
          results.push({ ...(await native(n)), repeat: r });
        }
        log(`  N=${n}: seed pattern (sleep ${seedSleepS} s, 1 run)`);
        results.push({ ...(await seed(n)), repeat: 0 });
      }
    } finally {
      await gw.stop();
    }

    const variants = [...new Set(results.map((r) => r.variant))];
    const rows = [];
    const summary = [];
    for (const n of SIZES) {
      const nativeRuns = results.filter((r) => r.n === n && r.variant.startsWith("OpenClaw native"));
      for (const v of variants) {
        const rs = results.filter((r) => r.n === n && r.variant === v);
        if (!rs.length) continue;
        const m = (k) => median(rs.map((r) => r[k]).filter((x) => x !== null && Number.isFinite(x)));
        const ratio = v.startsWith("ours")
          ? median(rs.map((r) => r.makespanMs / nativeRuns.find((x) => x.repeat === r.repeat).makespanMs))
          : null;
        const s = {
          variant: v, n, runs: rs.length, makespanMs: m("makespanMs"), idealMs: rs[0].idealMs, overIdeal: m("overIdeal"),
          parentRequests: m("parentRequests"), hostCallsPerChild: m("hostCallsPerChild"), noticedMs: m("noticedMs"),
          firstChildStartMs: m("firstChildStartMs"), deliveredMs: m("deliveredMs"), ratioVsNative: ratio, noticedBy: rs[0].noticedBy,
          results: Math.min(...rs.map((r) => r.results)), hostWaitMs: m("hostWaitMs"),
          callMs: rs[0].callMs && Object.fromEntries(Object.keys(rs[0].callMs).map((k) => [k, median(rs.map((r) => r.callMs[k]).filter(Number.isFinite))])),
        };
        summary.push(s);
        const fmt = (x, d = 0) => (x === null || !Number.isFinite(x) ? "n/a" : round(x, d));
        rows.push([
          v, n, s.runs, `${s.results}/${n}`, round(s.makespanMs / 1000, 2), round(s.overIdeal, 2), ratio === null ? "" : round(ratio, 2), round(s.parentRequests, 1),
          round(s.hostCallsPerChild, 2), fmt(s.firstChildStartMs / 1000, 2), fmt(s.noticedMs), fmt(s.deliveredMs),
        ]);
      }
    }
    const at20 = summary.filter((s) => s.n === 20);
    const wait20 = at20.find((s) => s.variant.includes("waitSeconds"));
    const oursAll = summary.filter((s) => s.variant.includes("waitSeconds"));
    const oursNoticed = summary.filter((s) => s.variant.startsWith("ours"));
    const goal20 = TARGET_SLACK.factor * wait20.idealMs + TARGET_SLACK.plusMs;
    const noticed = Math.max(...oursNoticed.map((s) => s.noticedMs));
    return {
      tables: [
        {
          title:
            `Real gateway fan-out: child latency ${LATENCY_MS / 1000} s, concurrency ${CAP} (host subagents.maxConcurrent = maxChildrenPerAgent = our maxConcurrency), ` +
            `ideal = ceil(N / ${CAP}) x ${LATENCY_MS / 1000} s; medians over the runs column (up to ${repeats}; poll and seed: 1 run${quick ? `; seed sleep shortened to ${seedSleepS} s by --quick` : ""}); ` +
            "makespan = parent's chat request sent -> start of the parent model request that holds every child's result",
          columns: ["variant", "N", "runs", "results", "makespan s", "x ideal", "ours/native", "parent requests", "host calls/child", "first child starts s", "noticed ms", "delivered ms"],
          rows,
        },
        {
          title: "Where ours spends the completion-noticed time (medians, ms): host = waitForRun returns after the child's last response; then the plugin's per-call host costs",
          columns: ["variant", "N", "waitForRun back after child end", "ledger endedAt after child end", "getSessionMessages", "deleteSession", "run"],
          rows: summary
            .filter((s) => s.variant.startsWith("ours"))
            .map((s) => [s.variant, s.n, round(s.hostWaitMs, 0), round(s.noticedMs, 0), round(s.callMs.getSessionMessages, 0), round(s.callMs.deleteSession, 0), round(s.callMs.run, 0)]),
        },
      ],
      notes: [
        ...skipped,
        "host calls/child: ours = plugin calls to api.runtime.subagent (run, waitForRun, getSessionMessages, deleteSession) counted by a wrapper; native and seed = the parent model's tool calls.",
        "noticed ms (median per child, from the child's final model response): ours = the plugin's ledger marks the attempt ended; native = the host's subagents registry endedAt; seed = the parent's sessions_list call after the fixed sleep.",
        "delivered ms: last child's final response -> start of the parent model request that holds every result (the seed's: its last request, whatever it holds; negative = it answered before every child had finished).",
        "results: children's outputs present in that parent request (lowest over runs).",
      ],
      targets: [
        { name: "makespan @N=20 (ours, waitSeconds)", target: `<= ${TARGET_SLACK.factor} x ideal + ${TARGET_SLACK.plusMs / 1000} s = ${round(goal20 / 1000, 2)} s`, value: round(wait20.makespanMs / 1000, 2), unit: "s", met: wait20.makespanMs <= goal20 },
        { name: "parent requests per fan-out (ours, waitSeconds)", target: "2 whatever N", value: oursAll.map((s) => `${s.parentRequests} @N=${s.n}`).join(", "), unit: "", met: oursAll.every((s) => s.parentRequests === 2) },
        { name: "completion noticed (ours)", target: `<= ${TARGET_NOTICED_MS} ms`, value: round(noticed, 0), unit: "ms", met: noticed <= TARGET_NOTICED_MS },
      ],
      data: { latencyMs: LATENCY_MS, cap: CAP, repeats, skipped, seedSleepS, gatewayTimings: gw.timings, summary, runs: results },
    };
  },
};
