// The cost section's workloads (bench/sections/cost.mjs), run by bench/probes/cost-case.mjs; `call`
// is the seam, so another host (a real gateway) can drive the same batches.
// Three variants run the same batches, each as its own agent (the adaptive ladder learns per agent, so
// no variant learns from another's runs), interleaved batch by batch so a slow moment of the shared
// machine hits all three alike:
//   adaptive     the default: the ladder learns a role's starting rung from its last runs
//   fixed        the same calls with `adaptive: false`: every run starts on its role's own rung
//   strong       `ladder: [<strongest>]`: every run on the strongest rung

export const BATCHES = 5;
export const TASKS = 10;
export const CONCURRENCY = 5;
/** USD per million tokens, by rung; the ladder is `<provider>/cheap|mid|strong`. */
export const RUNG_PRICES = { cheap: { input: 1, output: 5 }, mid: { input: 2.5, output: 12.5 }, strong: { input: 15, output: 75 } };
export const RESEARCH = JSON.stringify({ topic: "t", summary: "s", findings: [{ claim: "c", evidence: "e", sources: ["s"] }], confidence: 0.8, openQuestions: [] });
/** What a corrective follow-up starts with (prompts/corrective.hbs). */
export const CORRECTIVE = "Your previous answer cannot be used";

export const WORKLOADS = [
  { id: "fails", label: "cheap fails 80%", failing: 8 },
  { id: "succeeds", label: "cheap always succeeds", failing: 0 },
];

export const ladderOf = (provider) => ["cheap", "mid", "strong"].map((r) => `${provider}/${r}`);
export const pricesOf = (provider) => Object.fromEntries(Object.entries(RUNG_PRICES).map(([r, p]) => [`${provider}/${r}`, p]));

export function variants(provider) {
  return [
    { id: "adaptive", label: "adaptive ladder", extra: {} },
    { id: "fixed", label: "fixed ladder (adaptive: false)", extra: { adaptive: false } },
    { id: "strong", label: `all on ${provider}/strong`, extra: { ladder: [`${provider}/strong`] } },
  ];
}

/** Researcher tasks of one batch: the first `failing` of every 10 get prose from the cheap rung. */
export function tasksFor(workload, rep, b) {
  return Array.from({ length: TASKS }, (_, i) => ({
    role: "researcher",
    label: `r${i}`,
    vars: { topic: `BENCHCOST ${i % 10 < workload.failing ? "FAILCHEAP " : ""}topic ${rep}-${b}-${i}` },
  }));
}

/**
 * Runs one workload for every variant; `call(variant, sessionKey, args)` resolves to the batch's
 * `details` once it is complete. Returns per variant: cost, makespan (sum of the batches' wall
 * times), attempts, tokens, runs ok, and how many batches carried a learned-start note.
 */
export async function runWorkload(workload, rep, provider, call) {
  const vs = variants(provider);
  const acc = Object.fromEntries(vs.map((v) => [v.id, { costUsd: 0, makespanMs: 0, attempts: 0, tokens: 0, runsOk: 0, learnedBatches: 0, startsUp: 0 }]));
  for (let b = 0; b < BATCHES; b++) {
    for (const v of vs) {
      const sessionKey = `agent:cost-${v.id}-${workload.id}-${rep}:main`;
      const t0 = Date.now();
      const d = await call(v, sessionKey, { tasks: tasksFor(workload, rep, b), maxConcurrency: CONCURRENCY, waitSeconds: 600, ...v.extra });
      const a = acc[v.id];
      a.makespanMs += Date.now() - t0;
      if (!d?.complete) throw new Error(`${workload.id}/${v.id} batch ${b}: not complete: ${JSON.stringify(d).slice(0, 300)}`);
      a.costUsd += d.usage.costUsd;
      a.attempts += d.runs.reduce((n, run) => n + run.attempts.length, 0);
      a.tokens += d.usage.tokens;
      a.runsOk += d.runs.filter((run) => run.state === "ok").length;
      a.learnedBatches += (d.notes ?? []).some((n) => / starts on /.test(n)) ? 1 : 0;
      a.startsUp += d.runs.filter((run) => run.attempts[0]?.model === `${provider}/mid`).length;
    }
  }
  return acc;
}
