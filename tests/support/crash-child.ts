// The crash-injection scenario, shared by the child process that gets killed and the test that
// recovers after it. The child (bundled by tests/unit/crash-injection.test.ts and run on Node 24)
// runs two batches on a real store with the in-memory runtime, counts the store's commits (every
// BatchStore write is one `tx`) and SIGKILLs itself right after commit CRASH_AT ("after"), or with
// commit CRASH_AT's writes done but not yet committed ("inside"). Nothing here sleeps to choose
// the kill point: it is a commit number.
//
// Env: CRASH_DIR (store dir, required), CRASH_AT (0 = never), CRASH_MODE (after | inside),
// CRASH_OWNER (engine owner id), CRASH_RESUME=1 (resume the store's open batches instead of
// submitting new ones: a second life that can itself be killed), CRASH_SEED (delay jitter).
// Prints one JSON line on a clean exit: { commits, kinds }.
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Engine } from "../../src/engine/engine.js";
import type { Notifier } from "../../src/engine/notice.js";
import { costOf } from "../../src/batch/cost.js";
import type { Attempt, BatchOptions, BatchRecord, RunSpec } from "../../src/batch/types.js";
import type { StartRequest, Transcript } from "../../src/runtime/port.js";
import { BatchStore } from "../../src/store/batch-store.js";
import { type Behaviour, MemoryRuntime } from "./memory-runtime.js";

export const LADDER = ["m/cheap", "m/mid", "m/strong"];
export const PRICES = { "m/cheap": { input: 1, output: 5 } };
const jsonSchema = { type: "object", required: ["answer"], properties: { answer: { type: "string" } } };

/**
 * Two batches, so every kind of write happens: admission under a concurrency limit, a gated run
 * ungated, an empty reply retried on a stronger model after a backoff, a JSON reply corrected in
 * the same session, a completion notice recorded in the header.
 *  - crash-a: retries 0, so an interruption that used a retry would fail its run.
 *  - crash-b: retries 1 (the flaky lane needs its one retry), notify on.
 */
export const LANES: Record<string, { batch: "crash-a" | "crash-b"; spec: Partial<RunSpec>; baseDelayMs: number }> = {
  a1: { batch: "crash-a", spec: {}, baseDelayMs: 30 },
  a2: { batch: "crash-a", spec: {}, baseDelayMs: 10 },
  json: { batch: "crash-a", spec: { outputSchema: jsonSchema }, baseDelayMs: 20 },
  a3: { batch: "crash-a", spec: {}, baseDelayMs: 45 },
  synth: { batch: "crash-a", spec: { gate: "lanes" }, baseDelayMs: 10 },
  flaky: { batch: "crash-b", spec: {}, baseDelayMs: 15 },
  b1: { batch: "crash-b", spec: {}, baseDelayMs: 40 },
};
const LABELS = Object.keys(LANES);
export const BATCH_IDS = ["crash-a", "crash-b"] as const;

const batchOptions = (retries: number): BatchOptions => ({
  maxConcurrency: 2, retries, escalate: true, ladder: LADDER, modelOverride: true, budget: {}, prices: PRICES,
});

export function scenarioBatches(): BatchRecord[] {
  const make = (batchId: string, retries: number, notify: boolean): BatchRecord => ({
    batchId,
    createdAt: Date.now(),
    owner: "",
    requester: "agent:main:main",
    agentId: "main",
    depth: 0,
    options: batchOptions(retries),
    runs: LABELS.filter((l) => LANES[l].batch === batchId).map((label) => ({
      spec: { label, prompt: `do ${label}`, tier: 0, timeoutSeconds: 60, ...LANES[label].spec },
      state: "queued" as const,
      attempts: [],
    })),
    notes: [],
    notify,
  });
  return [make("crash-a", 0, false), make("crash-b", 1, true)];
}

/** What every lane finally answers: unique per lane, so a mixed-up or lost result shows. */
export const expectedOutput = (label: string): string => (label === "json" ? `{"answer":"out-json"}` : `out-${label}`);

/** Usage a child reports: unique per lane, model and (JSON lane) first reply or correction. */
export function usageOf(label: string, model: string | undefined, correction: boolean) {
  return { inputTokens: 1000 * (LABELS.indexOf(label) + 1) + 10 * LADDER.indexOf(model ?? "") + (correction ? 5 : 0), outputTokens: 3 };
}

/**
 * The tokens an attempt must carry: what its child reported, once. An interrupted attempt's child
 * died with the process that ran it (the fresh runtime cannot read it), so it keeps what was
 * recorded before the kill: nothing, or the first reply's usage if a correction had been sent.
 */
export function expectedUsage(label: string, a: Attempt) {
  if (a.outcome === "interrupted") return a.corrected ? usageOf(label, a.model, false) : { inputTokens: 0, outputTokens: 0 };
  return usageOf(label, a.model, a.corrected === true);
}

export const expectedCost = (label: string, a: Attempt): number => costOf(expectedUsage(label, a), a.model, PRICES);

/** Deterministic small delays; `seed` shifts them so repeated rounds hit other interleavings. */
function delayOf(label: string, seed: number): number {
  const base = LANES[label].baseDelayMs;
  if (!seed) return base;
  let h = seed * 2654435761;
  for (const c of label) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  return base + (Math.abs(h) % 40);
}

