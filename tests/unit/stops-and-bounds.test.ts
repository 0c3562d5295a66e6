// Every stop is final and every wait is bounded, stated as what a caller sees: a cancel answers
// within a second whatever the host is doing and nothing of the run starts after it (a retry's
// backoff, a start in flight, a corrective follow-up, a recovery after a restart); a host that
// keeps refusing starts, never answers a start, a wait or a delete cannot hold a batch past its
// bounds; a runaway output is cut at the stored cap, saying so; a finished batch leaves memory.
import { describe, expect, it } from "vitest";
import type { StartRequest } from "../../src/runtime/port.js";
import { MemoryRuntime } from "../support/memory-runtime.js";
import { engineOn, labelsOf, setup, spec, stopsEnginesAfterEach, until } from "../support/batch.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const schema = { type: "object", required: ["answer"], properties: { answer: { type: "number" } } };

const track = stopsEnginesAfterEach();

/** Times a call. */
async function timed<T>(body: () => Promise<T>): Promise<[T, number]> {
  const t0 = Date.now();
  const out = await body();
  return [out, Date.now() - t0];
}

describe("a host that keeps refusing starts", () => {
  it("refusing every start: the run ends within its timeout, failed, with a reason that says what to do; the batch ends and is noticed", async () => {
    const rt = new MemoryRuntime();
    let refusals = 0;
    rt.start = async () => {
      refusals++;
      throw new Error('Plugin "parallel-agents" runtime is no longer active.');
    };
    const sent: string[] = [];
    const notifier = { notify: async (_t: unknown, text: string) => (sent.push(text), "test") };
    const t = track(setup([spec("a", { timeoutSeconds: 2.5 })], rt, {}, { notifier, batch: { notify: true } }));
    const t0 = Date.now();
    const b = await t.done(10_000);
    expect(Date.now() - t0).toBeLessThan(2_500 + 500);
    const run = b.runs[0];
    expect(run.state).toBe("failed");
    expect(run.error).toMatch(/^the gateway refused to start this run \d+ times over \d+s \(last: Plugin "parallel-agents" runtime is no longer active\.\)\./);
    expect(run.error).toMatch(/openclaw gateway restart/);
    expect(run.attempts).toEqual([]); // a refused start never ran
    expect(run.refusals?.count).toBe(refusals);
    for (let i = 0; i < 100 && !sent.length; i++) await sleep(10);
    expect(sent).toHaveLength(1);
  });

  it("a host that refuses for a while and then takes the run: it runs, its refusals are not attempts", async () => {
    const rt = new MemoryRuntime();
    const start = rt.start.bind(rt);
    let refusals = 0;
    rt.start = async (req) => (++refusals <= 2 ? Promise.reject(new Error("gateway is draining")) : start(req));
    const b = await track(setup([spec("a", { timeoutSeconds: 30 })], rt)).done(10_000);
    expect(b.runs[0]).toMatchObject({ state: "ok", refusals: { count: 2, last: "gateway is draining" } });
    expect(b.runs[0].attempts.map((a) => a.n)).toEqual([1]);
  });
});

