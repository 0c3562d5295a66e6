// The engine as the plugin's service sees it: who reports a batch's end (a holding tool call, a
// notice, or nobody), how tool calls wait for changes, what start/stop/submit/get/cancel promise,
// and bounded retention on a timer. Engine-level guarantees, checked through the store and the log.
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Notifier } from "../../src/engine/notice.js";
import type { BatchRecord, RunRecord } from "../../src/batch/types.js";
import { BatchStore } from "../../src/store/batch-store.js";
import { MemoryRuntime } from "../support/memory-runtime.js";
import { batchOf, engineOn, settled, spec, tempDir, until } from "../support/batch.js";
import { type Engine, MAX_LOOP_RESTARTS, MAX_NOTICE_TRIES } from "../../src/engine/engine.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const poll = async (check: () => boolean, ms = 3_000) => {
  for (const end = Date.now() + ms; !check() && Date.now() < end; ) await sleep(5);
};

function recorder(fail?: string) {
  const sent: { sessionKey: string; batchId: string; text: string }[] = [];
  const notifier: Notifier = {
    notify: async (target, text) => {
      if (fail) throw new Error(fail);
      sent.push({ ...target, text });
      return "test-route";
    },
  };
  return { sent, notifier };
}

/** The engine's group writes throw `message`, `times` times, whenever `when` holds for the write. */
function failWrites(engine: Engine, times: number, message: string, when: (batch: BatchRecord, runs: readonly (readonly [number, RunRecord])[]) => boolean): void {
  const saveRuns = engine.store.saveRuns.bind(engine.store);
  engine.store.saveRuns = (batch, runs, header) => {
    if (times > 0 && when(batch, runs)) {
      times--;
      throw new Error(message);
    }
    return saveRuns(batch, runs, header);
  };
}

function logger() {
  const lines: string[] = [];
  return { lines, log: (line: string) => void lines.push(line) };
}

/** A finished batch written straight into the store (as an earlier process would leave it). */
function finished(createdAt: number): BatchRecord {
  const b = batchOf([spec("a")]);
  return { ...b, batchId: `${b.batchId}-${createdAt}`, createdAt, open: false, runs: b.runs.map((r) => ({ ...r, state: "ok" as const })) };
}

const engines: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(engines.splice(0).map((e) => e.stop()));
});

function make(extra: Parameters<typeof engineOn>[2] = {}, runtime = new MemoryRuntime(), dir = tempDir()) {
  const engine = engineOn(dir, runtime, extra);
  engines.push(engine);
  return { engine, runtime, dir };
}

/** A store dir holding `batches`, as an earlier process would leave it. */
function storeWith(...batches: BatchRecord[]): string {
  const dir = tempDir();
  const store = BatchStore.open(dir);
  for (const b of batches) store.create(b);
  store.close();
  return dir;
}

/** What an engine on `dir` logs while it starts. */
async function startLog(extra: Parameters<typeof engineOn>[2], dir = tempDir()): Promise<string[]> {
  const { lines, log } = logger();
  await make({ ...extra, log }, new MemoryRuntime(), dir).engine.start();
  return lines;
}

describe("holding a batch (a tool call waiting on it)", () => {
  it("a batch that ends while held by two calls, one of which released (even twice), is theirs: no notice, stored collected and closed", async () => {
    const { sent, notifier } = recorder();
    const { engine } = make({ notifier });
    const batch = { ...batchOf([spec("a")]), notify: true };
    const release1 = engine.hold(batch.batchId);
    const release2 = engine.hold(batch.batchId);
    release1();
    release1(); // releasing twice must not drop the other call's hold
    engine.submit(batch);
    await settled(engine, batch.batchId);
    await poll(() => engine.store.load(batch.batchId)?.open === false);
    await sleep(30);
    expect(sent).toEqual([]);
    expect(engine.store.load(batch.batchId)).toMatchObject({ collected: true, open: false });
    expect(engine.store.openBatchIds()).not.toContain(batch.batchId);
    release2();
  });

  it("once every hold is released, the batch's end is announced again", async () => {
    const { sent, notifier } = recorder();
    const { engine } = make({ notifier });
    const batch = { ...batchOf([spec("a")]), notify: true };
    const r1 = engine.hold(batch.batchId);
    const r2 = engine.hold(batch.batchId);
    r1();
    r2();
    engine.submit(batch);
    await settled(engine, batch.batchId);
    await poll(() => sent.length > 0);
    expect(sent).toHaveLength(1);
  });
});