/**
 * The scripted host. Sessions map to lanes by their first message; the cheap model of `flaky`
 * answers nothing; the JSON lane's first reply breaks its contract, the corrected one is valid.
 * `read` of a session this runtime never ran fails, as it would for a child that died with the
 * process that started it.
 */
export class ScenarioRuntime extends MemoryRuntime {
  private readonly lanes = new Map<string, string>();

  constructor(seed = 0) {
    super((req: StartRequest): Behaviour => this.behave(req, seed));
  }

  /** Child runs this runtime started for a batch's run (index) — any attempt, any message. */
  runsOf(batchId: string, index: number) {
    return this.runs.filter((r) => r.req.sessionKey.includes(`-${batchId}-${index + 1}-a`));
  }

  override async read(sessionKey: string): Promise<Transcript> {
    if (!this.runs.some((r) => r.req.sessionKey === sessionKey)) throw new Error(`no session ${sessionKey}`);
    return super.read(sessionKey);
  }

  private behave(req: StartRequest, seed: number): Behaviour {
    const first = /^do (\S+)$/.exec(req.message)?.[1];
    if (first) this.lanes.set(req.sessionKey, first);
    const label = first ?? this.lanes.get(req.sessionKey);
    if (!label) throw new Error(`unscripted message in ${req.sessionKey}`);
    const delayMs = delayOf(label, seed);
    const correction = !first;
    const usage = usageOf(label, req.model, correction);
    if (label === "flaky" && req.model === "m/cheap") return { empty: true, delayMs, usage };
    if (label === "json" && !correction) return { reply: `{"answer": 42}`, delayMs, usage };
    return { reply: expectedOutput(label), delayMs, usage };
  }
}

/** Notices go to an append-only log next to the store, written before the engine records them. */
export const noticeLog = (dir: string) => join(dir, "notices.log");
export function notices(dir: string): { owner: string; batchId: string }[] {
  const path = noticeLog(dir);
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as { owner: string; batchId: string });
}
export function fileNotifier(dir: string, owner: string): Notifier {
  return {
    async notify(target) {
      appendFileSync(noticeLog(dir), `${JSON.stringify({ owner, batchId: target.batchId })}\n`);
      return "test-log";
    },
  };
}

/** Waits until none of `ids` has work left (runs terminal and any notice sent), bounded. */
export async function closed(engine: Engine, ids: readonly string[], ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (const id of ids) {
    while (engine.get(id)?.open !== false && Date.now() < deadline) await engine.nextChange(id, Math.min(deadline, Date.now() + 50));
    if (engine.get(id)?.open !== false) return false;
  }
  return true;
}

function die(): never {
  process.kill(process.pid, "SIGKILL");
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10_000); // never runs on: the signal is already pending
  throw new Error("SIGKILL did not land");
}

/** Counts the store's commits; dies right after commit `crashAt`, or inside it before COMMIT. */
function instrument(store: BatchStore, crashAt: number, mode: string): string[] {
  const kinds: string[] = [];
  let kind = "tx";
  const tx = store.tx.bind(store);
  store.tx = <T>(body: () => T): T => {
    kinds.push(kind);
    const k = kinds.length;
    const out = tx(() => {
      const value = body();
      if (k === crashAt && mode === "inside") die();
      return value;
    });
    if (k === crashAt && mode !== "inside") die();
    return out;
  };
  // Names each commit by the write that made it (for the clean run's report).
  const named = <A extends unknown[], R>(f: (...args: A) => R, name: (...args: A) => string) =>
    (...args: A): R => {
      kind = name(...args);
      try {
        return f.apply(store, args);
      } finally {
        kind = "tx";
      }
    };
  store.create = named(store.create, (b) => `create ${b.batchId}`);
  store.saveRuns = named(store.saveRuns, (b, runs) => `saveRuns ${b.batchId} ${runs.map(([, r]) => `${r.spec.label} ${r.state}`).join(", ") || "(header)"}`);
  store.saveHeader = named(store.saveHeader, (b) => `saveHeader ${b.batchId} open=${b.open}`);
  store.prune = named(store.prune, () => "prune");
  return kinds;
}

export async function main(): Promise<void> {
  const dir = process.env.CRASH_DIR;
  if (!dir) throw new Error("CRASH_DIR is required");
  const owner = process.env.CRASH_OWNER ?? "child-1";
  const seed = Number(process.env.CRASH_SEED ?? 0);
  const store = BatchStore.open(dir);
  const kinds = instrument(store, Number(process.env.CRASH_AT ?? 0), process.env.CRASH_MODE ?? "after");
  const engine = new Engine({ store, runtime: new ScenarioRuntime(seed), owner, random: () => 0, notifier: fileNotifier(dir, owner) });
  await engine.start();
  if (process.env.CRASH_RESUME !== "1") for (const batch of scenarioBatches()) engine.submit(batch);
  const ids = store.list().map((b) => b.batchId);
  if (!(await closed(engine, ids, 30_000))) throw new Error("batches did not finish within 30s");
  await engine.stop();
  store.close();
  process.stdout.write(`${JSON.stringify({ commits: kinds.length, kinds })}\n`);
}
