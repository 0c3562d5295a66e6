// The batch store as a specification: one transaction per change (all or nothing), the same batch
// after a reopen, a recorded schema version (a newer store is refused, untouched), private files,
// bounded retention by query, and the one-time import of the 0.1 JSONL ledger, whose open batches
// resume like any other after a restart.
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import type { Attempt, BatchRecord, RunRecord } from "../../src/batch/types.js";
import { BatchStore } from "../../src/store/batch-store.js";
import { MIGRATIONS } from "../../src/store/schema.js";
import { openDatabase } from "../../src/store/sqlite.js";
import { batchOf, engineOn, settled, spec, tempDir } from "../support/batch.js";
import { MemoryRuntime } from "../support/memory-runtime.js";

const STORE_FILE = "batches.sqlite";
/** A second connection to the store's file, as another process (or the CLI) would have. */
const raw = (dir: string) => openDatabase(join(dir, STORE_FILE), 1_000);
const count = (dir: string, sql: string, ...params: unknown[]): number => {
  const db = raw(dir);
  try {
    return Number(db.prepare(sql).get(...params)!.n);
  } finally {
    db.close();
  }
};

function attempt(n: number, extra: Partial<Attempt> = {}): Attempt {
  return {
    n, model: "m/cheap", sessionKey: `agent:main:subagent:pa1-x-1-a${n}`, owner: "proc-1", startedAt: 1_000 + n, tokens: 0, usage: { inputTokens: 0, outputTokens: 0 }, costUsd: 0, ...extra,
  };
}

function finishedBatch(id: string, createdAt: number): BatchRecord {
  const b = batchOf([spec("a")]);
  b.batchId = id;
  b.createdAt = createdAt;
  b.open = false;
  b.runs[0] = { ...b.runs[0], state: "ok", output: "x", attempts: [attempt(1, { outcome: "ok", tokens: 150, usage: { inputTokens: 100, outputTokens: 50 } })] };
  return b;
}

function openBatch(id: string, createdAt: number): BatchRecord {
  const b = batchOf([spec("a")]);
  b.batchId = id;
  b.createdAt = createdAt;
  b.open = true;
  return b;
}

const ids = (store: BatchStore) => store.list(1_000).map((b) => b.batchId).sort();

describe("transactions", () => {
  it("a transaction whose body throws leaves the old state, and the store stays usable", () => {
    const dir = tempDir();
    const store = BatchStore.open(dir);
    const batch = openBatch("b1", 1);
    store.create(batch);
    const db = (store as unknown as { db: { prepare(sql: string): { run(...p: unknown[]): unknown } } }).db;
    expect(() =>
      store.tx(() => {
        db.prepare("UPDATE runs SET state = 'ok' WHERE batch_id = ?").run("b1");
        db.prepare("DELETE FROM batches WHERE id = ?").run("b1");
        throw new Error("boom");
      }),
    ).toThrow("boom");
    expect(store.load("b1")).toEqual(batch);
    store.saveHeader({ ...batch, notes: ["after the rollback"] }); // not stuck inside the failed transaction
    expect(store.load("b1")!.notes).toEqual(["after the rollback"]);
    store.close();
    expect(BatchStore.open(dir).load("b1")!.notes).toEqual(["after the rollback"]);
  });

  it("saveRun writes the run, its attempts and the header together or not at all", () => {
    const dir = tempDir();
    const store = BatchStore.open(dir);
    const batch = openBatch("b1", 1);
    store.create(batch);
    const before = structuredClone(batch);
    // The run row is written first; the second attempt cannot be serialised (a BigInt), so the
    // transaction fails half way: nothing of it may remain, not even the run's new state.
    const run: RunRecord = { ...batch.runs[0], state: "ok", output: "half", attempts: [attempt(1, { outcome: "ok" }), attempt(2, { tokens: 1n as unknown as number })] };
    expect(() => store.saveRun({ ...batch, notes: ["header too"], runs: [run] }, 0, run)).toThrow(/BigInt/);
    expect(store.load("b1")).toEqual(before);
    expect(count(dir, "SELECT count(*) AS n FROM attempts")).toBe(0);
    store.close();
  });
});

