import { describe, expect, it } from "vitest";
import { BatchRunner } from "../../src/orchestrator/batch-runner.js";
import { MemoryRuntime } from "../support/memory-runtime.js";
import { labelsOf, setup, spec } from "../support/batch.js";

const soon = (ms = 5_000) => Date.now() + ms;

describe("batch runner", () => {
  it("runs every task and returns each child's real output", async () => {
    const rt = new MemoryRuntime((req) => ({ reply: `out:${req.message}` }));
    const { runner } = setup([spec("a"), spec("b"), spec("c")], rt);
    await runner.drive(soon());
    expect(runner.complete).toBe(true);
    expect(runner.batch.runs.map((r) => r.output)).toEqual(["out:do a", "out:do b", "out:do c"]);
  });

  it("starts queued runs in FIFO order and never exceeds maxConcurrency", async () => {
    const rt = new MemoryRuntime((_req, i) => ({ delayMs: 20 + (i % 3) * 15 }));
    const labels = Array.from({ length: 10 }, (_, i) => `t${i}`);
    const { runner } = setup(labels.map((l) => spec(l)), rt, { maxConcurrency: 3 });
    await runner.drive(soon());
    expect(runner.complete).toBe(true);
    expect(rt.peakLive).toBe(3);
    expect(rt.runs.map((r) => r.req.message)).toEqual(labels.map((l) => `do ${l}`));
  });

  it("a slow session delete never holds up noticing the other finished children, nor the result for long", async () => {
    const rt = new MemoryRuntime(() => ({ delayMs: 5 }));
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const stop = rt.stop.bind(rt);
    const issued: string[] = [];
    rt.stop = async (sessionKey: string) => {
      issued.push(sessionKey);
      await gate;
      return stop(sessionKey);
    };
    const { runner } = setup(["a", "b", "c", "d"].map((l) => spec(l)), rt, { maxConcurrency: 4 });
    const driving = runner.drive(soon());
    while (!runner.complete) await new Promise((r) => setTimeout(r, 5));
    expect(labelsOf(runner)).toEqual({ a: "ok", b: "ok", c: "ok", d: "ok" }); // all noticed while no delete has finished
    await driving; // returns after a bounded grace (200 ms here) although the deletes still hang
    expect(issued).toHaveLength(4); // every delete was issued while the call was in flight
    openGate();
  });

  it("admits up to the concurrency cap and returns at once with a zero wait", async () => {
    const rt = new MemoryRuntime(() => ({ delayMs: 200 }));
    const { runner } = setup([spec("a"), spec("b"), spec("c")], rt, { maxConcurrency: 2 });
    await runner.drive(Date.now());
    expect(labelsOf(runner)).toEqual({ a: "running", b: "running", c: "queued" });
    await runner.drive(soon());
    expect(labelsOf(runner)).toEqual({ a: "ok", b: "ok", c: "ok" });
  });

  it("returns partial results at its deadline and finishes on a later drive", async () => {
    const rt = new MemoryRuntime((req) => ({ delayMs: req.message.endsWith("slow") ? 400 : 10 }));
    const { runner } = setup([spec("fast"), spec("slow")], rt);
    await runner.drive(Date.now() + 150);
    expect(labelsOf(runner)).toEqual({ fast: "ok", slow: "running" });
    expect(rt.runs).toHaveLength(2); // the slow run was not re-spawned while still running
    await runner.drive(soon());
    expect(labelsOf(runner)).toEqual({ fast: "ok", slow: "ok" });
    expect(rt.runs).toHaveLength(2);
  });

  it("times out a hanging child, stops it, and lets the other runs succeed", async () => {
    const rt = new MemoryRuntime((req) => (req.message.endsWith("hang") ? { hang: true } : { delayMs: 10 }));
    const { runner } = setup([spec("hang", { timeoutSeconds: 0.2 }), spec("ok1"), spec("ok2")], rt);
    await runner.drive(soon());
    expect(labelsOf(runner)).toEqual({ hang: "timed_out", ok1: "ok", ok2: "ok" });
    const hang = runner.batch.runs[0];
    expect(hang.attempts[0].outcome).toBe("timeout");
    expect(rt.stops).toContain(hang.attempts[0].sessionKey);
  });

  it("cancels queued and running runs and keeps finished results", async () => {
    const rt = new MemoryRuntime((req) => (req.message.endsWith("quick") ? { delayMs: 5 } : { hang: true }));
    const { runner } = setup([spec("quick"), spec("long"), spec("later")], rt, { maxConcurrency: 2 });
    await runner.drive(Date.now() + 100);
    const stopped = await runner.cancel();
    expect(stopped.sort()).toEqual(["later", "long"]);
    expect(labelsOf(runner)).toEqual({ quick: "ok", long: "cancelled", later: "cancelled" });
    expect(runner.batch.runs[0].output).toBe("done");
    expect(rt.live).toBe(0);
  });

  it("cancels only the labelled runs", async () => {
    const rt = new MemoryRuntime(() => ({ hang: true }));
    const { runner } = setup([spec("a"), spec("b")], rt);
    await runner.drive(Date.now());
    expect(await runner.cancel(["b"])).toEqual(["b"]);
    expect(labelsOf(runner)).toEqual({ a: "running", b: "cancelled" });
    await runner.cancel();
  });

  it("one failing run never sinks the batch", async () => {
    const rt = new MemoryRuntime((req) => (req.message.endsWith("bad") ? { error: "HTTP 400 bad request" } : {}));
    const { runner } = setup([spec("bad"), spec("good")], rt, { retries: 1 });
    await runner.drive(soon());
    expect(labelsOf(runner)).toEqual({ bad: "failed", good: "ok" });
    expect(runner.batch.runs[0].error).toMatch(/HTTP 400/);
  });

  it("shares one driver between concurrent callers with consistent answers", async () => {
    const rt = new MemoryRuntime(() => ({ delayMs: 50 }));
    const { runner } = setup([spec("a"), spec("b"), spec("c"), spec("d")], rt, { maxConcurrency: 2 });
    await Promise.all([runner.drive(soon()), runner.drive(soon()), runner.drive(soon())]);
    expect(runner.complete).toBe(true);
    expect(rt.runs).toHaveLength(4);
    expect(rt.peakLive).toBe(2);
  });
});

