// The batch scheduler's rules, each stated as what a caller can observe: timeouts count from a run's
// first start, host waits are bounded, budgets stop work with a reason, a retry never overlaps the
// attempt before it, stopping a run owns its last wait result, gated runs wait for the others,
// backoffs free their slot and end on time, host failures at start are classified, and the commit
// that ends a batch closes it in the same write.
import { describe, expect, it } from "vitest";
import type { BatchRecord } from "../../src/batch/types.js";
import type { StartRequest } from "../../src/runtime/port.js";
import { BatchStore } from "../../src/store/batch-store.js";
import { MemoryRuntime } from "../support/memory-runtime.js";
import { batchOf, engineOn, labelsOf, settled, setup, spec, tempDir, stopsEnginesAfterEach, until } from "../support/batch.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const schema = { type: "object", required: ["answer"], properties: { answer: { type: "number" } } };

const track = stopsEnginesAfterEach();

describe("timeouts", () => {
  it("count from the run's first start, across retries: a retry does not get a fresh timeout", async () => {
    const rt = new MemoryRuntime((_req, i) => (i === 0 ? { error: "HTTP 500", delayMs: 20 } : { hang: true }));
    const t = track(setup([spec("a", { timeoutSeconds: 0.5 })], rt, { retries: 3 }));
    const b = await t.done();
    const run = b.runs[0];
    expect(run.state).toBe("timed_out");
    expect(run.error).toBe("no result within 0.5s");
    expect(run.attempts.map((a) => a.outcome)).toEqual(["provider_error", "timeout"]);
    const second = run.attempts[1];
    expect(second.startedAt - run.firstStartedAt!).toBeGreaterThanOrEqual(200); // it waited out its backoff
    expect(second.endedAt! - run.firstStartedAt!).toBeLessThan(850); // not 500 ms after its own start
    expect(second.endedAt! - run.firstStartedAt!).toBeGreaterThanOrEqual(480);
  });

  it("a batch that ends by a timeout is finished at once: its notice does not wait for another wait slice", async () => {
    const sent: string[] = [];
    const notifier = { notify: async (_t: unknown, text: string) => (sent.push(text), "test") };
    const t = track(setup([spec("a", { timeoutSeconds: 0.2 })], new MemoryRuntime(() => ({ hang: true })), {}, { notifier, batch: { notify: true } }));
    await t.done();
    const endedAt = Date.now();
    for (let i = 0; i < 300 && !sent.length; i++) await sleep(10);
    expect(sent).toHaveLength(1);
    expect(Date.now() - endedAt).toBeLessThan(2_000);
  });

  it("a host wait never outlasts the run's deadline, nor 30 s", async () => {
    const rt = new MemoryRuntime((req) => (req.message.endsWith("short") ? { hang: true } : { delayMs: 60 }));
    const slices = new Map<string, number[]>();
    const wait = rt.wait.bind(rt);
    rt.wait = (runId, ms) => {
      slices.set(runId, [...(slices.get(runId) ?? []), ms]);
      return wait(runId, ms);
    };
    const t = track(setup([spec("short", { timeoutSeconds: 0.3 }), spec("long", { timeoutSeconds: 600 })], rt));
    const b = await t.done();
    expect(labelsOf(b)).toEqual({ short: "timed_out", long: "ok" });
    const [shortSlice] = slices.get(b.runs[0].attempts[0].runId!)!;
    expect(shortSlice).toBeGreaterThan(150);
    expect(shortSlice).toBeLessThanOrEqual(300);
    expect(slices.get(b.runs[1].attempts[0].runId!)![0]).toBe(30_000);
  });
});

