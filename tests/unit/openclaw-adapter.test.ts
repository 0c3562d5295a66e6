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
});
