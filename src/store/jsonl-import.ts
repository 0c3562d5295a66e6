// One-time import of the JSONL ledger that versions up to 0.1 kept (one file per batch under
// `batches/`), so upgrading users keep their batches. A line that does not parse (a torn write,
// or a later append glued onto one) is skipped, not fatal. The folder is renamed only once the
// import has committed; a crash in between re-reads it at the next open, which inserts only
// batches the store does not have yet (idempotent).
import { existsSync, readFileSync, readdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import { type Attempt, type BatchRecord, TERMINAL_STATES } from "../batch/types.js";

type LedgerLine =
  | { t: "batch"; batch: BatchRecord }
  | { t: "run"; label: string; patch: Record<string, unknown> }
  | { t: "attempt"; label: string; attempt: Attempt }
  | { t: "note"; text: string };

/** The batches of an old ledger folder, or undefined when there is none. */
export function readJsonlLedger(dir: string): BatchRecord[] | undefined {
  if (!existsSync(dir)) return undefined;
  const batches: BatchRecord[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".jsonl"))) {
    const batch = replay(readFileSync(join(dir, file), "utf8"));
    if (!batch) continue;
    batch.open = batch.runs.some((r) => !TERMINAL_STATES.has(r.state));
    batches.push(batch);
  }
  return batches;
}

/** Moves an imported ledger folder aside (call after the import committed). */
export function markLedgerImported(dir: string): void {
  // A second old ledger (say a 0.1 plugin ran on this state folder again) gets a folder of its own.
  renameSync(dir, existsSync(`${dir}.imported`) ? `${dir}.imported-${Date.now()}` : `${dir}.imported`);
}

export function replay(text: string): BatchRecord | undefined {
  let batch: BatchRecord | undefined;
  for (const raw of text.split("\n")) {
    let line: LedgerLine;
    try {
      line = JSON.parse(raw) as LedgerLine;
    } catch {
      continue;
    }
    if (line.t === "batch") batch = structuredClone(line.batch);
    else if (!batch) continue;
    else if (line.t === "note") batch.notes.push(line.text);
    else {
      const run = batch.runs.find((r) => r.spec.label === line.label);
      if (!run) continue;
      if (line.t === "run") Object.assign(run, line.patch);
      else {
        const at = run.attempts.findIndex((a) => a.n === line.attempt.n);
        if (at >= 0) run.attempts[at] = line.attempt;
        else run.attempts.push(line.attempt);
      }
    }
  }
  return batch;
}