describe("budgets", () => {
  it("a spent token budget stops running and queued runs as failed, saying what was spent against which limit", async () => {
    // "small" calibrates the estimate (about 1,000 tokens an attempt), then "big" spends far more than
    // estimated while "slow" is running: the overrun stops "slow" and fails "queued" unstarted.
    const rt = new MemoryRuntime((req) =>
      req.message.endsWith("small") ? { delayMs: 5, usage: { inputTokens: 1000, outputTokens: 0 } }
      : req.message.endsWith("big") ? { delayMs: 50, usage: { inputTokens: 30_000, outputTokens: 0 } }
      : { hang: true });
    const t = track(setup([spec("small"), spec("big"), spec("slow"), spec("queued")], rt, { maxConcurrency: 2, budget: { maxTokens: 20_000 } }));
    const b = await t.done();
    expect(labelsOf(b)).toEqual({ small: "ok", big: "ok", slow: "failed", queued: "failed" });
    for (const r of b.runs.slice(2)) expect(r.error).toMatch(/^token budget exceeded: used 31,000 tokens, maxTokens is 20,000/);
    expect(b.runs[2].attempts[0]).toMatchObject({ outcome: "budget" });
    expect(b.runs[3].attempts).toEqual([]); // never started
    expect(rt.live).toBe(0);
  });

  it("a spent cost budget stops the batch the same way", async () => {
    const rt = new MemoryRuntime((req) => (req.message.endsWith("big") ? { delayMs: 5, usage: { inputTokens: 1_000_000, outputTokens: 0 } } : { hang: true }));
    const t = track(setup([spec("big"), spec("slow")], rt, { maxConcurrency: 2, budget: { maxCostUsd: 0.5 } }));
    const b = await t.done();
    expect(labelsOf(b)).toEqual({ big: "ok", slow: "failed" });
    expect(b.runs[1].error).toMatch(/^cost budget exceeded: spent .+, maxCostUsd is /);
  });
});

describe("one live child per run", () => {
  it("a failed attempt's session is deleted before the next attempt starts, however slow the delete", async () => {
    const events: string[] = [];
    const rt = new MemoryRuntime((_req, i) => (i === 0 ? { error: "HTTP 500", delayMs: 5 } : { reply: "fine" }));
    const start = rt.start.bind(rt);
    rt.start = async (req: StartRequest) => {
      events.push(`start ${req.sessionKey.slice(-3)}`);
      return start(req);
    };
    const stop = rt.stop.bind(rt);
    rt.stop = async (sessionKey: string) => {
      await sleep(400); // longer than the 250 ms backoff
      await stop(sessionKey);
      events.push(`deleted ${sessionKey.slice(-3)}`);
    };
    const t = track(setup([spec("a")], rt));
    const b = await t.done();
    expect(b.runs[0].attempts.map((a) => a.outcome)).toEqual(["provider_error", "ok"]);
    const suffix = (n: number) => b.runs[0].attempts[n].sessionKey.slice(-3);
    expect(events.indexOf(`deleted ${suffix(0)}`)).toBeGreaterThanOrEqual(0);
    expect(events.indexOf(`deleted ${suffix(0)}`)).toBeLessThan(events.indexOf(`start ${suffix(1)}`));
  });
});

describe("stopping a run", () => {
  /** A host whose confirmation of a stop (the stopper's own wait) arrives after the loop's wait result. */
  function slowConfirmation(rt: MemoryRuntime) {
    const wait = rt.wait.bind(rt);
    rt.wait = async (runId, ms) => {
      const r = await wait(runId, ms);
      if (ms === 5_000) await sleep(50);
      return r;
    };
    return rt;
  }

  it("a wait result that arrives while a cancel is stopping the run is the cancel's: one attempt, cancelled, no retry", async () => {
    const rt = slowConfirmation(new MemoryRuntime(() => ({ hang: true })));
    const t = track(setup([spec("a")], rt));
    await until(t.engine, t.batch.batchId, (b) => Boolean(b.runs[0].attempts[0]?.runId));
    expect(await t.engine.cancel(t.batch.batchId)).toEqual(["a"]);
    await sleep(100);
    expect(t.batch.runs[0].state).toBe("cancelled");
    expect(t.batch.runs[0].attempts.map((a) => a.outcome)).toEqual(["cancelled"]);
    expect(rt.runs).toHaveLength(1);
  });

  it("the same holds for a timeout: the stopped attempt's late result does not start a retry", async () => {
    const rt = slowConfirmation(new MemoryRuntime(() => ({ hang: true })));
    const t = track(setup([spec("a", { timeoutSeconds: 0.15 })], rt, { retries: 3 }));
    const b = await t.done();
    await sleep(100);
    expect(b.runs[0].attempts.map((a) => a.outcome)).toEqual(["timeout"]);
    expect(rt.runs).toHaveLength(1);
  });

  it("a confirmed stop is recorded with the plain reason; an unconfirmed one says the attempt was abandoned", async () => {
    const ok = track(setup([spec("a")], new MemoryRuntime(() => ({ hang: true }))));
    await until(ok.engine, ok.batch.batchId, (b) => Boolean(b.runs[0].attempts[0]?.runId));
    await ok.engine.cancel(ok.batch.batchId);
    expect(ok.batch.runs[0].attempts[0].reason).toBe("cancelled by parallel_cancel");
    expect(ok.batch.runs[0].error).toBe("cancelled by parallel_cancel");

    const stubborn = new MemoryRuntime(() => ({ hang: true }));
    stubborn.stop = async () => undefined; // the child keeps running
    const wait = stubborn.wait.bind(stubborn);
    stubborn.wait = (runId, ms) => (ms === 5_000 ? Promise.resolve({ state: "pending" as const }) : wait(runId, ms));
    const t = track(setup([spec("a")], stubborn));
    await until(t.engine, t.batch.batchId, (b) => Boolean(b.runs[0].attempts[0]?.runId));
    await t.engine.cancel(t.batch.batchId);
    expect(t.batch.runs[0].state).toBe("cancelled");
    expect(t.batch.runs[0].attempts[0].reason).toBe("cancelled by parallel_cancel (the host did not confirm the child stopped; attempt abandoned)");
  });

  it("a stop whose confirmation fails is not taken as confirmed", async () => {
    const rt = new MemoryRuntime(() => ({ hang: true }));
    const wait = rt.wait.bind(rt);
    rt.wait = (runId, ms) => (ms === 5_000 ? Promise.reject(new Error("gone")) : wait(runId, ms));
    const t = track(setup([spec("a")], rt));
    await until(t.engine, t.batch.batchId, (b) => Boolean(b.runs[0].attempts[0]?.runId));
    await t.engine.cancel(t.batch.batchId);
    expect(t.batch.runs[0].attempts[0].reason).toMatch(/did not confirm/);
  });

  it("cancelling twice at once stops the run once", async () => {
    const rt = new MemoryRuntime(() => ({ hang: true }));
    const t = track(setup([spec("a")], rt));
    await until(t.engine, t.batch.batchId, (b) => Boolean(b.runs[0].attempts[0]?.runId));
    const [x, y] = await Promise.all([t.engine.cancel(t.batch.batchId), t.engine.cancel(t.batch.batchId)]);
    expect(x).toEqual(["a"]);
    expect(y).toEqual(["a"]);
    expect(t.batch.runs[0].attempts).toHaveLength(1);
  });
});