describe("every stop is final", () => {
  it("a cancel names the runs it stopped in the batch's order", async () => {
    const t = track(setup([spec("a"), spec("b"), spec("c")], new MemoryRuntime(() => ({ hang: true })), { maxConcurrency: 1 }));
    await until(t.engine, t.batch.batchId, (b) => Boolean(b.runs[0].attempts[0]?.runId));
    expect(await t.engine.cancel(t.batch.batchId)).toEqual(["a", "b", "c"]);
  });

  it("a cancel during a retry's backoff: no further attempt starts", async () => {
    const rt = new MemoryRuntime(() => ({ error: "HTTP 500", delayMs: 5 }));
    const t = track(setup([spec("a")], rt, { retries: 3 }, { random: () => 1 })); // backoff 750 ms
    await until(t.engine, t.batch.batchId, (b) => b.runs[0].state === "queued" && b.runs[0].attempts.length === 1);
    expect(await t.engine.cancel(t.batch.batchId)).toEqual(["a"]);
    await sleep(1_000);
    expect(rt.runs).toHaveLength(1);
    expect(t.engine.get(t.batch.batchId)!.runs[0]).toMatchObject({ state: "cancelled", error: "cancelled by parallel_cancel" });
  });

  it("a cancel while the host is still admitting the start: answered at once with the run cancelled; the child that lands later is stopped at once and recorded", async () => {
    const rt = new MemoryRuntime(() => ({ hang: true }));
    const start = rt.start.bind(rt);
    rt.start = async (req) => {
      await sleep(400);
      return start(req);
    };
    const t = track(setup([spec("a")], rt));
    await until(t.engine, t.batch.batchId, (b) => b.runs[0].state === "running");
    const [stopped, ms] = await timed(() => t.engine.cancel(t.batch.batchId));
    expect(stopped).toEqual(["a"]);
    expect(ms).toBeLessThan(1_000);
    expect(t.batch.runs[0].state).toBe("cancelled");
    for (let i = 0; i < 100 && !(rt.runs.length === 1 && rt.live === 0); i++) await sleep(10);
    expect(rt.runs).toHaveLength(1);
    expect(rt.live).toBe(0);
    expect(t.engine.get(t.batch.batchId)!.notes).toContain("a: a start that landed after the run was stopped was stopped at once (attempt 1)");
  });

  it("a cancel answers within a second while the host is slow to read and to stop; the engine carries the stop out after", async () => {
    const rt = new MemoryRuntime(() => ({ hang: true, readDelayMs: 1_500 }));
    const t = track(setup([spec("a"), spec("b")], rt));
    await until(t.engine, t.batch.batchId, (b) => b.runs.every((r) => r.attempts[0]?.runId));
    const [stopped, ms] = await timed(() => t.engine.cancel(t.batch.batchId));
    expect(ms).toBeLessThan(1_000);
    expect(stopped).toEqual(["a", "b"]);
    expect(t.engine.store.load(t.batch.batchId)!.runs.map((r) => r.stop?.outcome)).toEqual(["cancelled", "cancelled"]); // durable before the answer
    const b = await t.done(5_000);
    expect(labelsOf(b)).toEqual({ a: "cancelled", b: "cancelled" });
    expect(rt.live).toBe(0);
  });

  it("a cancel that races a corrective follow-up: the follow-up is stopped, the run ends cancelled", async () => {
    const rt = new MemoryRuntime((req) => (req.message.startsWith("do") ? { reply: "no json at all" } : { hang: true }));
    const start = rt.start.bind(rt);
    let fixSent!: () => void;
    const fixing = new Promise<void>((resolve) => (fixSent = resolve));
    rt.start = async (req: StartRequest) => {
      if (req.message.startsWith("do")) return start(req);
      fixSent();
      await sleep(300);
      return start(req);
    };
    const t = track(setup([spec("a", { outputSchema: schema })], rt));
    await fixing;
    await t.engine.cancel(t.batch.batchId);
    const b = await t.done(5_000);
    expect(b.runs[0]).toMatchObject({ state: "cancelled" });
    for (let i = 0; i < 100 && rt.live > 0; i++) await sleep(10);
    expect(rt.live).toBe(0);
    expect(rt.runs).toHaveLength(2); // the first attempt and its follow-up; no retry
    expect(b.runs[0].attempts).toHaveLength(1);
  });

  it("a cancel during recovery after a restart answers within a second and nothing restarts", async () => {
    const first = new MemoryRuntime(() => ({ hang: true }));
    const t = track(setup([spec("a"), spec("b")], first));
    await until(t.engine, t.batch.batchId, (b) => b.runs.every((r) => r.attempts[0]?.runId));
    const next = new MemoryRuntime(() => ({ hang: true }));
    const read = next.read.bind(next);
    next.read = async (key) => (await sleep(2_000), read(key)); // a busy host: recovery reads slowly
    await t.engine.stop();
    t.engine.store.close();
    const engine = engineOn(t.dir, next, { owner: "proc-2" });
    track({ engine });
    const starting = engine.start();
    const [stopped, ms] = await timed(() => engine.cancel(t.batch.batchId));
    expect(stopped).toEqual(["a", "b"]);
    expect(ms).toBeLessThan(50); // recorded and answered at once: no loop runs yet to carry it out
    await starting;
    const b = await until(engine, t.batch.batchId, (x) => x.runs.every((r) => r.state === "cancelled"), 5_000);
    expect(labelsOf(b)).toEqual({ a: "cancelled", b: "cancelled" });
    await sleep(200);
    expect(next.runs).toHaveLength(0); // nothing re-ran
  });

  it("a timeout that passes while a run waits out a backoff ends it there: no attempt starts past the deadline", async () => {
    const rt = new MemoryRuntime(() => ({ error: "HTTP 500", delayMs: 5 }));
    const b = await track(setup([spec("a", { timeoutSeconds: 0.4 })], rt, { retries: 5 }, { random: () => 1 })).done(); // backoffs 750 ms+
    expect(b.runs[0]).toMatchObject({ state: "timed_out", error: "no result within 0.4s" });
    expect(rt.runs).toHaveLength(1);
  });
});