describe("reopening", () => {
  it("an attempt dropped from a run (a start the host refused) is gone from the store too", () => {
    const dir = tempDir();
    const store = BatchStore.open(dir);
    const batch = batchOf([spec("a")]);
    store.create(batch);
    batch.runs[0] = { ...batch.runs[0], state: "running", attempts: [attempt(1, { outcome: "interrupted" }), attempt(2)] };
    store.saveRun(batch, 0, batch.runs[0]);
    batch.runs[0] = { ...batch.runs[0], state: "queued", attempts: batch.runs[0].attempts.slice(0, 1) };
    store.saveRun(batch, 0, batch.runs[0], false);
    expect(store.load(batch.batchId)!.runs[0].attempts.map((a) => a.n)).toEqual([1]);
    store.close();
  });

  it("a reopened store returns the same batch: runs in order, every attempt, the header", () => {
    const dir = tempDir();
    let store = BatchStore.open(dir);
    const batch = batchOf([spec("a"), spec("b", { outputSchema: { type: "object" } }), spec("c", { gate: "lanes" })]);
    batch.owner = "proc-1";
    batch.open = true;
    batch.notify = true;
    store.create(batch);
    batch.runs[0] = { ...batch.runs[0], state: "running", firstStartedAt: 5, attempts: [attempt(1, { outcome: "provider_error", reason: "HTTP 500", nextModel: "m/cheap" }), attempt(2, { runId: "r2" })] };
    store.saveRun(batch, 0, batch.runs[0]);
    batch.runs[1] = { ...batch.runs[1], state: "ok", output: '{"x":1}', json: { x: 1 }, attempts: [attempt(1, { outcome: "ok", corrected: true, tokens: 33, usage: { inputTokens: 30, outputTokens: 3 }, costUsd: 0.00003 })] };
    store.saveRun(batch, 1, batch.runs[1]);
    batch.notes.push("a note");
    store.saveHeader(batch);
    store.close();

    store = BatchStore.open(dir);
    expect(store.load(batch.batchId)).toEqual(batch);
    expect(store.openBatchIds()).toEqual([batch.batchId]);
    expect(store.list()).toEqual([expect.objectContaining({ batchId: batch.batchId, agentId: "main", requester: "agent:main:main", createdAt: batch.createdAt, open: true })]);
    expect(store.load("nope")).toBeUndefined();
    store.close();
  });

  it("a read-only open of a folder without a store says so instead of creating one", () => {
    const dir = join(tempDir(), "none");
    expect(() => BatchStore.open(dir, { readOnly: true })).toThrow(`no batch store at ${join(dir, STORE_FILE)}`);
    expect(existsSync(dir)).toBe(false);
  });
});

describe("schema version", () => {
  it("is recorded in the store, and reopening does not migrate again", () => {
    const dir = tempDir();
    BatchStore.open(dir).close();
    expect(count(dir, "SELECT value AS n FROM meta WHERE key = 'schema_version'")).toBe(MIGRATIONS.length);
    const store = BatchStore.open(dir); // CREATE TABLE batches would throw if it ran twice
    store.create(openBatch("b1", 1));
    store.close();
    expect(count(dir, "SELECT value AS n FROM meta WHERE key = 'schema_version'")).toBe(MIGRATIONS.length);
  });

  it("a store written by a newer plugin is refused with a clear message and left untouched", () => {
    const dir = tempDir();
    const store = BatchStore.open(dir);
    store.create(openBatch("b1", 1));
    store.close();
    const newer = MIGRATIONS.length + 1;
    const db = raw(dir);
    db.prepare("UPDATE meta SET value = ? WHERE key = 'schema_version'").run(String(newer));
    db.close();
    expect(() => BatchStore.open(dir)).toThrow(
      `batch store ${join(dir, STORE_FILE)} has schema version ${newer}, newer than this plugin knows (${MIGRATIONS.length}); upgrade the plugin`,
    );
    expect(count(dir, "SELECT value AS n FROM meta WHERE key = 'schema_version'")).toBe(newer);
    expect(count(dir, "SELECT count(*) AS n FROM runs WHERE batch_id = 'b1'")).toBe(1);
  });
});