describe("gated runs (the research synthesis)", () => {
  it("start only once every other run is terminal, with the prompt rendered from the finished batch", async () => {
    const rt = new MemoryRuntime((req) => ({ delayMs: req.message.startsWith("do") ? 40 : 5, reply: `r:${req.message}` }));
    const seen: string[][] = [];
    const ungate = (batch: BatchRecord) => {
      seen.push(batch.runs.map((r) => r.state));
      return "synthesise " + batch.runs.filter((r) => r.output).map((r) => r.output).join(" + ");
    };
    const t = track(setup([spec("lane1"), spec("lane2", { timeoutSeconds: 30 }), spec("synth", { gate: "lanes" })], rt, {}, { ungate }));
    const b = await t.done();
    expect(labelsOf(b)).toEqual({ lane1: "ok", lane2: "ok", synth: "ok" });
    expect(seen).toEqual([["ok", "ok", "queued"]]);
    const synth = rt.runs.find((r) => r.req.message.startsWith("synthesise"))!;
    expect(synth.req.message).toBe("synthesise r:do lane1 + r:do lane2");
    expect(synth.startedAt).toBeGreaterThanOrEqual(Math.max(...rt.runs.filter((r) => r !== synth).map((r) => r.endedAt!)));
    expect(b.runs[2].spec.gate).toBeUndefined();
  });

  it("without a renderer the gated run keeps its own prompt, and a failed lane still lets it start", async () => {
    const rt = new MemoryRuntime((req) => (req.message.endsWith("bad") ? { error: "HTTP 400" } : { reply: "x" }));
    const t = track(setup([spec("bad"), spec("synth", { gate: "lanes" })], rt, { retries: 0 }));
    const b = await t.done();
    expect(labelsOf(b)).toEqual({ bad: "failed", synth: "ok" });
    expect(rt.runs.map((r) => r.req.message)).toEqual(["do bad", "do synth"]);
  });
});

