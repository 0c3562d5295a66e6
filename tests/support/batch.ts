// Builds batches for engine specs without the tool layer: a real store in a temp dir, the engine,
// and the in-memory runtime. `restart` reopens the same store in a new engine, as a new process would.
import { afterAll, afterEach } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Engine, type EngineDeps } from "../../src/engine/engine.js";
import type { BatchOptions, BatchRecord, RunSpec } from "../../src/batch/types.js";
import { isComplete } from "../../src/batch/types.js";
import { BatchStore } from "../../src/store/batch-store.js";
import { MemoryRuntime } from "./memory-runtime.js";

const tempDirs: string[] = [];
// Every spec file that makes temp stores removes them when it ends (they piled up in /tmp by the ten thousand).
afterAll(() => tempDirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

export function tempDir(prefix = "pa-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

export function options(overrides: Partial<BatchOptions> = {}): BatchOptions {
  return {
    maxConcurrency: 3,
    retries: 2,
    escalate: true,
    ladder: ["m/cheap", "m/mid", "m/strong"],
    modelOverride: true,
    budget: {},
    prices: { "m/cheap": { input: 1, output: 5 } },
    ...overrides,
  };
}

export function spec(label: string, overrides: Partial<RunSpec> = {}): RunSpec {
  return { label, prompt: `do ${label}`, tier: 0, timeoutSeconds: 30, ...overrides };
}

let seq = 0;
export function batchOf(specs: RunSpec[], opts: Partial<BatchOptions> = {}): BatchRecord {
  return {
    batchId: `test-${Date.now().toString(36)}-${++seq}`,
    createdAt: Date.now(),
    owner: "",
    requester: "agent:main:main",
    agentId: "main",
    depth: 0,
    options: options(opts),
    runs: specs.map((s) => ({ spec: s, state: "queued", attempts: [] })),
    notes: [],
  };
}

export type EngineOptions = Partial<Omit<EngineDeps, "store" | "runtime">> & { dir?: string; batch?: Partial<BatchRecord> };

export function engineOn(dir: string, runtime: MemoryRuntime, extra: EngineOptions = {}) {
  const store = BatchStore.open(dir);
  return new Engine({ store, runtime, owner: "proc-1", random: () => 0, ...extra });
}

/** Waits (bounded) until the batch is complete; returns it as the engine has it. */
export async function settled(engine: Engine, batchId: string, ms = 10_000): Promise<BatchRecord> {
  const deadline = Date.now() + ms;
  while (!isComplete(engine.get(batchId)!) && Date.now() < deadline) await engine.nextChange(batchId, deadline);
  return engine.get(batchId)!;
}

/** Waits until `check` holds for the batch (bounded). */
export async function until(engine: Engine, batchId: string, check: (b: BatchRecord) => boolean, ms = 10_000): Promise<BatchRecord> {
  const deadline = Date.now() + ms;
  while (!check(engine.get(batchId)!) && Date.now() < deadline) await engine.nextChange(batchId, deadline);
  return engine.get(batchId)!;
}

export function setup(specs: RunSpec[], runtime = new MemoryRuntime(), opts: Partial<BatchOptions> = {}, extra: EngineOptions = {}) {
  const dir = extra.dir ?? tempDir();
  let engine = engineOn(dir, runtime, extra);
  const batch = { ...batchOf(specs, opts), ...extra.batch };
  engine.submit(batch);
  return {
    get engine() {
      return engine;
    },
    runtime,
    batch,
    dir,
    done: (ms?: number) => settled(engine, batch.batchId, ms),
    /** Stops the current engine and starts a new one on the same store, as after a gateway restart. */
    async restart(next: MemoryRuntime, more: EngineOptions = {}) {
      await engine.stop();
      engine.store.close();
      engine = engineOn(dir, next, { owner: "proc-2", ...more });
      await engine.start();
      return engine;
    },
  };
}

export const labelsOf = (batch: BatchRecord) => Object.fromEntries(batch.runs.map((r) => [r.spec.label, r.state]));

/** Stops, after each test, every engine handed to the returned `track` (so a failing spec leaves no loop running). */
export function stopsEnginesAfterEach(): <T extends { engine: { stop(): Promise<void> } }>(t: T) => T {
  const running: { engine: { stop(): Promise<void> } }[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((t) => t.engine.stop()));
  });
  return (t) => {
    running.push(t);
    return t;
  };
}