describe("every host call has a deadline", () => {
  it("a start the host never answers fails the attempt saying so, deletes its session, and the retry runs", async () => {
    const rt = new MemoryRuntime();
    const start = rt.start.bind(rt);
    let n = 0;
    rt.start = (req) => (++n === 1 ? new Promise(() => undefined) : start(req));
    const b = await track(setup([spec("a")], rt, {}, { deadlines: { startMs: 100 } })).done(5_000);
    expect(b.runs[0].state).toBe("ok");
    expect(b.runs[0].attempts[0]).toMatchObject({ outcome: "provider_error", reason: expect.stringMatching(/^start failed: the host did not answer the start of .+ within 0s$/) });
    expect(rt.stops).toContain(b.runs[0].attempts[0].sessionKey);
  });

  it("a delete the host never answers: the cancelled batch still ends", async () => {
    const rt = new MemoryRuntime(() => ({ hang: true }));
    rt.stop = () => new Promise(() => undefined);
    const t = track(setup([spec("a")], rt, {}, { deadlines: { stopMs: 100, confirmMs: 100 } }));
    await until(t.engine, t.batch.batchId, (b) => Boolean(b.runs[0].attempts[0]?.runId));
    await t.engine.cancel(t.batch.batchId);
    const b = await t.done(3_000);
    expect(b.runs[0]).toMatchObject({ state: "cancelled", error: "cancelled by parallel_cancel (the host did not confirm the child stopped; attempt abandoned)" });
  });

  it("a wait the host never answers counts as still running: the run's timeout still ends it", async () => {
    const rt = new MemoryRuntime(() => ({ hang: true }));
    rt.wait = () => new Promise(() => undefined);
    const t0 = Date.now();
    const b = await track(setup([spec("a", { timeoutSeconds: 0.3 })], rt, {}, { deadlines: { waitGraceMs: 50, confirmMs: 50 } })).done(5_000);
    expect(b.runs[0].state).toBe("timed_out");
    expect(Date.now() - t0).toBeLessThan(2_000);
  });
});

describe("what a finished batch keeps", () => {
  it("an output past 1 MB is stored cut, ending with a note, and the batch notes it", async () => {
    const big = `${"x".repeat(1_100_000)}THE-END`;
    const b = await track(setup([spec("big")], new MemoryRuntime(() => ({ reply: big })))).done();
    const out = b.runs[0].output!;
    expect(Buffer.byteLength(out)).toBeLessThan(1_000_200);
    expect(out.startsWith("x".repeat(1_000))).toBe(true);
    expect(out).not.toContain("THE-END");
    expect(out.endsWith("[parallel-agents: output cut at 1,000,000 of 1,100,007 bytes; a run's stored output is capped at 1 MB]")).toBe(true);
    expect(b.notes).toContain("big: output of 1,100,007 bytes cut to the stored cap of 1 MB");
  });

  it("a finished batch leaves memory: reads come from the store", async () => {
    const t = track(setup([spec("a")], new MemoryRuntime()));
    await t.done();
    for (let i = 0; i < 100 && t.engine.get(t.batch.batchId) === t.batch; i++) await sleep(10);
    const read = t.engine.get(t.batch.batchId)!;
    expect(read).not.toBe(t.batch);
    expect(read).toMatchObject({ batchId: t.batch.batchId, open: false, runs: [{ state: "ok", output: "done" }] });
  });
});