describe("admission and backoff", () => {
  it("a run waiting out its backoff frees its slot for the next queued runs, and restarts on time by itself", async () => {
    const rt = new MemoryRuntime((req, i) => (i === 0 ? { error: "HTTP 500", delayMs: 5 } : { delayMs: 20, reply: req.message }));
    const t = track(setup([spec("a"), spec("b"), spec("c")], rt, { maxConcurrency: 1 }));
    const began = Date.now();
    const b = await t.done(5_000);
    expect(labelsOf(b)).toEqual({ a: "ok", b: "ok", c: "ok" });
    expect(rt.runs.map((r) => r.req.message)).toEqual(["do a", "do b", "do c", "do a"]);
    expect(rt.peakLive).toBe(1);
    const [first, second] = b.runs[0].attempts;
    expect(second.startedAt - first.endedAt!).toBeGreaterThanOrEqual(230); // 500 ms x 0.5 jitter, give or take a tick
    expect(Date.now() - began).toBeLessThan(2_000); // woke for the backoff, not for a 30 s wait slice
  });

  it("a retry after a backoff starts when its pause is over even while nothing else happens", async () => {
    const rt = new MemoryRuntime((_req, i) => (i === 0 ? { error: "HTTP 500", delayMs: 5 } : { reply: "ok" }));
    const t = track(setup([spec("a")], rt));
    const b = await t.done(5_000);
    const [first, second] = b.runs[0].attempts;
    expect(second.startedAt - first.endedAt!).toBeGreaterThanOrEqual(230);
    expect(second.startedAt - first.endedAt!).toBeLessThan(1_500);
  });
});

describe("host failures at start", () => {
  it("a refused start ends the attempt classified, with the host's message", async () => {
    const rt = new MemoryRuntime();
    rt.start = async () => {
      throw new Error("HTTP 400 unknown model");
    };
    const b = await track(setup([spec("a")], rt, { retries: 0 })).done();
    expect(b.runs[0].state).toBe("failed");
    expect(b.runs[0].attempts[0]).toMatchObject({ outcome: "provider_error", reason: "start failed: HTTP 400 unknown model" });
  });

  it("a rate-limited start is a rate_limit attempt", async () => {
    const rt = new MemoryRuntime();
    rt.start = async () => {
      throw new Error("429 Too Many Requests");
    };
    const b = await track(setup([spec("a")], rt, { retries: 0 })).done();
    expect(b.runs[0].attempts[0].outcome).toBe("rate_limit");
  });

  it("a host still booting is asked again shortly, and the refused start is not an attempt", async () => {
    const rt = new MemoryRuntime(() => ({ reply: "up" }));
    const start = rt.start.bind(rt);
    let refused = 0;
    rt.start = async (req) => {
      if (refused++ === 0) throw new Error("agent unavailable during gateway startup");
      return start(req);
    };
    const began = Date.now();
    const b = await track(setup([spec("a")], rt, { retries: 0 })).done(5_000);
    expect(b.runs[0].state).toBe("ok");
    expect(b.runs[0].attempts).toHaveLength(1);
    expect(b.runs[0].attempts[0].n).toBe(1);
    expect(Date.now() - began).toBeGreaterThanOrEqual(900);
  });

  it("a wait that throws counts as that attempt's error, and the run is retried", async () => {
    const rt = new MemoryRuntime(() => ({ delayMs: 5, reply: "ok" }));
    const wait = rt.wait.bind(rt);
    let thrown = false;
    rt.wait = async (runId, ms) => {
      if (!thrown) {
        thrown = true;
        throw new Error("HTTP 502 socket hang up");
      }
      return wait(runId, ms);
    };
    const b = await track(setup([spec("a")], rt)).done();
    expect(b.runs[0].state).toBe("ok");
    expect(b.runs[0].attempts[0].outcome).toBe("provider_error");
    expect(b.runs[0].attempts[0].reason).toMatch(/socket hang up/);
  });

  it("a corrective follow-up the host refuses ends the attempt invalid_json, saying so", async () => {
    const rt = new MemoryRuntime((req) => (req.model === "m/cheap" ? { reply: "no json" } : { reply: '{"answer": 1}' }));
    const start = rt.start.bind(rt);
    rt.start = async (req) => {
      if (req.idempotencyKey.endsWith(":fix")) throw new Error("session closed");
      return start(req);
    };
    const b = await track(setup([spec("q", { outputSchema: schema })], rt)).done();
    expect(b.runs[0].attempts[0]).toMatchObject({ outcome: "invalid_json", reason: "corrective follow-up failed: session closed" });
    expect(b.runs[0]).toMatchObject({ state: "ok", json: { answer: 1 } });
  });

  it("a contract failure after the correction names the validation errors", async () => {
    const rt = new MemoryRuntime(() => ({ reply: '{"answer": "not a number"}' }));
    const b = await track(setup([spec("q", { outputSchema: schema })], rt, { retries: 0 })).done();
    expect(b.runs[0].state).toBe("failed");
    expect(b.runs[0].attempts[0].corrected).toBe(true);
    expect(b.runs[0].attempts[0].reason).toMatch(/answer/);
    expect(b.runs[0].attempts[0].reason).not.toMatch(/^corrective follow-up sent/);
  });
});

