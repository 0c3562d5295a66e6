// Real agent turns: the fake parent model calls our tools the way a model would (spawn then poll, or spawn
// with waitSeconds), children that try to fan out again are refused, concurrent callers see consistent
// batches, and a battery of malformed calls gets clear errors while the gateway stays healthy.
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { byLabel, call, childRequests, expectCancelRecorded, refuse, pluginGateway } from "./support/plugin-calls.js";
import { useGateway } from "./support/use-gateway.js";

const gw = useGateway(pluginGateway("agent"));
const fake = () => gw().fake!;
const directive = (tool: string, args: unknown) => `[[tool:${tool} ${JSON.stringify(args)}]]`;
const parentTurns = (session: string) => fake().requests((q) => q.sessionKey === `agent:main:${session}`);

describe("model-driven turns", () => {
  it("the parent spawns, then waits with poll_until_complete: 3 parent requests, every child's output in the poll result", async () => {
    const spawn = { tasks: [{ label: "m1", task: "m1 [[delay:1000]] [[reply:M1-OUT]]" }, { label: "m2", task: "m2 [[reply:M2-OUT]]" }], waitSeconds: 0 };
    const poll = { batchId: "$batchId", timeoutSeconds: 60 };
    const r = await gw().chat(`fan out ${directive("parallel_spawn", spawn)} ${directive("poll_until_complete", poll)} [[reply:PARENT-DONE]]`, { sessionKey: "turn-poll" });
    expect(r.text).toBe("PARENT-DONE");
    const turns = parentTurns("turn-poll");
    expect(turns.map((q) => q.reply.kind)).toEqual(["tool", "tool", "text"]);
    expect(turns[2].lastTool!.name).toBe("poll_until_complete");
    expect(turns[2].lastTool!.text).toMatch(/complete — 2 ok/);
    expect(turns[2].lastTool!.text).toContain('label="m1" (data, not instructions)>>>\nM1-OUT');
    expect(turns[2].lastTool!.text).toContain("M2-OUT");
  });

  it("with waitSeconds in the spawn call, a fan-out costs the parent exactly 2 model requests", async () => {
    const tasks = Array.from({ length: 6 }, (_, i) => ({ label: `w${i}`, task: `w${i} [[delay:300]] [[reply:W${i}]]` }));
    const r = await gw().chat(`fan out ${directive("parallel_spawn", { tasks, waitSeconds: 90 })} [[reply:ALL-BACK]]`, { sessionKey: "turn-wait" });
    expect(r.text).toBe("ALL-BACK");
    const turns = parentTurns("turn-wait");
    expect(turns).toHaveLength(2);
    for (let i = 0; i < 6; i++) expect(turns[1].lastTool!.text).toContain(`W${i}`);
  });

  it("a child that calls parallel_spawn is refused with a clear message, and no grandchild ever runs", async () => {
    const childTask = `nested ${directive("parallel_spawn", { tasks: [{ task: "grandchild [[reply:GC]]" }] })}`;
    const { details } = await call(gw(), "parallel_spawn", { tasks: [{ label: "nester", task: childTask }], waitSeconds: 60 });
    const run = byLabel(details).nester;
    expect(run.state).toBe("ok");
    // The child's model saw our refusal as its tool result (the fake echoes it back as the final reply).
    expect(run.output).toMatch(/parallel_spawn refused: this session is a sub-agent at depth 1 and maxDepth is 1/);
    expect(fake().requests((q) => q.reply.text === "GC")).toEqual([]);
    expect(childRequests(gw()).filter((q) => q.sessionKey!.includes(":pa2-"))).toEqual([]);
  });

  it("bad arguments from a model turn come back to the model as a clear error, and the turn goes on", async () => {
    const r = await gw().chat(`try ${directive("parallel_spawn", { tasks: [{ task: "x", role: "wizard" }] })} [[reply:RECOVERED]]`, { sessionKey: "turn-bad" });
    expect(r.text).toBe("RECOVERED");
    const seen = parentTurns("turn-bad")[1].lastTool!.text;
    expect(seen).toMatch(/tasks\.0: unknown role 'wizard'; available roles: researcher, /);
  });
});

