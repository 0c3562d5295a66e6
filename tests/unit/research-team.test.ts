import { describe, expect, it } from "vitest";
import { fakeHost } from "../support/fake-host.js";

const research = (topic: string) =>
  JSON.stringify({ topic, summary: `about ${topic}`, findings: [{ claim: "c", evidence: "e", sources: ["s"] }], confidence: 0.8, openQuestions: [] });

describe("research_team", () => {
  it("returns one schema-valid result per topic and a synthesis fed with them as data", async () => {
    const host = await fakeHost({
      script: (req) => {
        if (/synthesis editor/i.test(req.message)) return { reply: "SYNTHESIS: all lanes agree" };
        const topic = /alpha|beta|gamma/.exec(req.message)?.[0] ?? "?";
        return { reply: research(topic) };
      },
    });
    const res = await host.call("research_team", { topics: ["alpha", "beta", "gamma"], brief: "compare" });
    const d = res.details;
    expect(d.results.map((r: any) => [r.topic, r.state, r.data.summary])).toEqual([
      ["alpha", "ok", "about alpha"],
      ["beta", "ok", "about beta"],
      ["gamma", "ok", "about gamma"],
    ]);
    expect(d.failed).toEqual([]);
    expect(d.synthesis).toMatchObject({ state: "ok", output: "SYNTHESIS: all lanes agree" });
    const synthPrompt = host.memory.runs.find((r) => /synthesis editor/i.test(r.req.message))!.req.message;
    expect(synthPrompt).toContain("about beta");
    expect(synthPrompt).toMatch(/untrusted-data/);
  });

  it("when one topic's model always fails, the others come back and the synthesis input names the failed lane", async () => {
    const host = await fakeHost({
      script: (req) => {
        if (/synthesis editor/i.test(req.message)) return { reply: "SYNTHESIS" };
        if (req.message.includes("beta")) return { error: "HTTP 400 model refused" };
        return { reply: research(/alpha|gamma/.exec(req.message)![0]) };
      },
    });
    const { details: d } = await host.call("research_team", { topics: ["alpha", "beta", "gamma"], retries: 1 });
    expect(d.results.map((r: any) => r.state)).toEqual(["ok", "failed", "ok"]);
    expect(d.failed).toEqual([expect.objectContaining({ topic: "beta", label: "topic-2", state: "failed" })]);
    const synthPrompt = host.memory.runs.find((r) => /synthesis editor/i.test(r.req.message))!.req.message;
    expect(synthPrompt).toContain("topic-2");
    expect(synthPrompt).toMatch(/model refused/);
  });

  it("lenses multiply lanes: one researcher per topic and lens", async () => {
    const host = await fakeHost({ script: (req) => ({ reply: research("x") }) });
    const { details: d } = await host.call("research_team", { topics: ["a", "b"], lenses: ["critical", "evidence"], synthesize: false });
    expect(d.results.map((r: any) => r.label)).toEqual(["topic-1-critical", "topic-1-evidence", "topic-2-critical", "topic-2-evidence"]);
    expect(d.synthesis).toBeUndefined();
  });
});

describe("team presets", () => {
  it("code-review expands into three reviewers (quality, security, performance)", async () => {
    const host = await fakeHost({ script: (req) => ({ reply: `review: ${/quality|security|performance/i.exec(req.message)?.[0]}` }) });
    const { details } = await host.call("parallel_spawn", { team: "code-review", vars: { code: "function f() {}" }, waitSeconds: 10 });
    expect(details.runs.map((r: any) => [r.label, r.state])).toEqual([
      ["quality", "ok"],
      ["security", "ok"],
      ["performance", "ok"],
    ]);
    expect(host.memory.runs[0].req.message).toContain("function f() {}");
  });
});