describe("recovery at start", () => {
  const attempt = (owner: string, runId: string) => ({
    n: 1, model: "m/cheap", sessionKey: `sess-${owner}-a1`, runId, owner, startedAt: Date.now(), tokens: 0, usage: { inputTokens: 0, outputTokens: 0 }, costUsd: 0,
  });

  it("a run marked running without an attempt is requeued and run, not failed", async () => {
    const dir = tempDir();
    const store = BatchStore.open(dir);
    const b = batchOf([spec("a")]);
    store.create({ ...b, open: true, runs: [{ ...b.runs[0], state: "running" }] });
    store.close();
    const engine = engineOn(dir, new MemoryRuntime());
    track({ engine });
    await engine.start();
    const done = await settled(engine, b.batchId);
    expect(done.runs[0].state).toBe("ok");
    expect(done.runs[0].attempts.map((a) => a.outcome)).toEqual(["ok"]);
  });

  it("another process's live attempt ends interrupted (saying why); this process's own keeps running", async () => {
    const rt = new MemoryRuntime(() => ({ delayMs: 150, reply: "same child" }));
    const started = await rt.start({ sessionKey: "sess-proc-1-a1", message: "do a", model: "m/cheap", idempotencyKey: "x:a:1" });
    const dir = tempDir();
    const store = BatchStore.open(dir);
    const mine = batchOf([spec("a")]);
    const theirs = batchOf([spec("a")]);
    store.create({ ...mine, open: true, runs: [{ ...mine.runs[0], state: "running", firstStartedAt: Date.now(), attempts: [attempt("proc-1", started.runId)] }] });
    store.create({ ...theirs, open: true, runs: [{ ...theirs.runs[0], state: "running", firstStartedAt: Date.now(), attempts: [attempt("proc-0", "gone")] }] });
    store.close();
    const engine = engineOn(dir, rt); // owner proc-1, as after a plugin reload in the same process
    track({ engine });
    await engine.start();
    const a = await settled(engine, mine.batchId);
    expect(a.runs[0].attempts.map((x) => x.outcome)).toEqual(["ok"]);
    expect(a.runs[0].output).toBe("same child");
    const b = await settled(engine, theirs.batchId);
    expect(b.runs[0].attempts[0]).toMatchObject({ outcome: "interrupted", reason: "the gateway restarted while this attempt was running" });
    expect(b.runs[0].state).toBe("ok");
  });
});

describe("the commit that ends the last run", () => {
  /** The batch's open flag at every write of runs (header-only writes, as the notice's, are left out). */
  function openFlags(t: { engine: { store: BatchStore } }, headers: boolean[] = []) {
    const flags: (boolean | undefined)[] = [];
    const saveRuns = t.engine.store.saveRuns.bind(t.engine.store);
    t.engine.store.saveRuns = (batch, runs, header) => {
      if (runs.length) flags.push(batch.open);
      if (runs.length) headers.push(header);
      return saveRuns(batch, runs, header);
    };
    return flags;
  }

  it("closes a batch that owes no notice in the same write", async () => {
    const t = track(setup([spec("a")], new MemoryRuntime(() => ({ delayMs: 30 }))));
    const headers: boolean[] = [];
    const flags = openFlags(t, headers);
    await t.done();
    expect(flags.at(-1)).toBe(false);
    expect(headers.at(-1)).toBe(true); // the header (open: false) goes with the run's end
    expect(flags.slice(0, -1).every((f) => f === true)).toBe(true);
  });

  it("keeps a batch that owes a notice open until it is sent", async () => {
    const t = track(setup([spec("a")], new MemoryRuntime(() => ({ delayMs: 30 })), {}, { batch: { notify: true } }));
    const flags = openFlags(t);
    await t.done();
    expect(flags.at(-1)).toBe(true);
  });

  it("closes a batch that asked for a notice but was collected or already notified", async () => {
    for (const extra of [{ notify: true, collected: true }, { notify: true, notifiedAt: 1 }]) {
      const t = track(setup([spec("a")], new MemoryRuntime(() => ({ delayMs: 30 })), {}, { batch: extra }));
      const flags = openFlags(t);
      await t.done();
      expect(flags.at(-1)).toBe(false);
    }
  });
});