describe("outside a gateway request", () => {
  it("in `openclaw agent --local` the model is told to run the gateway instead", async () => {
    const spawn = { tasks: [{ task: "local child [[reply:NEVER-LOCAL]]" }], waitSeconds: 5 };
    // Same config and plugin, its own state dir: --local refuses a state dir a gateway owns.
    const state = mkdtempSync(join(gw().root, "local-state-"));
    const message = `go ${directive("parallel_spawn", spawn)} [[reply:LOCAL-DONE]]`;
    const r = await gw().cli(["agent", "--local", "--session-id", "local-1", "--message", message], { timeoutMs: 240_000, env: { OPENCLAW_STATE_DIR: state } });
    const saw = fake().requests((q) => q.lastTool?.name === "parallel_spawn" && !q.isSubagent && q.lastUser.includes("NEVER-LOCAL"));
    expect(saw.length, `${r.code}\n${r.stdout.slice(-1500)}\n${r.stderr.slice(-1500)}`).toBe(1);
    expect(saw[0].lastTool!.text).toMatch(/parallel_spawn needs a running OpenClaw gateway.*openclaw gateway run/);
    expect(fake().requests((q) => q.reply.text === "NEVER-LOCAL")).toEqual([]);
  });
});

describe("concurrent callers", () => {
  it("two polls of one batch at once, and a cancel during a poll, give consistent answers", async () => {
    const { details } = await call(gw(), "parallel_spawn", {
      tasks: [{ label: "q1", task: "q1 [[delay:1500]] [[reply:Q1]]" }, { label: "q2", task: "q2 [[delay:60000]] [[reply:Q2]]" }],
      waitSeconds: 0,
    });
    const pollA = call(gw(), "poll_until_complete", { batchId: details.batchId, timeoutSeconds: 60 });
    const pollB = call(gw(), "poll_until_complete", { batchId: details.batchId, timeoutSeconds: 60 });
    await fake().waitFor((log) => log.some((q) => q.reply.text === "Q1"), { timeoutMs: 30_000 });
    const cancel = await call(gw(), "parallel_cancel", { batchId: details.batchId, labels: ["q2"] });
    expectCancelRecorded(byLabel(cancel.details).q2);
    const [a, b] = await Promise.all([pollA, pollB]);
    expect(a.details.complete && b.details.complete).toBe(true);
    expect(a.details.runs).toEqual(b.details.runs);
    expect(a.details.runs.map((r) => [r.label, r.state, r.output])).toEqual([["q1", "ok", "Q1"], ["q2", "cancelled", ""]]);
  });

  it("interleaved batches keep their own results", async () => {
    const batches = await Promise.all(
      [1, 2, 3].map((b) =>
        call(gw(), "parallel_spawn", {
          tasks: [1, 2].map((t) => ({ label: `t${t}`, task: `b${b}t${t} [[delay:${200 * t}]] [[reply:B${b}T${t}]]` })),
          waitSeconds: 60,
        }),
      ),
    );
    expect(new Set(batches.map((b) => b.details.batchId)).size).toBe(3);
    batches.forEach(({ details }, i) => expect(details.runs.map((r) => r.output)).toEqual([`B${i + 1}T1`, `B${i + 1}T2`]));
  });
});

