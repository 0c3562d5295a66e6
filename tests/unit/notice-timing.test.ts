// The batch ends when its last result is committed: the completion notice goes out then, and the
// finished children's session deletes (housekeeping) continue afterwards without holding it up.
import { describe, expect, it } from "vitest";
import type { Notifier } from "../../src/engine/notice.js";
import { MemoryRuntime } from "../support/memory-runtime.js";
import { batchOf, engineOn, spec, tempDir } from "../support/batch.js";

describe("the notice does not wait for housekeeping", () => {
  it("is handed over while every session delete is still pending, and the engine logs where the time went", async () => {
    const rt = new MemoryRuntime(() => ({ delayMs: 5 }));
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const stop = rt.stop.bind(rt);
    rt.stop = async (sessionKey: string) => {
      await gate; // a host that takes its time deleting sessions
      return stop(sessionKey);
    };
    const sent: string[] = [];
    let notified!: () => void;
    const told = new Promise<void>((resolve) => (notified = resolve));
    const notifier: Notifier = { notify: async (target) => (sent.push(target.batchId), notified(), "test-route") };
    const lines: string[] = [];
    const engine = engineOn(tempDir(), rt, { notifier, log: (l) => lines.push(l) });
    const batch = { ...batchOf(["a", "b", "c"].map((l) => spec(l)), { maxConcurrency: 3 }), notify: true };
    engine.submit(batch);
    const bound = new Promise<string>((resolve) => setTimeout(() => resolve("timed out"), 3_000));
    expect(await Promise.race([told.then(() => "told"), bound])).toBe("told");
    expect(sent).toEqual([batch.batchId]);
    expect(rt.stops).toEqual([]); // not one delete has finished
    await new Promise((r) => setTimeout(r, 20));
    expect(lines.find((l) => l.includes(`batch ${batch.batchId} ended:`))).toMatch(/host wait returned \S+Z, committed \+\d+ ms, notice handed over \+\d+ ms$/);
    openGate();
    await engine.stop();
  });
});
