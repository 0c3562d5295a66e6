// Crash injection against the real store: no finished result is ever lost or paid twice.
// A child process (tests/support/crash-child.ts, bundled here) runs two batches on a SQLite store
// with the in-memory runtime and SIGKILLs itself at a chosen commit: right after commit K, or
// inside commit K (its writes done, COMMIT not reached). K runs over every commit of a clean run,
// in both modes; then a few points kill the resumed second life too. The store is then reopened
// here and a new engine (new owner, fresh runtime) finishes the batches. After it:
//  - every lane ends `ok` with its own output;
//  - a lane `ok` at the kill is exactly as it was, and the fresh runtime never ran it;
//  - every attempt finished at the kill is unchanged; every attempt live at the kill ended
//    `interrupted` and is the only kind that did (and none used a retry: crash-a has retries 0);
//  - each attempt carries its child's tokens once; run and batch totals are their sum;
//  - every child the fresh runtime ran is a recorded attempt (or its correction);
//  - the completion notice went out, and not again once it was recorded.
// Default: 2 x (commits of a clean run) single kills + 24 double kills, 2 children at a time.
// CRASH_ROUNDS=n repeats the single kills with n-1 more delay seeds (other interleavings);
// CRASH_FULL=1 (`npm run crash`) = 5 rounds, and double kills at every first commit 2..N x second
// commits 1,2,3,4,6,8 x the 4 mode pairs. CRASH_PARALLEL: children at a time (2); CRASH_VERBOSE=1
// lists the clean run's commits.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";
import { afterAll, describe, type ExpectStatic, it } from "vitest";
import { Engine } from "../../src/engine/engine.js";
import { liveAttempt } from "../../src/engine/transitions.js";
import { type BatchRecord, batchTotals } from "../../src/batch/types.js";
import { BatchStore } from "../../src/store/batch-store.js";
import {
  BATCH_IDS, ScenarioRuntime, closed, expectedCost, expectedOutput, expectedUsage, fileNotifier, notices,
} from "../support/crash-child.js";

const root = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const FULL = process.env.CRASH_FULL === "1";
const ROUNDS = Math.max(1, Number(process.env.CRASH_ROUNDS ?? (FULL ? 5 : 1)));
const PARALLEL = Math.max(1, Number(process.env.CRASH_PARALLEL ?? 2));

