// Builds batches for engine specs without the tool layer.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BatchRunner } from "../../src/orchestrator/batch-runner.js";
import { Ledger } from "../../src/orchestrator/ledger.js";
import type { BatchOptions, BatchRecord, RunSpec } from "../../src/orchestrator/types.js";
import { MemoryRuntime } from "./memory-runtime.js";

export const tempDir = (prefix = "pa-test-") => mkdtempSync(join(tmpdir(), prefix));

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

export function setup(specs: RunSpec[], runtime = new MemoryRuntime(), opts: Partial<BatchOptions> = {}, owner = "proc-1") {
  const ledger = new Ledger(tempDir());
  const batch = batchOf(specs, opts);
  ledger.create(batch);
  const runner = new BatchRunner(batch, { runtime, ledger, owner, random: () => 0, releaseGraceMs: 200 });
  return { runner, ledger, runtime, batch };
}

export const labelsOf = (runner: BatchRunner) => Object.fromEntries(runner.batch.runs.map((r) => [r.spec.label, r.state]));
