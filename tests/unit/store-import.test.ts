// The 0.1 ledger import commits before it moves the old folder aside: a crash in between leaves
// the folder, and the next open imports again without duplicating anything. `renameSync` is
// watched (module mock) to see what the store had committed at the moment of the rename.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { BatchStore } from "../../src/store/batch-store.js";
import { openDatabase } from "../../src/store/sqlite.js";
import { batchOf, spec, tempDir } from "../support/batch.js";

const onRename = vi.hoisted(() => ({ hook: undefined as undefined | ((from: string) => void) }));
vi.mock("node:fs", async (importOriginal) => {
  const fs = await importOriginal<typeof import("node:fs")>();
  return {
    ...fs,
    renameSync: (from: string, to: string) => {
      onRename.hook?.(from);
      return fs.renameSync(from, to);
    },
  };
});

afterEach(() => (onRename.hook = undefined));

function oldLedger(dir: string, ids: string[]): void {
  mkdirSync(join(dir, "batches"), { recursive: true });
  for (const id of ids) {
    const batch = { ...batchOf([spec("a")]), batchId: id, runs: [{ spec: spec("a"), state: "ok", attempts: [], output: `out ${id}` }] };
    writeFileSync(join(dir, "batches", `${id}.jsonl`), `${JSON.stringify({ t: "batch", batch })}\n`);
  }
}

/** What another connection sees committed in the store. */
function committedIds(dir: string): string[] {
  const db = openDatabase(join(dir, "batches.sqlite"), 1_000, true);
  try {
    return db.prepare("SELECT id FROM batches ORDER BY id").all().map((r) => r.id as string);
  } finally {
    db.close();
  }
}

describe("importing the 0.1 ledger", () => {
  it("renames the old folder only after the import committed", () => {
    const dir = tempDir();
    oldLedger(dir, ["old-a", "old-b"]);
    const seenAtRename: string[][] = [];
    onRename.hook = (from) => void (from.endsWith("batches") && seenAtRename.push(committedIds(dir)));
    BatchStore.open(dir).close();
    expect(seenAtRename).toEqual([["old-a", "old-b"]]);
    expect(existsSync(join(dir, "batches"))).toBe(false);
  });

  it("a crash after the commit, before the rename: the next open imports again without duplicates, then renames", () => {
    const dir = tempDir();
    oldLedger(dir, ["old-a"]);
    onRename.hook = () => {
      throw new Error("killed before the rename");
    };
    expect(() => BatchStore.open(dir)).toThrow(/killed before the rename/);
    expect(committedIds(dir)).toEqual(["old-a"]);
    expect(existsSync(join(dir, "batches"))).toBe(true);
    onRename.hook = undefined;
    const store = BatchStore.open(dir);
    expect(store.list().map((b) => b.batchId)).toEqual(["old-a"]);
    expect(store.load("old-a")?.runs[0].output).toBe("out old-a");
    expect(existsSync(join(dir, "batches"))).toBe(false);
    store.close();
  });
});