describe("file permissions", () => {
  it("creates its folder 0700 and its files 0600 (WAL and shared-memory files too)", () => {
    const dir = join(tempDir(), "state", "plugins", "parallel-agents");
    const store = BatchStore.open(dir);
    store.create(openBatch("b1", 1)); // a write: the WAL file exists now
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const files = readdirSync(dir);
    expect(files).toEqual(expect.arrayContaining([STORE_FILE, `${STORE_FILE}-wal`]));
    for (const f of files) expect([f, statSync(join(dir, f)).mode & 0o777]).toEqual([f, 0o600]);
    store.close();
  });
});

describe("retention (by query)", () => {
  it("keeps the newest N finished batches and drops the older ones with their runs and attempts", () => {
    const dir = tempDir();
    const store = BatchStore.open(dir);
    for (let i = 1; i <= 5; i++) store.create(finishedBatch(`f${i}`, i));
    expect(store.prune({ maxBatches: 3, maxAgeMs: 3600_000 })).toBe(2);
    expect(ids(store)).toEqual(["f3", "f4", "f5"]);
    for (const id of ["f1", "f2"]) {
      expect(count(dir, "SELECT count(*) AS n FROM runs WHERE batch_id = ?", id)).toBe(0);
      expect(count(dir, "SELECT count(*) AS n FROM attempts WHERE batch_id = ?", id)).toBe(0);
    }
    expect(store.prune({ maxBatches: 3, maxAgeMs: 3600_000 })).toBe(0);
    store.close();
  });

  it("drops finished batches not updated within maxAge (by their last write), never open ones however old", () => {
    const dir = tempDir();
    const store = BatchStore.open(dir);
    const t = Date.now();
    const clock = vi.spyOn(Date, "now").mockReturnValue(t);
    try {
      store.create(finishedBatch("old-done", 1));
      store.create(openBatch("old-open", 2));
      store.create(finishedBatch("touched", 3));
      clock.mockReturnValue(t + 100_000);
      store.saveHeader({ ...store.load("touched")!, notes: ["touched"] }); // updated now: its age restarts
      store.create(finishedBatch("new-done", 4));
    } finally {
      clock.mockRestore();
    }
    expect(store.prune({ maxBatches: 100, maxAgeMs: 60_000 }, t + 59_000)).toBe(0);
    expect(store.prune({ maxBatches: 100, maxAgeMs: 60_000 }, t + 100_000)).toBe(1);
    expect(ids(store)).toEqual(["new-done", "old-open", "touched"]);
    expect(store.prune({ maxBatches: 100, maxAgeMs: 60_000 }, t + 1e9)).toBe(2);
    expect(ids(store)).toEqual(["old-open"]);
    store.close();
  });

  it("never prunes open batches, even beyond maxBatches", () => {
    const dir = tempDir();
    const store = BatchStore.open(dir);
    for (let i = 1; i <= 4; i++) store.create(openBatch(`o${i}`, i));
    expect(store.prune({ maxBatches: 1, maxAgeMs: 1 }, Date.now() + 3600_000)).toBe(0);
    expect(store.openBatchIds()).toEqual(["o1", "o2", "o3", "o4"]);
    store.close();
  });

  it("keeps the newest N finished batches even when newer batches are still open", () => {
    const dir = tempDir();
    const store = BatchStore.open(dir);
    for (let i = 1; i <= 3; i++) store.create(finishedBatch(`f${i}`, i));
    store.create(openBatch("o4", 4));
    store.create(openBatch("o5", 5));
    store.prune({ maxBatches: 2, maxAgeMs: 3600_000 });
    expect(ids(store)).toEqual(["f2", "f3", "o4", "o5"]);
    store.close();
  });
});