describe("waiting for a batch's next change", () => {
  it("wakes on a change long before its deadline, also after another waiter on the same batch gave up", async () => {
    const { engine } = make({}, new MemoryRuntime(() => ({ hang: true })));
    const batch = batchOf([spec("a")]);
    engine.submit(batch);
    await until(engine, batch.batchId, (b) => Boolean(b.runs[0].attempts[0]?.runId));
    const impatient = engine.nextChange(batch.batchId, Date.now() + 20);
    let woke = 0;
    const patient = engine.nextChange(batch.batchId, Date.now() + 8_000).then(() => (woke = Date.now()));
    await impatient;
    await sleep(20);
    expect(woke).toBe(0); // nothing changed yet
    const cancelledAt = Date.now();
    await engine.cancel(batch.batchId);
    await Promise.race([patient, sleep(2_000)]);
    expect(woke).toBeGreaterThan(0);
    expect(woke - cancelledAt).toBeLessThan(1_000);
  });

  it("returns at its deadline when nothing changes, and at once when its signal aborts", async () => {
    const { engine } = make();
    let t = Date.now();
    await engine.nextChange("quiet", Date.now() + 60);
    expect(Date.now() - t).toBeGreaterThanOrEqual(50);
    const ac = new AbortController();
    t = Date.now();
    setTimeout(() => ac.abort(), 20);
    await engine.nextChange("quiet", Date.now() + 5_000, ac.signal);
    expect(Date.now() - t).toBeLessThan(1_000);
  });
});

describe("collected (a tool call returned the batch)", () => {
  const stored = (engine: ReturnType<typeof make>["engine"], states: ("ok" | "failed" | "queued" | "running")[]) => {
    const b = batchOf(states.map((_, i) => spec(`r${i}`)));
    const batch: BatchRecord = { ...b, open: true, notify: true, runs: b.runs.map((r, i) => ({ ...r, state: states[i] })) };
    engine.store.create(batch);
    return batch;
  };

  it("closes a finished batch: stored collected, no longer open", () => {
    const { engine } = make();
    const batch = stored(engine, ["ok", "failed"]);
    engine.collected(batch);
    expect(engine.store.load(batch.batchId)).toMatchObject({ collected: true, open: false });
    expect(engine.store.openBatchIds()).toEqual([]);
  });

  it("keeps a batch with a queued or a running run open (its work is not done), but records it collected", () => {
    const { engine } = make();
    const queued = stored(engine, ["ok", "queued"]);
    const running = stored(engine, ["running", "ok"]);
    engine.collected(queued);
    engine.collected(running);
    for (const b of [queued, running]) expect(engine.store.load(b.batchId)).toMatchObject({ collected: true, open: true });
    expect(engine.store.openBatchIds().sort()).toEqual([queued.batchId, running.batchId].sort());
  });

  it("ignores a record the engine never owned (no open flag): nothing is marked or written", () => {
    const { engine } = make();
    const b = batchOf([spec("a")]);
    const batch: BatchRecord = { ...b, runs: b.runs.map((r) => ({ ...r, state: "ok" as const })) };
    engine.collected(batch);
    expect(batch.collected).toBeUndefined();
    expect(engine.store.load(batch.batchId)).toBeUndefined();
  });

  it("a batch collected while still running ends without a notice", async () => {
    const { sent, notifier } = recorder();
    const { engine } = make({ notifier }, new MemoryRuntime(() => ({ delayMs: 80 })));
    const batch = { ...batchOf([spec("a")]), notify: true };
    engine.submit(batch);
    engine.collected(batch);
    expect(engine.store.load(batch.batchId)).toMatchObject({ collected: true, open: true });
    await settled(engine, batch.batchId);
    await poll(() => engine.store.load(batch.batchId)?.open === false);
    await sleep(30);
    expect(sent).toEqual([]);
    expect(engine.store.load(batch.batchId)?.notifiedAt).toBeUndefined();
  });
});

