// What the batch store promises its readers (the tools, the CLI) beyond durability: the listing is
// newest first and bounded, a header write changes the header only, unknown ids read as nothing,
// a batch counts as open unless marked closed, default retention (200 batches, 7 days), and a
// read-only open that never writes, never migrates and never waits for the writer's lock.
import { chmodSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { BatchRecord } from "../../src/batch/types.js";
import { BatchStore } from "../../src/store/batch-store.js";
import { openDatabase } from "../../src/store/sqlite.js";
import { batchOf, spec, tempDir } from "../support/batch.js";

const DAY = 24 * 3600_000;

function batch(id: string, createdAt: number, extra: Partial<BatchRecord> = {}): BatchRecord {
  return { ...batchOf([spec("a"), spec("b")]), batchId: id, createdAt, ...extra };
}
function done(id: string, createdAt: number): BatchRecord {
  const b = batch(id, createdAt, { open: false });
  b.runs = b.runs.map((r) => ({ ...r, state: "ok" }));
  return b;
}

describe("listing", () => {
  it("lists newest first with each batch's summary, and honours the limit", () => {
    const store = BatchStore.open(tempDir());
    const before = Date.now();
    store.create(batch("old", 1_000, { open: true, agentId: "a1", requester: "agent:a1:main" }));
    store.create(done("mid", 2_000));
    store.create(batch("new", 3_000, { open: true }));
    const all = store.list();
    expect(all.map((b) => b.batchId)).toEqual(["new", "mid", "old"]);
    expect(all[2]).toEqual({ batchId: "old", agentId: "a1", requester: "agent:a1:main", createdAt: 1_000, updatedAt: expect.any(Number), open: true });
    expect(all[2].updatedAt).toBeGreaterThanOrEqual(before);
    expect(all.map((b) => b.open)).toEqual([true, false, true]);
    expect(store.list(2).map((b) => b.batchId)).toEqual(["new", "mid"]);
    store.close();
  });

  it("shows at most 50 batches unless asked for more", () => {
    const store = BatchStore.open(tempDir());
    for (let i = 0; i < 55; i++) store.create(done(`b${i}`, i));
    expect(store.list()).toHaveLength(50);
    expect(store.list()[0].batchId).toBe("b54");
    expect(store.list(100)).toHaveLength(55);
    store.close();
  });
});

describe("reading and writing headers", () => {
  it("an unknown batch id reads as undefined", () => {
    const store = BatchStore.open(tempDir());
    store.create(batch("known", 1));
    expect(store.load("unknown")).toBeUndefined();
    expect(store.load("known")?.batchId).toBe("known");
    store.close();
  });

  it("saveHeader stores the header (notes, flags, open) and leaves the runs as they were stored", () => {
    const dir = tempDir();
    const store = BatchStore.open(dir);
    const b = batch("h", 1, { open: true });
    store.create(b);
    store.saveHeader({ ...b, notes: ["a note"], collected: true, notifiedAt: 42, open: false, runs: b.runs.map((r) => ({ ...r, state: "ok" })) });
    store.close();
    const again = BatchStore.open(dir);
    const loaded = again.load("h")!;
    expect(loaded).toMatchObject({ notes: ["a note"], collected: true, notifiedAt: 42, open: false });
    expect(loaded.runs.map((r) => r.state)).toEqual(["queued", "queued"]);
    expect(again.openBatchIds()).toEqual([]);
    expect(again.list()[0].open).toBe(false);
    again.close();
  });

  it("a batch counts as open unless it is marked closed", () => {
    const store = BatchStore.open(tempDir());
    store.create(batch("unmarked", 1));
    store.create(batch("open", 2, { open: true }));
    store.create(batch("closed", 3, { open: false }));
    expect(store.openBatchIds()).toEqual(["unmarked", "open"]);
    store.close();
  });
});

describe("default retention", () => {
  it("keeps the newest 200 finished batches", () => {
    const store = BatchStore.open(tempDir());
    for (let i = 0; i < 202; i++) store.create(done(`b${i}`, i));
    expect(store.prune()).toBe(2);
    expect(store.load("b0")).toBeUndefined();
    expect(store.load("b1")).toBeUndefined();
    expect(store.load("b2")).toBeDefined();
    store.close();
  });

  it("drops finished batches a week after their last write, not before", () => {
    const store = BatchStore.open(tempDir());
    store.create(done("f", 1));
    store.create(batch("o", 2, { open: true }));
    const now = Date.now();
    expect(store.prune({}, now + 7 * DAY - 60_000)).toBe(0);
    expect(store.prune({ maxBatches: 10 }, now + 7 * DAY + 60_000)).toBe(1);
    expect(store.list().map((b) => b.batchId)).toEqual(["o"]);
    store.close();
  });
});

describe("read-only opening (the CLI)", () => {
  it("reads the store as written, while the writer holds its write lock, without waiting", () => {
    const dir = tempDir();
    const writer = BatchStore.open(dir);
    writer.create(batch("x", 1, { open: true }));
    const lock = openDatabase(join(dir, "batches.sqlite"), 100);
    lock.exec("BEGIN IMMEDIATE");
    try {
      const t = Date.now();
      const reader = BatchStore.open(dir, { readOnly: true, busyTimeoutMs: 50 });
      expect(reader.load("x")?.runs).toHaveLength(2);
      expect(reader.openBatchIds()).toEqual(["x"]);
      expect(Date.now() - t).toBeLessThan(1_000);
      reader.close();
    } finally {
      lock.exec("ROLLBACK");
      lock.close();
    }
    writer.close();
  });

  it("never writes: changes are refused and the file's mode is left alone", () => {
    const dir = tempDir();
    BatchStore.open(dir).close();
    const file = join(dir, "batches.sqlite");
    chmodSync(file, 0o640);
    const reader = BatchStore.open(dir, { readOnly: true });
    expect(statSync(file).mode & 0o777).toBe(0o640);
    expect(() => reader.create(batch("y", 1))).toThrow();
    expect(reader.load("y")).toBeUndefined();
    reader.close();
  });

  it("a read-only database connection refuses writes", () => {
    const dir = tempDir();
    BatchStore.open(dir).close();
    const db = openDatabase(join(dir, "batches.sqlite"), 100, true);
    expect(() => db.exec("CREATE TABLE t (a)")).toThrow();
    db.close();
  });
});

describe("the SQLite binding", () => {
  it("refuses clearly on a Node without node:sqlite", () => {
    const p = process as { getBuiltinModule?: unknown };
    const real = p.getBuiltinModule;
    p.getBuiltinModule = () => undefined;
    try {
      expect(() => openDatabase(join(tempDir(), "x.sqlite"), 100)).toThrow(/needs node:sqlite \(Node >= 24\.16.*this is Node \d/);
    } finally {
      p.getBuiltinModule = real;
    }
  });
});
