// Session housekeeping: a finished child's session is deleted a moment after it ended, never while a
// notified requester's turn is ahead of it (until that run ends, or a bound), and at once once the
// engine stops. A retry's old session is still deleted before the retry starts.
import { describe, expect, it } from "vitest";
import { Housekeeping } from "../../src/engine/housekeeping.js";
import type { Notifier } from "../../src/engine/notice.js";
import { MemoryRuntime } from "../support/memory-runtime.js";
import { batchOf, engineOn, settled, spec, stopsEnginesAfterEach, tempDir } from "../support/batch.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Whether `p` has resolved yet, asked later. */
function watch(p: Promise<void>): () => boolean {
  let done = false;
  void p.then(() => (done = true));
  return () => done;
}

describe("Housekeeping", () => {
  it("lets a delete go after its delay", async () => {
    const hk = new Housekeeping({ delayMs: 40, holdMs: 1_000 }, new AbortController().signal);
    const done = watch(hk.settle());
    await sleep(10);
    expect(done()).toBe(false);
    await sleep(60);
    expect(done()).toBe(true);
  });

  it("holds deletes while a notified requester's turn is ahead, until that session's run ends", async () => {
    const hk = new Housekeeping({ delayMs: 0, holdMs: 5_000 }, new AbortController().signal);
    hk.hold("agent:main:main");
    const done = watch(hk.settle());
    await sleep(30);
    hk.runEnded("agent:main:subagent:other"); // another session's run: not the turn we wait for
    await sleep(10);
    expect(done()).toBe(false);
    hk.runEnded("agent:main:main");
    await sleep(10);
    expect(done()).toBe(true);
  });

  it("holds one requester after another", async () => {
    const hk = new Housekeeping({ delayMs: 0, holdMs: 5_000 }, new AbortController().signal);
    for (const requester of ["agent:main:main", "agent:ops:main"]) {
      hk.hold(requester);
      const done = watch(hk.settle());
      await sleep(10);
      expect(done()).toBe(false);
      hk.runEnded(requester);
      await sleep(10);
      expect(done()).toBe(true);
    }
  });

  it("a hold ends on its own after holdMs", async () => {
    const hk = new Housekeeping({ delayMs: 0, holdMs: 50 }, new AbortController().signal);
    hk.hold("agent:main:main");
    const done = watch(hk.settle());
    await sleep(20);
    expect(done()).toBe(false);
    await sleep(60);
    expect(done()).toBe(true);
  });

  it("lets everything go at once when the engine stops", async () => {
    const abort = new AbortController();
    const hk = new Housekeeping({ delayMs: 10_000, holdMs: 10_000 }, abort.signal);
    hk.hold("agent:main:main");
    const delayed = watch(hk.settle());
    await sleep(10);
    abort.abort();
    await sleep(10);
    expect(delayed()).toBe(true);
    const after = watch(hk.settle()); // a delete asked for after the stop goes at once
    await sleep(10);
    expect(after()).toBe(true);
  });
});

describe("the engine's session deletes", () => {
  const track = stopsEnginesAfterEach();

  it("a finished child's session goes after the delay, and not before the notified requester's run ended", async () => {
    const rt = new MemoryRuntime(() => ({ delayMs: 5 }));
    const sent: string[] = [];
    const notifier: Notifier = { notify: async (t) => (sent.push(t.sessionKey), "test-route") };
    const { engine } = track({ engine: engineOn(tempDir(), rt, { notifier, housekeeping: { delayMs: 30, holdMs: 5_000 } }) });
    const batch = { ...batchOf([spec("a"), spec("b")]), notify: true };
    engine.submit(batch);
    await settled(engine, batch.batchId);
    for (let i = 0; i < 100 && !sent.length; i++) await sleep(10);
    expect(sent).toEqual([batch.requester]);
    await sleep(100);
    expect(rt.stops).toEqual([]); // the requester's woken turn is still ahead
    engine.hostEvent({ stream: "lifecycle", sessionKey: batch.requester, data: { phase: "end" } });
    for (let i = 0; i < 100 && rt.stops.length < 2; i++) await sleep(10);
    expect([...rt.stops].sort()).toEqual(batch.runs.map((r) => r.attempts[0].sessionKey).sort());
  });

  it("a retry's old session is deleted before the retry starts, with no delay", async () => {
    let calls = 0;
    const rt = new MemoryRuntime(() => (++calls === 1 ? { error: "boom 503" } : { delayMs: 5 }));
    const { engine } = track({ engine: engineOn(tempDir(), rt, { housekeeping: { delayMs: 60_000, holdMs: 60_000 } }) });
    const batch = batchOf([spec("a")]);
    engine.submit(batch);
    const done = await settled(engine, batch.batchId, 5_000);
    expect(done.runs[0].attempts.map((a) => a.outcome)).toEqual(["provider_error", "ok"]);
    expect(rt.stops).toContain(done.runs[0].attempts[0].sessionKey);
  });
});