describe("the end of an unheld batch", () => {
  it("is announced once, logged with its route, stamped notifiedAt and closed in the store", async () => {
    const { sent, notifier } = recorder();
    const { lines, log } = logger();
    const { engine } = make({ notifier, log });
    const batch = { ...batchOf([spec("a")]), notify: true };
    engine.submit(batch);
    await settled(engine, batch.batchId);
    await poll(() => engine.store.load(batch.batchId)?.open === false);
    expect(sent).toHaveLength(1);
    expect(lines).toContain(`parallel-agents: batch ${batch.batchId}: completion notice sent to agent:main:main (test-route)`);
    const stored = engine.store.load(batch.batchId)!;
    expect(stored.notifiedAt).toEqual(expect.any(Number));
    expect(stored.open).toBe(false);
    expect(engine.store.openBatchIds()).toEqual([]);
  });

  it("is not announced when the batch did not ask for it (notify unset), and it closes", async () => {
    const { sent, notifier } = recorder();
    const { engine } = make({ notifier });
    const batch = batchOf([spec("a")]);
    engine.submit(batch);
    await settled(engine, batch.batchId);
    await sleep(40);
    expect(sent).toEqual([]);
    expect(engine.store.load(batch.batchId)?.open).toBe(false);
  });

  it("without a notifier, a batch that asked for a notice closes quietly (no failure logged)", async () => {
    const { lines, log } = logger();
    const { engine } = make({ log });
    const batch = { ...batchOf([spec("a")]), notify: true };
    engine.submit(batch);
    await settled(engine, batch.batchId);
    await poll(() => engine.store.load(batch.batchId)?.open === false);
    expect(engine.store.load(batch.batchId)?.open).toBe(false);
    expect(lines.filter((l) => /notice|error/.test(l))).toEqual([]);
  });

  it("a notice that keeps failing is tried a bounded number of times, never marked sent, logged; the batch still closes", async () => {
    let tries = 0;
    const notifier: Notifier = { notify: async () => (tries++, Promise.reject(new Error("wake route refused"))) };
    const { lines, log } = logger();
    const { engine, dir } = make({ notifier, log, deadlines: { noticeRetryMs: 10 } });
    const batch = { ...batchOf([spec("a")]), notify: true };
    engine.submit(batch);
    await settled(engine, batch.batchId);
    await poll(() => engine.store.load(batch.batchId)?.open === false);
    expect(tries).toBe(MAX_NOTICE_TRIES);
    expect(lines).toContain(`parallel-agents: batch ${batch.batchId}: completion notice failed (try 1 of ${MAX_NOTICE_TRIES}): wake route refused`);
    expect(lines.some((l) => l.includes("gave up on the completion notice"))).toBe(true);
    const stored = engine.store.load(batch.batchId)!;
    expect(stored.notifiedAt).toBeUndefined();
    expect(stored).toMatchObject({ open: false, notice: { tries: MAX_NOTICE_TRIES, error: "wake route refused", gaveUpAt: expect.any(Number) } });
    expect(BatchStore.open(dir, { readOnly: true }).openBatchIds()).toEqual([]);
  });

  it("a failed send is tried again and the notice goes out once", async () => {
    let tries = 0;
    const sent: string[] = [];
    const notifier: Notifier = { notify: async (t, text) => (++tries === 1 ? Promise.reject(new Error("busy")) : (sent.push(`${t.idempotencyKey} ${text}`), "route")) };
    const { engine } = make({ notifier, deadlines: { noticeRetryMs: 10 } });
    const batch = { ...batchOf([spec("a")]), notify: true };
    engine.submit(batch);
    await poll(() => engine.store.load(batch.batchId)?.open === false);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatch(new RegExp(`^parallel-agents:notice:${batch.batchId} `));
    expect(engine.store.load(batch.batchId)).toMatchObject({ notifiedAt: expect.any(Number), notice: { tries: 2, route: "route" } });
  });

  it("each try is recorded before it is made; a try that never answers hits its deadline and the next one goes out", async () => {
    let tries = 0;
    const seenBefore: unknown[] = [];
    const { engine } = make({
      notifier: {
        notify: async (t) => {
          seenBefore.push(engine.store.load(t.batchId)?.notice?.tries);
          return ++tries === 1 ? new Promise<string>(() => undefined) : "route";
        },
      },
      deadlines: { noticeMs: 50, noticeRetryMs: 10 },
    });
    const batch = { ...batchOf([spec("a")]), notify: true };
    engine.submit(batch);
    await poll(() => engine.store.load(batch.batchId)?.open === false);
    expect(seenBefore).toEqual([1, 2]);
    expect(engine.store.load(batch.batchId)).toMatchObject({ notifiedAt: expect.any(Number), notice: { tries: 2 } });
  });

  it("a crash after a try was recorded, before it was marked sent: the next process sends it (same key), and never again once sent", async () => {
    const b = batchOf([spec("a")]);
    const dir = storeWith({ ...b, open: true, notify: true, notice: { tries: 1, lastTryAt: 1 }, runs: b.runs.map((r) => ({ ...r, state: "ok" as const })) });
    const first = recorder();
    const { engine } = make({ notifier: first.notifier }, new MemoryRuntime(), dir);
    await engine.start();
    await poll(() => first.sent.length > 0 && engine.store.load(b.batchId)?.open === false);
    expect(first.sent.map((x) => x.batchId)).toEqual([b.batchId]);
    expect(engine.store.load(b.batchId)).toMatchObject({ notice: { tries: 2 } });
    await engine.stop();
    engine.store.close();
    const second = recorder();
    await make({ notifier: second.notifier, owner: "proc-3" }, new MemoryRuntime(), dir).engine.start();
    await sleep(50);
    expect(second.sent).toEqual([]);
  });
});

