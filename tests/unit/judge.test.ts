// How one finished attempt is judged from the host's wait result and the child's transcript.
import { describe, expect, it } from "vitest";
import { judgeAttempt } from "../../src/batch/judge.js";
import type { Transcript } from "../../src/runtime/port.js";

const keep = (t: string) => t;
const transcript = (extra: Partial<Transcript> = {}): Transcript => ({ usage: { inputTokens: 1, outputTokens: 1 }, ...extra });
const schema = { type: "object", properties: { n: { type: "integer" } }, required: ["n"] };

describe("judging a finished attempt", () => {
  it("a host error keeps the provider's own words from the transcript and is classified", () => {
    const v = judgeAttempt({ state: "error", error: "LLM request failed" }, transcript({ failure: "429 rate limited" }), undefined, keep);
    expect(v).toEqual({ kind: "done", outcome: "rate_limit", reason: "LLM request failed (429 rate limited)" });
  });

  it("an invisible or blank reply is an empty output", () => {
    expect(judgeAttempt({ state: "ok", visible: false }, transcript(), undefined, keep)).toMatchObject({ outcome: "empty_output" });
    expect(judgeAttempt({ state: "ok", text: "  \n", visible: true }, transcript(), undefined, keep)).toMatchObject({ outcome: "empty_output" });
  });

  it("without a contract any visible text is ok; the transcript's text is used when the wait carried none", () => {
    expect(judgeAttempt({ state: "ok", visible: true }, transcript({ finalText: "from transcript" }), undefined, keep)).toEqual({ kind: "done", outcome: "ok", output: "from transcript" });
  });

  it("a reply the host capped (4,096 characters ending in …) is taken whole from the transcript", () => {
    const whole = `${"r".repeat(30_000)} THE END`;
    const capped = `${whole.slice(0, 4_095)}…`;
    expect(judgeAttempt({ state: "ok", text: capped, visible: true }, transcript({ finalText: whole }), undefined, keep)).toMatchObject({ outcome: "ok", output: whole });
    // Not capped, or no longer transcript: the host's text stands.
    expect(judgeAttempt({ state: "ok", text: "short…", visible: true }, transcript({ finalText: "short… and a different tail" }), undefined, keep)).toMatchObject({ output: "short…" });
    expect(judgeAttempt({ state: "ok", text: capped, visible: true }, transcript({ finalText: "other" }), undefined, keep)).toMatchObject({ output: capped });
  });

  it("with a contract, repairable JSON is accepted and says so; broken JSON asks for a correction", () => {
    const fixed = judgeAttempt({ state: "ok", text: "```json\n{\"n\": 3,}\n```", visible: true }, transcript(), schema, keep);
    expect(fixed).toMatchObject({ kind: "done", outcome: "ok", json: { n: 3 }, reason: "JSON repaired locally" });
    const wrong = judgeAttempt({ state: "ok", text: '{"n": "three"}', visible: true }, transcript(), schema, keep);
    expect(wrong).toMatchObject({ kind: "contract", outcome: "schema_violation", output: '{"n": "three"}' });
  });

  it("redacts the output it accepts", () => {
    const redact = (t: string) => t.replaceAll("SECRET", "[redacted]");
    expect(judgeAttempt({ state: "ok", text: "x SECRET", visible: true }, transcript(), undefined, redact)).toMatchObject({ output: "x [redacted]" });
  });
});