// ------------------------------------------------------------------------------------------------
// The 0.1 JSONL ledger: `batches/<batchId>.jsonl` in the store folder, one line per change.

/** When the 0.1 process wrote its ledger: recently (runs time out 30s after they first started). */
const T0 = Date.now() - 5_000;
const oldKey = (batchId: string, run: number, n: number) => `agent:main:subagent:pa1-${batchId}-${run}-a${n}`;

/** A 0.1 ledger of a batch cut off by a restart: `done` finished, `live` running, `later` queued. */
function ledger(batchId: string): { lines: string[]; batch: BatchRecord } {
  const batch = batchOf([spec("done"), spec("live"), spec("later")], { retries: 0 });
  Object.assign(batch, { batchId, createdAt: T0, owner: "old-proc" });
  const a = (run: number, n: number, extra: Partial<Attempt> = {}) => attempt(n, { sessionKey: oldKey(batchId, run, n), owner: "old-proc", startedAt: T0 + run, ...extra });
  const lines = [
    { t: "batch", batch },
    { t: "run", label: "done", patch: { state: "running", firstStartedAt: T0 + 1 } },
    { t: "attempt", label: "done", attempt: a(1, 1) },
    { t: "run", label: "live", patch: { state: "running", firstStartedAt: T0 + 2 } },
    { t: "attempt", label: "live", attempt: a(2, 1) },
    { t: "attempt", label: "done", attempt: a(1, 1, { runId: "r1", outcome: "ok", endedAt: T0 + 9, tokens: 150, usage: { inputTokens: 100, outputTokens: 50 }, costUsd: 0.00035 }) },
    { t: "run", label: "done", patch: { state: "ok", output: "kept from 0.1" } },
    { t: "attempt", label: "live", attempt: a(2, 1, { runId: "r2" }) },
    { t: "note", text: "written by 0.1" },
  ].map((l) => JSON.stringify(l));
  return { lines, batch };
}

function writeLedger(dir: string, name: string, text: string): void {
  mkdirSync(join(dir, "batches"), { recursive: true });
  writeFileSync(join(dir, "batches", name), text);
}