type Mode = "after" | "inside";
interface Kill { k: number; mode: Mode }
interface Point { seed: number; first: Kill; second?: Kill }
interface ChildExit { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

// ------------------------------------------------------------------------------------------------
// The child: bundled once (esbuild, as the plugin is), run on this Node (24 under scripts/test.mjs).

const work = mkdtempSync(join(tmpdir(), "pa-crash-"));
const bundle = join(work, "crash-child.mjs");
await build({
  stdin: {
    contents: 'import { main } from "./crash-child.ts"; main().catch((err) => { console.error(err); process.exit(1); });',
    resolveDir: join(root, "tests/support"),
    sourcefile: "crash-entry.ts",
    loader: "ts",
  },
  outfile: bundle,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node22",
  logLevel: "warning",
  // The bundle lives in a temp dir: the package root (skill.json, prompts/) is found from the source tree.
  define: { "import.meta.url": JSON.stringify(pathToFileURL(join(root, "src/roles/package-root.ts")).href) },
  banner: { js: "import { createRequire as __paCreateRequire } from 'node:module'; const require = __paCreateRequire(import.meta.url);" },
});

let active = 0;
const waiting: (() => void)[] = [];
async function slot<T>(body: () => Promise<T>): Promise<T> {
  while (active >= PARALLEL) await new Promise<void>((r) => waiting.push(r));
  active++;
  try {
    return await body();
  } finally {
    active--;
    waiting.shift()?.();
  }
}

function runChild(dir: string, env: Record<string, string>): Promise<ChildExit> {
  return new Promise((resolveExit, reject) => {
    const child = spawn(process.execPath, [bundle], { env: { ...process.env, CRASH_DIR: dir, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 40_000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolveExit({ code, signal, stdout, stderr });
    });
  });
}

const killEnv = (kill: Kill, seed: number, owner: string, resume: boolean): Record<string, string> => ({
  CRASH_AT: String(kill.k), CRASH_MODE: kill.mode, CRASH_SEED: String(seed), CRASH_OWNER: owner, CRASH_RESUME: resume ? "1" : "0",
});

/** Reads the store as the next process would find it. */
function snapshot(dir: string): Map<string, BatchRecord | undefined> {
  const store = BatchStore.open(dir);
  try {
    return new Map(BATCH_IDS.map((id) => [id, store.load(id)]));
  } finally {
    store.close();
  }
}

// ------------------------------------------------------------------------------------------------
// What must hold

/**
 * Everything finished in `before` is in `after` as it was; what was live ended `interrupted`
 * (or, when `after` is a second life killed before it got to it, is still as it was).
 */
function carriedOver(expect: ExpectStatic, at: string, before: BatchRecord, after: BatchRecord, midway = false): void {
  before.runs.forEach((b, i) => {
    const f = after.runs[i];
    const where = `${at} ${before.batchId} ${b.spec.label}`;
    expect(f.spec.label, where).toBe(b.spec.label);
    if (b.state === "ok") expect(f, `${where}: was ok at the kill, must be untouched`).toEqual(b);
    b.attempts.forEach((a, j) => {
      if (a.outcome) expect(f.attempts[j], `${where} attempt ${a.n}: finished at the kill`).toEqual(a);
      else if (midway && !f.attempts[j].outcome) expect(f.attempts[j], `${where} attempt ${a.n}: still live`).toEqual(a);
      else {
        const { n, sessionKey, model, owner, startedAt } = a;
        expect(f.attempts[j], `${where} attempt ${a.n}: live at the kill`).toMatchObject({ n, sessionKey, model, owner, startedAt, outcome: "interrupted" });
      }
    });
  });
}

function verifyBatch(expect: ExpectStatic, at: string, kills: Map<string, BatchRecord | undefined>[], final: BatchRecord, fresh: ScenarioRuntime, recoveryNotices: number, allNotices: number): void {
  const id = final.batchId;
  const last = kills[kills.length - 1].get(id)!;
  const liveAtAKill = new Set<string>();
  for (const k of kills) for (const run of k.get(id)?.runs ?? []) for (const a of run.attempts) if (!a.outcome) liveAtAKill.add(a.sessionKey);
  expect(final.open, `${at} ${id}: still open`).toBe(false);
  let tokens = 0;
  let costUsd = 0;
  final.runs.forEach((run, i) => {
    const { label } = run.spec;
    const where = `${at} ${id} ${label}`;
    expect(run.state, `${where}: ${run.error ?? ""}`).toBe("ok");
    expect(run.output, where).toBe(expectedOutput(label));
    if (run.spec.outputSchema) expect(run.json, where).toEqual({ answer: "out-json" });
    let runTokens = 0;
    for (const a of run.attempts) {
      expect(a.outcome === "interrupted", `${where} attempt ${a.n} (${a.outcome}): interrupted iff live at a kill`).toBe(liveAtAKill.has(a.sessionKey));
      const usage = expectedUsage(label, a);
      expect(a.usage, `${where} attempt ${a.n}: usage`).toEqual(usage);
      expect(a.tokens, `${where} attempt ${a.n}: tokens`).toBe(usage.inputTokens + usage.outputTokens);
      expect(a.costUsd, `${where} attempt ${a.n}: cost`).toBeCloseTo(expectedCost(label, a), 12);
      runTokens += a.tokens;
      tokens += a.tokens;
      costUsd += expectedCost(label, a);
    }
    expect(runTokens, `${where}: run tokens`).toBe(run.attempts.reduce((s, a) => s + expectedUsage(label, a).inputTokens + expectedUsage(label, a).outputTokens, 0));
    // No retry was spent on an interruption: the real attempts are those of a clean run, and the
    // attempt after an interrupted one asks for the same model.
    const real = run.attempts.filter((a) => a.outcome !== "interrupted");
    expect(real.map((a) => a.model), `${where}: attempts that count`).toEqual(label === "flaky" ? ["m/cheap", "m/mid"] : ["m/cheap"]);
    run.attempts.forEach((a, j) => {
      if (a.outcome === "interrupted") expect(run.attempts[j + 1]?.model, `${where}: re-run after interruption`).toBe(a.model);
    });
    // Every child the fresh runtime ran is a recorded attempt of this run (or its correction).
    const ours = run.attempts.filter((a) => a.owner === "recovery");
    const children = fresh.runsOf(id, i).map((r) => r.req.sessionKey);
    expect(children.sort(), `${where}: children run after the kill`).toEqual(ours.flatMap((a) => (a.corrected ? [a.sessionKey, a.sessionKey] : [a.sessionKey])).sort());
    if (last.runs[i].state === "ok") expect(children, `${where}: ok at the kill, must not run again`).toEqual([]);
  });
  expect(batchTotals(final), `${at} ${id}: batch totals`).toEqual({ tokens, costUsd: Math.round(costUsd * 1e6) / 1e6 });
  if (final.notify) {
    expect(final.notifiedAt, `${at} ${id}: notice recorded`).toBeTypeOf("number");
    expect(allNotices, `${at} ${id}: notices sent`).toBeGreaterThanOrEqual(1);
    expect(recoveryNotices, `${at} ${id}: notices sent after the kill`).toBe(last.notifiedAt ? 0 : 1);
  }
}

async function crashAndRecover(expect: ExpectStatic, p: Point): Promise<void> {
  const at = `seed ${p.seed} kill ${p.first.mode} commit ${p.first.k}${p.second ? ` then ${p.second.mode} commit ${p.second.k}` : ""}:`;
  const dir = mkdtempSync(join(work, "store-"));
  try {
    const kills: Map<string, BatchRecord | undefined>[] = [];
    await slot(async () => {
      const first = await runChild(dir, killEnv(p.first, p.seed, "child-1", false));
      // Group commits follow the event loop, so a run may make a commit or two fewer than the clean
      // one: a life that ends before commit K is a clean end (checked as such), never a pass unseen.
      if (first.signal === "SIGKILL") firstKilled++;
      else {
        expect(first.code, `${at} the child was not killed and failed: ${first.stderr}`).toBe(0);
        expect((JSON.parse(first.stdout) as { commits: number }).commits, `${at} the child was not killed`).toBeLessThan(p.first.k);
      }
      kills.push(snapshot(dir));
      if (p.second) {
        const second = await runChild(dir, killEnv(p.second, p.seed, "child-2", true));
        // A short second life may finish before commit K: then it is a clean end, not a kill.
        if (second.signal !== "SIGKILL") expect(second.code, `${at} second life: ${second.stderr}`).toBe(0);
        const after = snapshot(dir);
        for (const [id, b] of kills[0]) if (b) carriedOver(expect, `${at} second life`, b, after.get(id)!, true);
        kills.push(after); // where the recovery starts from, killed or not

      }
    });
    const atKill = kills[kills.length - 1];
    const noticesBefore = notices(dir).length;
    const store = BatchStore.open(dir);
    const fresh = new ScenarioRuntime(p.seed);
    const engine = new Engine({ store, runtime: fresh, owner: "recovery", random: () => 0, notifier: fileNotifier(dir, "recovery") });
    const present = BATCH_IDS.filter((id) => atKill.get(id));
    try {
      await engine.start();
      expect(await closed(engine, present, 20_000), `${at} recovery did not finish`).toBe(true);
    } finally {
      await engine.stop();
    }
    const recoveryNotices = notices(dir).length - noticesBefore;
    for (const id of BATCH_IDS) {
      const before = atKill.get(id);
      if (!before) {
        // Never committed, so never acknowledged to anyone: it stays absent and nothing runs for it.
        expect(store.load(id), `${at} ${id}`).toBeUndefined();
        expect(fresh.runs.filter((r) => r.req.sessionKey.includes(`-${id}-`)), `${at} ${id}`).toEqual([]);
        continue;
      }
      const final = engine.get(id)!;
      for (const k of kills) if (k.get(id)) carriedOver(expect, at, k.get(id)!, final);
      verifyBatch(expect, at, kills, final, fresh, recoveryNotices, notices(dir).length);
      expect(store.load(id), `${at} ${id}: the store holds what the engine reported`).toEqual(final);
    }
    expect(fresh.overlapsWithinRun(), `${at} overlapping attempts`).toEqual([]);
    expect(liveAttemptsLeft(store), `${at} live attempts left`).toEqual([]);
    store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const liveAttemptsLeft = (store: BatchStore) =>
  BATCH_IDS.flatMap((id) => store.load(id)?.runs.filter((r) => liveAttempt(r)).map((r) => `${id} ${r.spec.label}`) ?? []);

// ------------------------------------------------------------------------------------------------
// The clean run sets the kill points: every commit it makes, in both modes.

const clean = await (async () => {
  const dir = mkdtempSync(join(work, "clean-"));
  const exit = await runChild(dir, killEnv({ k: 0, mode: "after" }, 0, "child-1", false));
  if (exit.code !== 0) throw new Error(`clean child run failed (${exit.signal ?? exit.code}): ${exit.stderr}`);
  const { commits, kinds } = JSON.parse(exit.stdout) as { commits: number; kinds: string[] };
  return { dir, commits, kinds, snapshot: snapshot(dir), notices: notices(dir) };
})();
const byKind = new Map<string, number>();
for (const k of clean.kinds) byKind.set(k.split(" ")[0], (byKind.get(k.split(" ")[0]) ?? 0) + 1);

const points: Point[] = [];
for (let seed = 0; seed < ROUNDS; seed++) {
  for (let k = 1; k <= clean.commits; k++) for (const mode of ["after", "inside"] as const) points.push({ seed, first: { k, mode } });
}
// Kill the second life too: after a kill at a point with attempts live (and a notice owed), the
// resumed child is killed during its own recovery and its first commits.
const firstKills = FULL ? Array.from({ length: clean.commits - 1 }, (_, i) => i + 2) : [8, 14, 19, 27].filter((k) => k <= clean.commits);
const secondKills = FULL ? [1, 2, 3, 4, 6, 8] : [1, 2, 3, 4, 5, 6];
for (const k1 of firstKills) {
  secondKills.forEach((k2, j) => {
    const modes: [Mode, Mode][] = FULL ? [["after", "after"], ["inside", "inside"], ["after", "inside"], ["inside", "after"]] : [[j % 2 ? "inside" : "after", j % 2 ? "after" : "inside"]];
    for (const [m1, m2] of modes) points.push({ seed: 0, first: { k: k1, mode: m1 }, second: { k: k2, mode: m2 } });
  });
}

console.log(
  `crash-injection: a clean run makes ${clean.commits} commits (${[...byKind].map(([k, n]) => `${n} ${k}`).join(", ")}); ${points.length} kill points` +
    (process.env.CRASH_VERBOSE ? `\n  ${clean.kinds.map((k, i) => `${i + 1} ${k}`).join("\n  ")}` : ""),
);

afterAll(() => rmSync(work, { recursive: true, force: true }));
/** First lives that were killed: all but the last commit or two of a run (see crashAndRecover). */
let firstKilled = 0;
afterAll(() => {
  const minimum = points.length - 4 * ROUNDS;
  if (firstKilled < minimum) throw new Error(`only ${firstKilled} of ${points.length} first lives were killed (at least ${minimum} must be)`);
});

describe("crash injection: a SIGKILL at any commit loses no finished result and pays nothing twice", () => {
  it("the clean run (the scenario the kills cut into) ends with every lane ok and one notice", ({ expect }) => {
    expect(clean.commits).toBeGreaterThanOrEqual(20); // changes of one turn share a commit (engine/group-commit)
    expect(clean.notices).toEqual([{ owner: "child-1", batchId: "crash-b" }]);
    for (const id of BATCH_IDS) {
      const b = clean.snapshot.get(id)!;
      expect(b.open).toBe(false);
      for (const run of b.runs) expect([run.spec.label, run.state, run.output]).toEqual([run.spec.label, "ok", expectedOutput(run.spec.label)]);
    }
    const json = clean.snapshot.get("crash-a")!.runs.find((r) => r.spec.label === "json")!;
    expect(json.attempts.map((a) => [a.outcome, a.corrected])).toEqual([["ok", true]]);
    const flaky = clean.snapshot.get("crash-b")!.runs.find((r) => r.spec.label === "flaky")!;
    expect(flaky.attempts.map((a) => [a.model, a.outcome])).toEqual([["m/cheap", "empty_output"], ["m/mid", "ok"]]);
    expect(new Set(points.map((p) => JSON.stringify(p))).size).toBeGreaterThanOrEqual(50);
  });

  for (const p of points) {
    const name = `seed ${p.seed}: kill ${p.first.mode} commit ${p.first.k}${p.second ? `, then the resumed child ${p.second.mode} commit ${p.second.k}` : ""}`;
    it.concurrent(name, ({ expect }) => crashAndRecover(expect, p), 120_000);
  }
});