describe("submit, get and cancel", () => {
  it("submit stamps this process as owner and marks the batch open, in memory and in the store", async () => {
    const { engine } = make({}, new MemoryRuntime(() => ({ hang: true })));
    const batch = batchOf([spec("a")]);
    engine.submit(batch);
    expect(batch).toMatchObject({ owner: "proc-1", open: true });
    expect(engine.store.load(batch.batchId)).toMatchObject({ owner: "proc-1", open: true });
    expect(engine.store.openBatchIds()).toEqual([batch.batchId]);
    await engine.cancel(batch.batchId);
  });

  it("get returns a live batch from memory (the very record being run), others from the store, unknown ones as undefined", async () => {
    const { engine, dir } = make({}, new MemoryRuntime(() => ({ hang: true })));
    const batch = batchOf([spec("a")]);
    engine.submit(batch);
    expect(engine.get(batch.batchId)).toBe(batch);
    const other = make({}, new MemoryRuntime(), dir).engine; // not started: knows the batch only from the store
    const copy = other.get(batch.batchId);
    expect(copy).not.toBe(batch);
    expect(copy?.batchId).toBe(batch.batchId);
    expect(engine.get("no-such-batch")).toBeUndefined();
    await engine.cancel(batch.batchId);
  });

  it("cancelling a batch this engine does not run stops nothing", async () => {
    const { engine } = make();
    expect(await engine.cancel("no-such-batch")).toEqual([]);
    expect(await engine.cancel("no-such-batch", ["a"])).toEqual([]);
  });
});