describe("importing the 0.1 JSONL ledger", () => {
  it("replays it into the store; a torn last line is skipped, the lines before it kept", () => {
    const dir = tempDir();
    const { lines } = ledger("old-1");
    writeLedger(dir, "old-1.jsonl", `${lines.join("\n")}\n${lines[1].slice(0, 25)}`);
    const store = BatchStore.open(dir);
    const b = store.load("old-1")!;
    expect(b.runs.map((r) => [r.spec.label, r.state])).toEqual([["done", "ok"], ["live", "running"], ["later", "queued"]]);
    expect(b.runs[0]).toMatchObject({ output: "kept from 0.1", attempts: [{ n: 1, outcome: "ok", tokens: 150 }] });
    expect(b.runs[1].attempts).toEqual([expect.objectContaining({ n: 1, runId: "r2", owner: "old-proc" })]);
    expect(b.runs[1].attempts[0].outcome).toBeUndefined();
    expect(b.notes).toEqual(["written by 0.1"]);
    expect(b.open).toBe(true);
    expect(store.openBatchIds()).toEqual(["old-1"]);
    store.close();
  });

  it("a later append glued onto a torn line costs that line only: the lines after it apply", () => {
    const dir = tempDir();
    const { lines } = ledger("old-1");
    const torn = lines[6].slice(0, 30); // the `done: ok` patch, cut off by a crash...
    const glued = `${torn}${lines[7]}`; // ...and the next process's append went onto the same line
    writeLedger(dir, "old-1.jsonl", [...lines.slice(0, 6), glued, lines[8], JSON.stringify({ t: "note", text: "after the glue" })].join("\n"));
    const store = BatchStore.open(dir);
    const b = store.load("old-1")!;
    expect(b.notes).toEqual(["written by 0.1", "after the glue"]);
    expect(b.runs[0].attempts[0].outcome).toBe("ok"); // the attempt line before the glue is kept
    store.close();
  });

  it("ignores what is not a ledger (other files, files without a batch line) and marks finished batches closed", () => {
    const dir = tempDir();
    const done = finishedBatch("old-done", T0);
    writeLedger(dir, "old-done.jsonl", `${JSON.stringify({ t: "batch", batch: done })}\n`);
    writeLedger(dir, "stray.jsonl", `${JSON.stringify({ t: "note", text: "no batch" })}\nnot json\n`);
    writeLedger(dir, "README.txt", "not a ledger");
    const store = BatchStore.open(dir);
    expect(ids(store)).toEqual(["old-done"]);
    expect(store.load("old-done")).toMatchObject({ open: false, runs: [{ state: "ok", output: "x" }] });
    expect(store.openBatchIds()).toEqual([]);
    store.close();
  });

  it("runs once: the folder is renamed, and a batch pruned since does not come back on the next open", () => {
    const dir = tempDir();
    writeLedger(dir, "old-done.jsonl", `${JSON.stringify({ t: "batch", batch: finishedBatch("old-done", T0) })}\n`);
    let store = BatchStore.open(dir);
    expect(existsSync(join(dir, "batches"))).toBe(false);
    expect(readdirSync(join(dir, "batches.imported"))).toEqual(["old-done.jsonl"]);
    expect(store.prune({ maxBatches: 100, maxAgeMs: 1 }, Date.now() + 1_000)).toBe(1);
    store.close();
    store = BatchStore.open(dir);
    expect(store.load("old-done")).toBeUndefined();
    store.close();
  });

  it("a ledger folder that reappears after the import (an older plugin ran again) does not stop the store opening", () => {
    const dir = tempDir();
    writeLedger(dir, "old-1.jsonl", ledger("old-1").lines.join("\n"));
    BatchStore.open(dir).close();
    writeLedger(dir, "old-2.jsonl", ledger("old-2").lines.join("\n"));
    let store: BatchStore | undefined;
    expect(() => (store = BatchStore.open(dir))).not.toThrow();
    expect(ids(store!)).toContain("old-1");
    store!.close();
  });

  it("an imported batch already in the store is not overwritten", () => {
    const dir = tempDir();
    const store = BatchStore.open(dir);
    const mine = finishedBatch("old-1", T0);
    mine.notes = ["the store's own"];
    store.create(mine);
    store.close();
    writeLedger(dir, "old-1.jsonl", ledger("old-1").lines.join("\n"));
    const reopened = BatchStore.open(dir);
    expect(reopened.load("old-1")).toEqual(mine);
    reopened.close();
  });

  it("imported open batches resume: the live attempt ends interrupted and re-runs, finished runs are kept and not re-run", async () => {
    const dir = tempDir();
    writeLedger(dir, "old-1.jsonl", `${ledger("old-1").lines.join("\n")}\n`);
    const rt = new MemoryRuntime((req) => ({ reply: `new:${req.message}` }));
    const engine = engineOn(dir, rt, { owner: "proc-new" });
    await engine.start();
    const b = await settled(engine, "old-1");
    expect(b.runs.map((r) => [r.spec.label, r.state, r.output])).toEqual([
      ["done", "ok", "kept from 0.1"],
      ["live", "ok", "new:do live"],
      ["later", "ok", "new:do later"],
    ]);
    expect(b.runs[1].attempts.map((a) => [a.n, a.owner, a.outcome])).toEqual([
      [1, "old-proc", "interrupted"],
      [2, "proc-new", "ok"],
    ]); // retries 0: the interruption used none
    expect(rt.stops[0]).toBe(oldKey("old-1", 2, 1)); // the old child is stopped before the re-run
    expect(rt.runs.map((r) => r.req.message).sort()).toEqual(["do later", "do live"]);
    await engine.stop();
    engine.store.close();
    const again = BatchStore.open(dir);
    expect(again.load("old-1")).toEqual(b);
    expect(again.openBatchIds()).toEqual([]);
    again.close();
  });
});
