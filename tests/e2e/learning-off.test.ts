// `adaptiveLadder: false` in the plugin config: researcher runs that keep failing on fake/cheap do not
// move the next ones up — they start on fake/cheap, no note says otherwise, and doctor reports it off.
import { describe, expect, it } from "vitest";
import { type Details, call, pluginGateway } from "./support/plugin-calls.js";
import { useGateway } from "./support/use-gateway.js";

const gw = useGateway(pluginGateway("learning-off", { pluginConfig: { adaptiveLadder: false, maxConcurrency: 6 } }));
const RESEARCH = JSON.stringify({ topic: "t", summary: "s", findings: [{ claim: "c", evidence: "e", sources: ["s"] }], confidence: 0.8, openQuestions: [] });
const researchers = (tag: string, n: number) => ({
  tasks: Array.from({ length: n }, (_, i) => ({ role: "researcher", vars: { topic: `OFF ${tag} topic ${i}` }, label: `${tag}-${i}` })),
  waitSeconds: 240,
});
const starts = (d: Details) => d.runs.map((r) => r.attempts[0].model);

describe("adaptiveLadder: false", () => {
  it("six researcher runs failing on fake/cheap leave the next ones on fake/cheap", async () => {
    gw().fake!.script([
      { name: "cheap-fails", model: "fake/cheap", subagent: true, match: "OFF", reply: "prose, not JSON" },
      { name: "cheap-fails-again", model: "fake/cheap", subagent: true, match: "Your previous answer cannot be used", reply: "still prose" },
      { name: "research-json", subagent: true, match: "OFF", reply: RESEARCH },
    ]);
    const first = await call(gw(), "parallel_spawn", researchers("first", 6));
    expect(first.details.runs.map((r) => r.attempts.map((a) => a.model))).toEqual(Array(6).fill(["fake/cheap", "fake/mid"]));
    const { details } = await call(gw(), "parallel_spawn", researchers("next", 3));
    expect(starts(details)).toEqual(["fake/cheap", "fake/cheap", "fake/cheap"]);
    expect((details.notes ?? []).some((n) => / starts on /.test(n))).toBe(false);
  });

  it("doctor says the adaptive ladder is off and lists no learned start", async () => {
    const r = await gw().cli(["parallel-agents", "doctor", "--json"], { timeoutMs: 240_000 });
    expect(r.code, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout.slice(r.stdout.indexOf("{")));
    expect(d.adaptiveLadder).toBe(false);
    expect(d.learnedStarts).toEqual([]);
  });

  it("never left loopback", () => gw().assertNoEgress());
});