describe("start and stop", () => {
  it("start resumes only open batches, and says how many", async () => {
    const dir = tempDir();
    const store = BatchStore.open(dir);
    const open1 = { ...batchOf([spec("a")]), open: true };
    const open2 = { ...batchOf([spec("b")]), open: true };
    const closed = { ...batchOf([spec("c")]), open: false }; // closed with a queued run: not ours to run
    for (const b of [open1, open2, closed]) store.create(b);
    store.close();
    const rt = new MemoryRuntime();
    const { lines, log } = logger();
    const { engine } = make({ log }, rt, dir);
    await engine.start();
    expect(lines).toContain("parallel-agents: resumed 2 open batches");
    await settled(engine, open1.batchId);
    await settled(engine, open2.batchId);
    expect(rt.runs.map((r) => r.req.message).sort()).toEqual(["do a", "do b"]);
    expect(engine.store.load(closed.batchId)?.runs[0].state).toBe("queued");
  });

  it("a single resumed batch is logged in the singular; nothing to resume logs nothing", async () => {
    expect(await startLog({}, storeWith({ ...batchOf([spec("a")]), open: true }))).toContain("parallel-agents: resumed 1 open batch");
    expect((await startLog({})).filter((l) => l.includes("resumed"))).toEqual([]);
  });

  it("a batch submitted before start is driven by one loop only: one notice, one wait per attempt at a time", async () => {
    const { sent, notifier } = recorder();
    const rt = new MemoryRuntime(() => ({ delayMs: 60 }));
    const waiting = new Map<string, number>();
    let overlapping = 0;
    const wait = rt.wait.bind(rt);
    rt.wait = async (runId, ms) => {
      const n = (waiting.get(runId) ?? 0) + 1;
      waiting.set(runId, n);
      if (n > 1) overlapping++;
      try {
        return await wait(runId, ms);
      } finally {
        waiting.set(runId, (waiting.get(runId) ?? 1) - 1);
      }
    };
    const { engine } = make({ notifier }, rt);
    const batch = { ...batchOf([spec("a"), spec("b")]), notify: true };
    engine.submit(batch);
    await engine.start(); // finds the batch open in the store
    await settled(engine, batch.batchId);
    await poll(() => engine.store.load(batch.batchId)?.open === false);
    await sleep(40);
    expect(sent).toHaveLength(1);
    expect(overlapping).toBe(0);
  });

  it("a batch found open by start() while already running is still the same run: a cancel ends it and its notice goes out", async () => {
    const { sent, notifier } = recorder();
    const { engine } = make({ notifier }, new MemoryRuntime(() => ({ hang: true })));
    const batch = { ...batchOf([spec("a")]), notify: true };
    engine.submit(batch);
    await until(engine, batch.batchId, (b) => Boolean(b.runs[0].attempts[0]?.runId));
    await engine.start();
    expect(await engine.cancel(batch.batchId)).toEqual(["a"]);
    await poll(() => sent.length > 0 && engine.store.load(batch.batchId)?.open === false);
    expect(sent).toHaveLength(1);
    expect(engine.store.load(batch.batchId)?.open).toBe(false);
  });

  it("stop returns only once its loops are done writing: after it, the store is the next process's", async () => {
    const rt = new MemoryRuntime(() => ({ hang: true }));
    const start = rt.start.bind(rt);
    rt.start = async (req) => {
      await sleep(150); // a slow host admission is in flight when the service stops
      return start(req);
    };
    const { engine } = make({}, rt);
    let stopped = false;
    const lateWrites: string[] = [];
    const saveRuns = engine.store.saveRuns.bind(engine.store);
    engine.store.saveRuns = (batch, runs, header) => {
      if (stopped) lateWrites.push(...runs.map(([, run]) => run.state), ...(header ? ["header"] : []));
      return saveRuns(batch, runs, header);
    };
    const saveHeader = engine.store.saveHeader.bind(engine.store);
    engine.store.saveHeader = (batch) => {
      if (stopped) lateWrites.push("header");
      return saveHeader(batch);
    };
    const batch = batchOf([spec("a")]);
    engine.submit(batch);
    await until(engine, batch.batchId, (b) => b.runs[0].state === "running");
    await engine.stop();
    stopped = true;
    await sleep(300);
    expect(lateWrites).toEqual([]);
  });

  it("stop ends the loops: nothing more starts, the batch stays open in the store, and a new engine resumes it", async () => {
    const dir = tempDir();
    const rt = new MemoryRuntime(() => ({ delayMs: 100 }));
    const { engine } = make({}, rt, dir);
    const batch = batchOf([spec("a"), spec("b")], { maxConcurrency: 1 });
    engine.submit(batch);
    await until(engine, batch.batchId, (b) => Boolean(b.runs[0].attempts[0]?.runId));
    await engine.stop();
    expect(engine.running).toBe(false);
    await sleep(250);
    expect(rt.runs).toHaveLength(1); // b was never started
    expect(engine.store.openBatchIds()).toEqual([batch.batchId]);
    expect(engine.store.load(batch.batchId)?.runs.map((r) => r.state)).toEqual(["running", "queued"]);
    // submitting to a stopped engine records the batch but runs nothing
    const late = batchOf([spec("late")]);
    engine.submit(late);
    await sleep(50);
    expect(rt.runs).toHaveLength(1);
    engine.store.close();
    const next = make({ owner: "proc-2" }, new MemoryRuntime(), dir).engine;
    await next.start();
    const b = await settled(next, batch.batchId);
    expect(b.runs.map((r) => r.state)).toEqual(["ok", "ok"]);
    expect(b.runs[0].attempts.map((a) => a.outcome)).toEqual(["interrupted", "ok"]);
    expect((await settled(next, late.batchId)).runs[0].state).toBe("ok");
  });

  it("a batch whose loop throws (a store error) is restarted, logged, and runs to its end without a new start", async () => {
    const { lines, log } = logger();
    const { engine } = make({ log, deadlines: { loopRestartMs: 20 } }, new MemoryRuntime(() => ({ delayMs: 20 })));
    failWrites(engine, 2, "disk full", (_batch, runs) => runs.some(([, run]) => run.state !== "running"));
    const batch = batchOf([spec("a")]);
    engine.submit(batch);
    expect((await settled(engine, batch.batchId, 5_000)).runs[0].state).toBe("ok");
    expect(lines.filter((l) => l.includes("its scheduler stopped on an error"))).toHaveLength(2);
    expect(lines.find((l) => l.includes("its scheduler stopped on an error"))).toMatch(new RegExp(`^parallel-agents: batch ${batch.batchId}: its scheduler stopped on an error \\(1 of ${MAX_LOOP_RESTARTS + 1}\\): Error: disk full`));
  });

  it("a store error when storing a start restarts the loop once: the host never heard of that attempt, and the run runs once", async () => {
    const { lines, log } = logger();
    const rt = new MemoryRuntime(() => ({ delayMs: 20 }));
    const { engine } = make({ log, deadlines: { loopRestartMs: 10 } }, rt);
    failWrites(engine, 1, "database is locked", (_batch, runs) => runs.some(([, run]) => run.state === "running"));
    const batch = batchOf([spec("a")]);
    engine.submit(batch);
    const b = await settled(engine, batch.batchId, 5_000);
    expect(b.runs[0].state).toBe("ok");
    expect(b.runs[0].attempts.map((a) => a.outcome)).toEqual(["interrupted", "ok"]);
    expect(b.runs[0].attempts[0].reason).toBe("this start could not be stored, so it was never sent (the scheduler restarted); run again");
    expect(rt.runs.map((r) => r.req.sessionKey)).toEqual([b.runs[0].attempts[1].sessionKey]); // the first was never sent
    expect(lines.filter((l) => l.includes("its scheduler stopped on an error"))).toHaveLength(1);
    expect(engine.store.load(batch.batchId)).toEqual(b);
  });

  it("a store error when storing a start's answer restarts the loop once; the answer is kept and stored with the next write, and the child runs once", async () => {
    const { lines, log } = logger();
    const rt = new MemoryRuntime(() => ({ delayMs: 20 }));
    const { engine } = make({ log, deadlines: { loopRestartMs: 10 } }, rt);
    failWrites(engine, 1, "database is locked", (_batch, runs) => runs.some(([, run]) => run.attempts[0]?.runId));
    const batch = batchOf([spec("a")]);
    engine.submit(batch);
    const b = await settled(engine, batch.batchId, 5_000);
    expect(b.runs[0].state).toBe("ok");
    expect(b.runs[0].attempts.map((a) => [a.outcome, a.runId])).toEqual([["ok", "run-1"]]);
    expect(rt.runs).toHaveLength(1);
    expect(lines.filter((l) => l.includes("its scheduler stopped on an error"))).toHaveLength(1);
    expect(engine.store.load(batch.batchId)).toEqual(b);
  });

  it("a store error while closing the finished batch (its header) restarts it, and the store ends closed", async () => {
    const { lines, log } = logger();
    const { engine } = make({ log, deadlines: { loopRestartMs: 10 } }, new MemoryRuntime(() => ({ delayMs: 5 })));
    failWrites(engine, 1, "disk full", (batch, runs) => batch.open === false);
    const batch = batchOf([spec("a")]);
    engine.submit(batch);
    await poll(() => engine.store.load(batch.batchId)?.open === false, 5_000);
    expect(engine.store.load(batch.batchId)).toMatchObject({ open: false, runs: [{ state: "ok" }] });
    expect(lines.filter((l) => l.includes("its scheduler stopped on an error"))).toHaveLength(1);
  });

  it("a loop that keeps throwing (the synthesis prompt will not render) fails its batch with the reason after bounded restarts; the batch ends and is noticed", async () => {
    const { lines, log } = logger();
    const { sent, notifier } = recorder();
    let renders = 0;
    const ungate = () => {
      renders++;
      throw new Error("template synthesizer: missing helper");
    };
    const { engine } = make({ log, notifier, ungate, deadlines: { loopRestartMs: 10 } }, new MemoryRuntime(() => ({ delayMs: 5 })));
    const batch = { ...batchOf([spec("lane"), spec("synthesis", { gate: "lanes" })]), notify: true };
    engine.submit(batch);
    await poll(() => sent.length > 0, 5_000);
    const b = engine.get(batch.batchId)!;
    expect(b.runs.map((r) => r.state)).toEqual(["ok", "failed"]);
    expect(b.runs[1].error).toBe(`the batch's scheduler failed ${MAX_LOOP_RESTARTS + 1} times and gave up: template synthesizer: missing helper`);
    expect(renders).toBe(MAX_LOOP_RESTARTS + 1);
    expect(sent).toHaveLength(1);
    expect(engine.store.load(batch.batchId)?.open).toBe(false);
    expect(lines).toContain(`parallel-agents: batch ${batch.batchId} failed: ${b.runs[1].error}`);
  });

  it("a loop that gives up while a child runs stops that child and ends its run failed, its attempt interrupted", async () => {
    const rt = new MemoryRuntime((req) => (req.message.includes("do slow") ? { hang: true } : { delayMs: 5 }));
    const { engine } = make({ deadlines: { loopRestartMs: 10 } }, rt);
    // Storing the fast run's result fails until the loop gives up (4 tries), then writes go through again.
    failWrites(engine, MAX_LOOP_RESTARTS + 1, "disk full", (_b, runs) => runs.some(([, r]) => r.spec.label === "fast" && r.state === "ok"));
    const batch = batchOf([spec("fast"), spec("slow")]);
    engine.submit(batch);
    await poll(() => engine.store.load(batch.batchId)?.open === false, 5_000);
    const slow = engine.store.load(batch.batchId)!.runs[1];
    expect(slow).toMatchObject({ state: "failed", error: expect.stringContaining("gave up: disk full") });
    expect(slow.attempts.map((a) => a.outcome)).toEqual(["interrupted"]);
    expect(rt.stops).toContain(slow.attempts[0].sessionKey);
    expect(rt.runs.find((r) => r.req.sessionKey === slow.attempts[0].sessionKey)?.result).toMatchObject({ state: "error", error: "stopped" });
  });

  it("a batch whose recovery fails is logged and still run", async () => {
    const dir = tempDir();
    const store = BatchStore.open(dir);
    const b = batchOf([spec("a")]);
    const batch: BatchRecord = {
      ...b,
      open: true,
      runs: [{ ...b.runs[0], state: "running", firstStartedAt: Date.now(), attempts: [{ n: 1, model: "m/cheap", sessionKey: "old-s", runId: "old-r", owner: "proc-0", startedAt: Date.now(), tokens: 0, usage: { inputTokens: 0, outputTokens: 0 }, costUsd: 0 }] }],
    };
    store.create(batch);
    store.close();
    const { lines, log } = logger();
    const { engine } = make({ log }, new MemoryRuntime(), dir);
    failWrites(engine, 1, "locked", () => true);
    await engine.start();
    expect(lines).toContain(`parallel-agents: recovering ${batch.batchId} failed: Error: locked`);
    expect(lines).toContain("parallel-agents: resumed 1 open batch");
  });
});