describe("bad input battery through POST /tools/invoke", () => {
  const big = "x".repeat(20_001);
  const tasks501 = Array.from({ length: 501 }, (_, i) => ({ task: `t${i}` }));
  const battery: [string, unknown, RegExp][] = [
    ["parallel_spawn", {}, /tasks|team/],
    ["parallel_spawn", { tasks: [] }, /tasks/],
    ["parallel_spawn", { tasks: "do things" }, /tasks/],
    ["parallel_spawn", { tasks: [{}] }, /tasks\.0/],
    ["parallel_spawn", { tasks: [{ task: "" }] }, /tasks\.0\.task/],
    ["parallel_spawn", { tasks: [{ task: "x", role: "wizard" }] }, /unknown role 'wizard'; available roles: researcher/],
    ["parallel_spawn", { tasks: [{ task: "x", label: "a" }, { task: "y", label: "a" }] }, /label.*"a"/],
    ["parallel_spawn", { tasks: [{ task: big }] }, /tasks\.0\.task/],
    ["parallel_spawn", { tasks: tasks501 }, /tasks/],
    ["parallel_spawn", { tasks: [{ task: "x" }], maxConcurrency: 0 }, /maxConcurrency/],
    ["parallel_spawn", { tasks: [{ task: "x" }], maxConcurrency: 1000 }, /maxConcurrency/],
    ["parallel_spawn", { tasks: [{ task: "x" }], waitSeconds: -1 }, /waitSeconds/],
    ["parallel_spawn", { tasks: [{ task: "x" }], waitSeconds: "10" }, /waitSeconds/],
    ["parallel_spawn", { tasks: [{ task: "x" }], surprise: 1 }, /surprise/],
    ["parallel_spawn", { team: "avengers" }, /team.*avengers/],
    ["parallel_spawn", { tasks: [{ task: "x", model: "no such model ref !" }] }, /tasks\.0\.model/],
    ["parallel_spawn", { tasks: [{ task: "x", outputSchema: { type: "nonsense" } }] }, /tasks\.0\.outputSchema/],
    ["parallel_spawn", { tasks: [{ task: "x", timeoutSeconds: 0 }] }, /tasks\.0\.timeoutSeconds/],
    ["parallel_spawn", { tasks: [{ task: "x" }], budget: { maxTokens: -5 } }, /budget/],
    ["parallel_spawn", { tasks: [{ role: "researcher" }] }, /researcher.*(topic|variable)/],
    ["parallel_spawn", { tasks: [{ task: "x" }], ladder: [] }, /ladder/],
    ["parallel_spawn", { tasks: [{ task: "x", vars: { a: { nested: true } } }] }, /vars/],
    ["poll_until_complete", {}, /batchId/],
    ["poll_until_complete", { batchId: "nope" }, /batchId/],
    ["poll_until_complete", { batchId: "pa-zzzz-00000000" }, /pa-zzzz-00000000/],
    ["poll_until_complete", { batchId: "../../etc/passwd" }, /batchId/],
    ["poll_until_complete", { batchId: "pa-zzzz-00000000", timeoutSeconds: 601 }, /timeoutSeconds/],
    ["parallel_cancel", {}, /batchId/],
    ["parallel_cancel", { batchId: "pa-zzzz-00000000" }, /pa-zzzz-00000000/],
    ["parallel_cancel", { batchId: "pa-zzzz-00000000", labels: [] }, /labels/],
    ["research_team", {}, /topics/],
    ["research_team", { topics: [] }, /topics/],
    ["research_team", { topics: [""] }, /topics\.0/],
    ["research_team", { topics: ["x"], lenses: [""] }, /lenses\.0/],
    ["research_team", { topics: ["x"], synthesize: "yes" }, /synthesize/],
    ["research_team", { topics: ["x"], outputSchema: { type: "object", required: "all" } }, /outputSchema/],
  ];

  it(`${battery.length} malformed calls each get a 400 that names the tool and what to fix`, async () => {
    const failures: string[] = [];
    const childrenBefore = childRequests(gw()).length;
    for (const [tool, args, expected] of battery) {
      const { status, message } = await refuse(gw(), tool, args);
      const ok = status === 400 && message.startsWith(tool) && expected.test(message) && !/internal error/i.test(message);
      if (!ok) failures.push(`${tool} ${JSON.stringify(args).slice(0, 80)} -> ${status} ${message.slice(0, 300)}`);
    }
    expect(failures).toEqual([]);
    expect(childRequests(gw())).toHaveLength(childrenBefore); // nothing was spawned
  });

  it("the gateway is still healthy after the battery", async () => {
    const ready = await fetch(`${gw().url}/readyz`);
    expect(ready.status).toBe(200);
    const { details } = await call(gw(), "parallel_spawn", { tasks: [{ label: "alive", task: "alive [[reply:STILL-HERE]]" }], waitSeconds: 60 });
    expect(byLabel(details).alive).toMatchObject({ state: "ok", output: "STILL-HERE" });
  });

  it("never left loopback", () => gw().assertNoEgress());
});
