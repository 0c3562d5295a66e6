// Reading what the host recorded: the transcript's usage, final text and the model that answered.
import { describe, expect, it } from "vitest";
import { readTranscript } from "../../src/runtime/openclaw-adapter.js";

const assistant = (extra: Record<string, unknown>) => ({ role: "assistant", content: [{ type: "text", text: "hi" }], provider: "fake", model: "cheap", usage: { input: 10, output: 2 }, ...extra });

describe("readTranscript", () => {
  it("sums usage over the session's replies and takes the last text", () => {
    const t = readTranscript([{ role: "user", content: "q" }, assistant({}), assistant({ content: "final", usage: { prompt_tokens: 5, completion_tokens: 1 } })]);
    expect(t).toMatchObject({ finalText: "final", modelUsed: "fake/cheap", usage: { inputTokens: 15, outputTokens: 3 } });
  });

  it("names the model the provider says answered, when it differs from the one OpenClaw asked for", () => {
    expect(readTranscript([assistant({ responseModel: "mid" })]).modelUsed).toBe("fake/mid");
  });

  it("counts the host's cache reads and writes apart from plain input, summed over replies", () => {
    const t = readTranscript([
      assistant({ usage: { input: 10, output: 2, cacheRead: 100, cacheWrite: 40 } }),
      assistant({ usage: { input: 1, output: 1, cacheRead: 50, cacheWrite: 0 } }),
    ]);
    expect(t.usage).toEqual({ inputTokens: 11, outputTokens: 3, cacheReadTokens: 150, cacheWriteTokens: 40 });
    expect(readTranscript([assistant({})]).usage).toEqual({ inputTokens: 10, outputTokens: 2 });
  });

  it("keeps the host's own cost figure; a zero is trusted only when the provider billed it (the host default-fills zero rates)", () => {
    const cost = (total: unknown, totalOrigin?: string) => assistant({ usage: { input: 1, output: 1, cost: { total, ...(totalOrigin ? { totalOrigin } : {}) } } });
    expect(readTranscript([cost(0.25), cost(0.5)]).hostCostUsd).toBe(0.75);
    expect(readTranscript([cost(0)]).hostCostUsd).toBeUndefined();
    expect(readTranscript([cost(0, "provider-billed")]).hostCostUsd).toBe(0);
    expect(readTranscript([cost(-1)]).hostCostUsd).toBeUndefined();
    expect(readTranscript([cost("0.5")]).hostCostUsd).toBeUndefined();
    expect(readTranscript([assistant({})]).hostCostUsd).toBeUndefined();
  });
});