describe("retention", () => {
  it("start prunes finished batches beyond retention at once and logs how many", async () => {
    const dir = tempDir();
    const store = BatchStore.open(dir);
    const now = Date.now();
    for (const t of [now - 3000, now - 2000, now - 1000]) store.create(finished(t));
    store.close();
    const { lines, log } = logger();
    const { engine } = make({ log, retention: { maxBatches: 1 } }, new MemoryRuntime(), dir);
    await engine.start();
    expect(engine.store.list().length).toBe(1);
    expect(lines).toContain("parallel-agents: pruned 2 finished batches");
  });

  it("logs a single pruned batch in the singular, and nothing when nothing was pruned", async () => {
    const dir = storeWith(finished(Date.now() - 2000), finished(Date.now() - 1000));
    expect(await startLog({ retention: { maxBatches: 1 } }, dir)).toContain("parallel-agents: pruned 1 finished batch");
    expect((await startLog({})).filter((l) => l.includes("pruned"))).toEqual([]);
  });

  it("a failing prune is logged and does not stop the engine starting", async () => {
    const { lines, log } = logger();
    const { engine } = make({ log });
    engine.store.prune = () => {
      throw new Error("busy");
    };
    await engine.start();
    expect(lines).toContain("parallel-agents: pruning failed: Error: busy");
    expect(engine.running).toBe(true);
  });

  it("prunes again every 10 minutes (not sooner), forgetting pruned batches but never live ones; stop ends the timer", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const rt = new MemoryRuntime((req) => (req.message.endsWith("live") ? { hang: true } : { delayMs: 1 }));
    const { engine } = make({ retention: { maxBatches: 1 } }, rt);
    await engine.start();
    const older = batchOf([spec("old")]);
    const newer = { ...batchOf([spec("new")]), createdAt: older.createdAt + 1 };
    const live = batchOf([spec("live")]);
    for (const b of [older, newer]) {
      engine.submit(b);
      await settled(engine, b.batchId);
    }
    engine.submit(live);
    await poll(() => engine.store.load(older.batchId)?.open === false && engine.store.load(newer.batchId)?.open === false);
    await sleep(20);
    vi.advanceTimersByTime(10 * 60_000 - 1);
    expect(engine.store.load(older.batchId)).toBeDefined();
    expect(engine.get(older.batchId)).toMatchObject({ batchId: older.batchId, open: false }); // from the store
    vi.advanceTimersByTime(1);
    expect(engine.store.load(older.batchId)).toBeUndefined();
    expect(engine.get(older.batchId)).toBeUndefined();
    expect(engine.get(newer.batchId)).toMatchObject({ batchId: newer.batchId, open: false }); // finished but retained
    expect(engine.get(live.batchId)).toBe(live); // open: the scheduler's own record
    await engine.cancel(live.batchId);
    await engine.stop();
    const extra = finished(Date.now() - 10_000);
    engine.store.create(extra);
    vi.advanceTimersByTime(60 * 60_000);
    expect(engine.store.load(extra.batchId)).toBeDefined();
  });
});
