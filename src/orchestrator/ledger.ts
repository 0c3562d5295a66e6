// Durable, append-only record of every batch: one JSON line per state change, written
// synchronously before the change is reported. Replaying the lines rebuilds the batch, so
// poll_until_complete can answer after a gateway restart. A torn last line (crash mid-write)
// is ignored. Files are private to the user (0600 in a 0700 folder).
import { appendFileSync, mkdirSync, readdirSync, readFileSync, statSync, unlinkSync, existsSync } from "node:fs";
import { join } from "node:path";
import type { Attempt, BatchRecord, RunRecord } from "./types.js";
import { ToolInputError } from "../errors.js";

type RunPatch = Partial<Omit<RunRecord, "spec" | "attempts">>;
type LedgerLine =
  | { t: "batch"; batch: BatchRecord }
  | { t: "run"; label: string; patch: RunPatch }
  | { t: "attempt"; label: string; attempt: Attempt }
  | { t: "note"; text: string };

const BATCH_ID = /^[A-Za-z0-9_-]{4,80}$/;

export function assertBatchId(batchId: unknown): asserts batchId is string {
  if (typeof batchId !== "string" || !BATCH_ID.test(batchId)) {
    throw new ToolInputError(`batchId must be the id returned by parallel_spawn (letters, digits, - and _), got ${JSON.stringify(batchId)?.slice(0, 80)}`);
  }
}

export interface LedgerOptions {
  /** Keep at most this many batch files (oldest go first). */
  maxBatches?: number;
  /** Drop batch files not written for this long. */
  maxAgeMs?: number;
}

export class Ledger {
  private readonly maxBatches: number;
  private readonly maxAgeMs: number;

  constructor(readonly dir: string, options: LedgerOptions = {}) {
    this.maxBatches = options.maxBatches ?? 200;
    this.maxAgeMs = options.maxAgeMs ?? 7 * 24 * 3600_000;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  private file(batchId: string): string {
    assertBatchId(batchId);
    return join(this.dir, `${batchId}.jsonl`);
  }

  private append(batchId: string, line: LedgerLine): void {
    appendFileSync(this.file(batchId), `${JSON.stringify(line)}\n`, { mode: 0o600 });
  }

  create(batch: BatchRecord): void {
    this.append(batch.batchId, { t: "batch", batch });
  }

  run(batchId: string, label: string, patch: RunPatch): void {
    this.append(batchId, { t: "run", label, patch });
  }

  attempt(batchId: string, label: string, attempt: Attempt): void {
    this.append(batchId, { t: "attempt", label, attempt });
  }

  note(batchId: string, text: string): void {
    this.append(batchId, { t: "note", text });
  }

  has(batchId: string): boolean {
    return existsSync(this.file(batchId));
  }

  /** Rebuilds a batch from its lines; undefined when there is no such batch. */
  load(batchId: string): BatchRecord | undefined {
    const path = this.file(batchId);
    if (!existsSync(path)) return undefined;
    const lines = readFileSync(path, "utf8").split("\n");
    let batch: BatchRecord | undefined;
    for (const [i, raw] of lines.entries()) {
      if (!raw.trim()) continue;
      let line: LedgerLine;
      try {
        line = JSON.parse(raw) as LedgerLine;
      } catch {
        if (i >= lines.length - 2) break; // torn last record from a crash mid-write
        throw new Error(`ledger ${path} is corrupt at line ${i + 1}`);
      }
      batch = applyLine(batch, line);
    }
    return batch;
  }

  /** Bounded retention: drop old batches so the state dir does not grow forever. */
  prune(now = Date.now()): void {
    const files = readdirSync(this.dir)
      .filter((f) => f.endsWith(".jsonl"))
      .map((f) => ({ f, mtime: statSync(join(this.dir, f)).mtimeMs }))
      .sort((a, b) => b.mtime - a.mtime);
    for (const [i, { f, mtime }] of files.entries()) {
      if (i >= this.maxBatches || now - mtime > this.maxAgeMs) unlinkSync(join(this.dir, f));
    }
  }
}

function applyLine(batch: BatchRecord | undefined, line: LedgerLine): BatchRecord | undefined {
  if (line.t === "batch") return structuredClone(line.batch);
  if (!batch) return batch;
  if (line.t === "note") {
    batch.notes.push(line.text);
    return batch;
  }
  const run = batch.runs.find((r) => r.spec.label === line.label);
  if (!run) return batch;
  if (line.t === "run") Object.assign(run, line.patch);
  else {
    const at = run.attempts.findIndex((a) => a.n === line.attempt.n);
    if (at >= 0) run.attempts[at] = line.attempt;
    else run.attempts.push(line.attempt);
  }
  return batch;
}
