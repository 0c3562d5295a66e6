// Roles and teams in the real gateway: research_team returns schema-valid JSON per topic and a synthesis
// that names every failed lane, the code-review team returns three reviews, and the skill is listed.
import { describe, expect, it } from "vitest";
import { byLabel, call, pluginGateway } from "./support/plugin-calls.js";
import { useGateway } from "./support/use-gateway.js";

const gw = useGateway(pluginGateway("teams"));
const fake = () => gw().fake!;

const research = (topic: string) =>
  JSON.stringify({
    topic,
    summary: `What we know about ${topic}.`,
    findings: [{ claim: `${topic} matters`, evidence: "measured", sources: ["https://example.org/a"] }],
    confidence: 0.7,
    openQuestions: [],
  });
/** Researcher prompts carry their topic inside <topic> tags; the synthesis prompt never does. */
const topicRule = (topic: string, behaviour: object) => ({ subagent: true, match: `<topic>\n${topic}\n</topic>`, ...behaviour });

describe("teams", () => {
  it("research_team on 3 topics returns 3 schema-valid results and a synthesis", async () => {
    const topics = ["Solar Alpha", "Wind Beta", "Tidal Gamma"];
    fake().script([
      { subagent: true, match: "synthesis editor", reply: "SYNTHESIS: all three lanes agree." },
      ...topics.map((t) => topicRule(t, { reply: `Here is my report:\n\`\`\`json\n${research(t)}\n\`\`\`` })),
    ]);
    const { details, text } = await call(gw(), "research_team", { topics, brief: "Compare renewables", waitSeconds: 120 });
    fake().reset();
    const d = details as unknown as { results: { topic: string; state: string; data: any }[]; failed: unknown[]; synthesis: { state: string; output: string }; complete: boolean };
    expect(d.complete).toBe(true);
    expect(d.results.map((r) => [r.topic, r.state, r.data?.topic])).toEqual(topics.map((t) => [t, "ok", t]));
    expect(d.results[0].data).toEqual(JSON.parse(research("Solar Alpha")));
    expect(d.failed).toEqual([]);
    expect(d.synthesis).toMatchObject({ state: "ok", output: "SYNTHESIS: all three lanes agree." });
    expect(text).toContain("3/3 lanes ok");
  });

  it("with one topic's model always failing, the other two come back and the synthesis is told which lane failed", async () => {
    const topics = ["Solar Alpha", "Broken Delta", "Wind Beta"];
    fake().script([
      { subagent: true, match: "synthesis editor", reply: "SYNTHESIS with a gap." },
      topicRule("Broken Delta", { error: 400 }),
      ...["Solar Alpha", "Wind Beta"].map((t) => topicRule(t, { reply: research(t) })),
    ]);
    const { details, text } = await call(gw(), "research_team", { topics, retries: 1, waitSeconds: 120 });
    const synthesisPrompt = fake().requests((q) => q.lastUser.includes("synthesis editor")).at(-1)?.lastUser ?? "";
    fake().reset();
    const d = details as unknown as { results: { topic: string; state: string; attempts: { outcome: string }[] }[]; failed: { topic: string; label: string }[]; synthesis: { state: string } };
    expect(d.results.map((r) => [r.topic, r.state])).toEqual([["Solar Alpha", "ok"], ["Broken Delta", "failed"], ["Wind Beta", "ok"]]);
    expect(d.results[1].attempts.map((a) => a.outcome)).toEqual(["provider_error", "provider_error"]);
    expect(d.failed).toMatchObject([{ topic: "Broken Delta", label: "topic-2" }]);
    expect(d.synthesis.state).toBe("ok");
    expect(synthesisPrompt).toContain("Broken Delta"); // the synthesis input names the failed lane...
    expect(synthesisPrompt).toContain("What we know about Wind Beta."); // ...and carries the good ones as data
    expect(text).toMatch(/2\/3 lanes ok\.\nFailed or missing lanes: topic-2 \(failed\)/);
  });

  it("the code-review team returns three reviews, one per focus", async () => {
    fake().script([
      { subagent: true, match: "Quality:", reply: "QUALITY REVIEW: rename add()." },
      { subagent: true, match: "Security:", reply: "SECURITY REVIEW: nothing exploitable." },
      { subagent: true, match: "Performance:", reply: "PERFORMANCE REVIEW: O(1)." },
    ]);
    const { details } = await call(gw(), "parallel_spawn", { team: "code-review", vars: { code: "function add(a, b) { return a - b }" }, waitSeconds: 120 });
    fake().reset();
    const runs = byLabel(details);
    expect(Object.keys(runs)).toEqual(["quality", "security", "performance"]);
    expect(runs.quality).toMatchObject({ state: "ok", output: "QUALITY REVIEW: rename add().", model: "fake/mid" });
    expect(runs.security.output).toBe("SECURITY REVIEW: nothing exploitable.");
    expect(runs.performance.output).toBe("PERFORMANCE REVIEW: O(1).");
  });

  it("the skill ships with the plugin and shows in `openclaw skills list`", async () => {
    const r = await gw().cli(["skills", "list"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("parallel-agents");
  });

  it("never left loopback", () => gw().assertNoEgress());
});