describe("ledger replay", () => {
  it("rebuilds a finished batch from the ledger with the same results", async () => {
    const rt = new MemoryRuntime((req) => ({ reply: `r-${req.message}` }));
    const { runner, ledger, batch } = setup([spec("a"), spec("b")], rt);
    await runner.drive(soon());
    const replayed = ledger.load(batch.batchId)!;
    expect(replayed.runs.map((r) => [r.state, r.output])).toEqual([
      ["ok", "r-do a"],
      ["ok", "r-do b"],
    ]);
    expect(replayed.runs[0].attempts[0]).toMatchObject({ outcome: "ok", model: "m/cheap", tokens: 150 });
  });

  it("after a simulated crash, in-flight runs are reported as interrupted and retried, finished ones kept", async () => {
    const rt = new MemoryRuntime((req) => (req.message.endsWith("slow") ? { hang: true } : { reply: "kept" }));
    const { runner, ledger, batch } = setup([spec("fast"), spec("slow")], rt, {}, "dead-process");
    await runner.drive(Date.now() + 100);
    expect(labelsOf(runner)).toEqual({ fast: "ok", slow: "running" });

    const fresh = new MemoryRuntime(() => ({ reply: "second life" }));
    const recovered = new BatchRunner(ledger.load(batch.batchId)!, { runtime: fresh, ledger, owner: "new-process", random: () => 0 });
    await recovered.recoverInterrupted();
    expect(fresh.stops).toEqual([batch.runs[1].attempts[0].sessionKey]); // the old child is stopped before any retry
    await recovered.drive(soon());
    expect(labelsOf(recovered)).toEqual({ fast: "ok", slow: "ok" });
    expect(recovered.batch.runs[0].output).toBe("kept");
    expect(recovered.batch.runs[1].attempts.map((a) => a.outcome)).toEqual(["interrupted", "ok"]);
    expect(fresh.runs).toHaveLength(1); // the finished run was not run again
  });

  it("with no retries left, an interrupted run fails saying so", async () => {
    const rt = new MemoryRuntime(() => ({ hang: true }));
    const { runner, ledger, batch } = setup([spec("a")], rt, { retries: 0 }, "dead-process");
    await runner.drive(Date.now());
    const recovered = new BatchRunner(ledger.load(batch.batchId)!, { runtime: new MemoryRuntime(), ledger, owner: "new" });
    await recovered.recoverInterrupted();
    expect(labelsOf(recovered)).toEqual({ a: "failed" });
    expect(recovered.batch.runs[0].error).toMatch(/gateway restarted/);
  });
});
