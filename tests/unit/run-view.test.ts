// How a run reads in a tool result while its stop is carried out: the stop is final once recorded,
// so the view says the run is stopping until the child has really stopped and the run is terminal.
import { describe, expect, it } from "vitest";
import type { RunRecord } from "../../src/batch/types.js";
import { runView } from "../../src/tools/render-result.js";
import { spec } from "../support/batch.js";

const attempt = { n: 1, model: "fake/cheap", sessionKey: "s", owner: "o", startedAt: 1, tokens: 0, usage: { inputTokens: 0, outputTokens: 0 }, costUsd: 0 };

describe("runView", () => {
  it("a running run whose cancel is recorded says it is stopping as cancelled", () => {
    const run: RunRecord = { spec: spec("slow"), state: "running", attempts: [attempt], stop: { outcome: "cancelled", reason: "cancelled by parallel_cancel", at: 2 } };
    expect(runView(run)).toMatchObject({ state: "running", stopping: "cancelled" });
  });

  it("a run that ended, or that nobody stopped, says nothing of stopping", () => {
    const ended: RunRecord = { spec: spec("slow"), state: "cancelled", attempts: [{ ...attempt, outcome: "cancelled" }], stop: { outcome: "cancelled", reason: "x", at: 2 } };
    const running: RunRecord = { spec: spec("fast"), state: "running", attempts: [attempt] };
    expect(runView(ended)).not.toHaveProperty("stopping");
    expect(runView(running)).not.toHaveProperty("stopping");
  });
});
