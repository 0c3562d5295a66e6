// Group commit: the changes of one turn share one transaction, and nothing outside the process
// (the host, a reader, a cancel's caller) ever sees a change before it is stored.
import { describe, expect, it } from "vitest";
import { GroupCommit } from "../../src/engine/group-commit.js";
import type { StartRequest } from "../../src/runtime/port.js";
import { MemoryRuntime } from "../support/memory-runtime.js";
import { batchOf, engineOn, settled, spec, stopsEnginesAfterEach, tempDir, until } from "../support/batch.js";

const turn = () => new Promise((r) => setImmediate(r));

describe("GroupCommit", () => {
  it("stores what a turn added in one write, each run once, the header when any change asked for it", async () => {
    const writes: [number[], boolean][] = [];
    const group = new GroupCommit((runs, header) => void writes.push([runs, header]), () => undefined);
    group.add(2);
    group.add(0, true);
    group.add(2);
    group.add(undefined);
    expect(writes).toEqual([]);
    await turn();
    expect(writes).toEqual([[[0, 2], true]]);
    expect(group.pending).toBe(false);
    group.add(1);
    await turn();
    expect(writes).toEqual([[[0, 2], true], [[1], false]]);
  });

  it("stored() resolves after the write, at once when nothing is pending, and rejects when the write failed", async () => {
    let fail = true;
    const failures: unknown[] = [];
    const group = new GroupCommit(() => {
      if (fail) throw new Error("disk full");
    }, (err) => failures.push(err));
    await expect(group.stored()).resolves.toBeUndefined();
    group.add(0);
    await expect(group.stored()).rejects.toThrow("disk full");
    expect(failures).toHaveLength(1);
    expect(group.pending).toBe(true); // kept for the next try
    fail = false;
    const stored = group.stored();
    group.flush();
    await expect(stored).resolves.toBeUndefined();
    expect(group.pending).toBe(false);
  });

  it("stored() answers at once when nothing is pending, and a flush with nothing pending writes nothing", async () => {
    const writes: number[][] = [];
    const group = new GroupCommit((runs) => void writes.push(runs), () => undefined);
    let answered = false;
    void group.stored().then(() => (answered = true));
    await Promise.resolve();
    expect(answered).toBe(true); // within the same turn, before any write could have happened
    group.flush();
    expect(writes).toEqual([]);
  });

  it("after a failed write, stored() tries again on its own", async () => {
    let fail = true;
    const writes: number[][] = [];
    const group = new GroupCommit((runs) => {
      if (fail) throw new Error("busy");
      writes.push(runs);
    }, () => undefined);
    group.add(4);
    await turn(); // the end-of-turn write fails; the change stays pending
    expect(group.pending).toBe(true);
    fail = false;
    await group.stored(); // nothing new was added: it must schedule the retry itself
    expect(writes).toEqual([[4]]);
  });

  it("flush() writes at once and throws the store's error to its caller (the pending changes stay)", () => {
    const group = new GroupCommit(() => {
      throw new Error("locked");
    }, () => undefined);
    group.add(3);
    expect(() => group.flush()).toThrow("locked");
    expect(group.pending).toBe(true);
  });
});

describe("the engine stores before anyone outside hears", () => {
  const track = stopsEnginesAfterEach();

  it("the host is asked to start an attempt only once that attempt is stored", async () => {
    const dir = tempDir();
    const seen: string[] = [];
    const rt = new MemoryRuntime(() => ({ delayMs: 5 }));
    const start = rt.start.bind(rt);
    let engine!: ReturnType<typeof engineOn>;
    rt.start = async (req: StartRequest) => {
      const stored = engine.store.load(batch.batchId)!.runs.flatMap((r) => r.attempts.map((a) => a.sessionKey));
      seen.push(stored.includes(req.sessionKey) ? "stored" : `not stored: ${req.sessionKey}`);
      return start(req);
    };
    engine = track({ engine: engineOn(dir, rt) }).engine;
    const batch = batchOf([spec("a"), spec("b"), spec("c")], { maxConcurrency: 3 });
    engine.submit(batch);
    await settled(engine, batch.batchId);
    expect(seen).toEqual(["stored", "stored", "stored"]);
  });

  it("a finished child's session is deleted only once its result is stored", async () => {
    const dir = tempDir();
    const seen: string[] = [];
    const rt = new MemoryRuntime(() => ({ delayMs: 5, reply: "result" }));
    const stop = rt.stop.bind(rt);
    let engine!: ReturnType<typeof engineOn>;
    rt.stop = async (sessionKey: string) => {
      const run = engine.store.load(batch.batchId)!.runs.find((r) => r.attempts.some((a) => a.sessionKey === sessionKey))!;
      seen.push(`${run.state} ${run.output}`);
      return stop(sessionKey);
    };
    engine = track({ engine: engineOn(dir, rt) }).engine;
    const batch = batchOf([spec("a"), spec("b")]);
    engine.submit(batch);
    await settled(engine, batch.batchId);
    await until(engine, batch.batchId, () => seen.length === 2, 2_000);
    expect(seen).toEqual(["ok result", "ok result"]);
  });

  it("get() shows a change only once it is stored", async () => {
    const rt = new MemoryRuntime(() => ({ hang: true }));
    const { engine } = track({ engine: engineOn(tempDir(), rt) });
    const batch = batchOf([spec("a")]);
    engine.submit(batch);
    const seen = engine.get(batch.batchId)!; // right after the first turn's changes, before their timer
    expect(engine.store.load(batch.batchId)!.runs[0]).toEqual(seen.runs[0]);
    // With no reader flushing, the end of the turn stores the host's answer on its own.
    for (let i = 0; i < 100 && !engine.store.load(batch.batchId)!.runs[0].attempts[0]?.runId; i++) await turn();
    expect(engine.store.load(batch.batchId)!.runs[0].attempts[0].runId).toBe("run-1");
  });

  it("a cancel answers only once its stops are stored", async () => {
    const rt = new MemoryRuntime(() => ({ hang: true }));
    const { engine } = track({ engine: engineOn(tempDir(), rt) });
    const batch = batchOf([spec("a"), spec("b")]);
    engine.submit(batch);
    await until(engine, batch.batchId, (b) => b.runs.every((r) => r.attempts[0]?.runId));
    const answer = engine.cancel(batch.batchId);
    const stored = engine.store.load(batch.batchId)!; // cancel records synchronously, before its first await
    expect(stored.runs.map((r) => r.stop?.outcome)).toEqual(["cancelled", "cancelled"]);
    expect(await answer).toEqual(["a", "b"]);
  });

  it("a batch of instant children takes fewer writes than it makes changes (one per turn, not one per change)", async () => {
    const rt = new MemoryRuntime(() => ({ delayMs: 0 }));
    const { engine } = track({ engine: engineOn(tempDir(), rt) });
    let writes = 0;
    let changes = 0;
    const saveRuns = engine.store.saveRuns.bind(engine.store);
    engine.store.saveRuns = (b, runs, header) => {
      writes++;
      changes += runs.length;
      return saveRuns(b, runs, header);
    };
    const batch = batchOf(Array.from({ length: 40 }, (_, i) => spec(`t${i}`)), { maxConcurrency: 20 });
    engine.submit(batch);
    const done = await settled(engine, batch.batchId);
    expect(done.runs.every((r) => r.state === "ok")).toBe(true);
    process.stderr.write(`[unit] 40 instant runs: ${writes} writes of ${changes} run changes\n`);
    expect(changes).toBeGreaterThanOrEqual(80); // every run was written running and ok at least
    expect(writes).toBeLessThan(changes / 2);
  });
});
