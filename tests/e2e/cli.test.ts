// `openclaw parallel-agents status|show|cancel|doctor` against a real gateway: the CLI is the host's own
// binary (gw().cli), our commands reach the gateway's methods, and --json is machine-readable. Also the
// `/parallel-agents` chat command, sent the way webchat sends a message (the gateway's chat.send).
import { describe, expect, it } from "vitest";
import { byLabel, call, chatCommand, pluginGateway } from "./support/plugin-calls.js";
import { sleep, useGateway } from "./support/use-gateway.js";

const gw = useGateway(pluginGateway("cli"));

async function cli(args: string[], code = 0, env?: Record<string, string>) {
  const r = await gw().cli(["parallel-agents", ...args], { timeoutMs: 90_000, env });
  expect(r.code, `${args.join(" ")}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(code);
  return r;
}

/** The JSON document a --json command printed (stdout is reserved for it). */
async function json(args: string[]) {
  const r = await cli([...args, "--json"]);
  try {
    return JSON.parse(r.stdout.slice(r.stdout.indexOf("{")));
  } catch {
    throw new Error(`not JSON: ${r.stdout}\nstderr: ${r.stderr}`);
  }
}

describe("operator CLI", () => {
  let batchId = "";

  it("status lists an open batch with counts; the table names it", async () => {
    const { details } = await call(gw(), "parallel_spawn", {
      tasks: [
        { label: "fast", task: "fast [[reply:X]]" },
        { label: "slow", task: "slow [[delay:240000]] [[reply:Y]]" },
      ],
      waitSeconds: 0,
    });
    batchId = details.batchId;
    // The fast one done, the slow one running.
    await gw().fake!.waitFor((log) => log.some((q) => q.sessionKey?.includes(batchId) && q.reply.text === "X" && q.endedAt) && log.some((q) => q.sessionKey?.includes(batchId) && q.lastUser.includes("slow ")), { timeoutMs: 30_000 });
    // The engine records "ok" once the host has ended the child's run, which can take seconds after the model answered.
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(500)) {
      const { details: now } = await call(gw(), "poll_until_complete", { batchId, timeoutSeconds: 0 });
      if (byLabel(now).fast.state === "ok") break;
    }
    const [s, table] = await Promise.all([json(["status"]), cli(["status"], 0, { PA_CLI_DEBUG: "1" })]);
    process.stderr.write(`[e2e] status stderr: ${table.stderr.trim()}\n`);
    expect(s.source).toBe("gateway");
    const b = s.batches.find((x: { batchId: string }) => x.batchId === batchId);
    expect(b, JSON.stringify(s)).toMatchObject({ agentId: "main", open: true, complete: false, runs: 2, counts: { ok: 1, running: 1 } });
    expect(typeof b.tokens).toBe("number");
    expect(typeof b.costUsd).toBe("number");
    expect(table.stdout).toContain(batchId);
    expect(table.stdout).toMatch(/BATCH\s+AGENT\s+STATE/);
  });

  it("show has both runs with their attempts", async () => {
    const [v, table] = await Promise.all([json(["show", batchId]), cli(["show", batchId])]);
    expect(v.batchId).toBe(batchId);
    const runs = Object.fromEntries(v.runs.map((r: { label: string }) => [r.label, r]));
    expect(runs.fast).toMatchObject({ state: "ok" });
    expect(runs.fast.attempts[0]).toMatchObject({ outcome: "ok" });
    expect(runs.slow).toMatchObject({ state: "running" });
    expect(runs.slow.attempts[0]).toMatchObject({ outcome: "running" });
    expect(table.stdout).toContain(batchId);
    expect(table.stdout).toMatch(/LABEL\s+STATE\s+MODEL\s+ATTEMPTS/);
    expect(table.stdout).toContain("fast");
  });

  it("/parallel-agents status typed in a chat (chat.send) answers without a model turn, with that agent's batches only", async () => {
    const { details: theirs } = await call(gw(), "parallel_spawn", { tasks: [{ label: "theirs", task: "theirs [[reply:T]]" }], waitSeconds: 60 }, "agent:other:main");
    const sessionKey = "agent:main:cmd";
    const reply = await chatCommand(gw(), sessionKey, "/parallel-agents status", "open batch");
    expect(reply).toMatch(/parallel-agents: 1 open batch, 1 shown/);
    expect(reply).toContain(batchId); // this agent's open batch
    expect(reply).not.toContain(theirs.batchId); // no agent sees another agent's work
    expect(gw().fake!.requests((q) => q.sessionKey === sessionKey)).toEqual([]); // answered without a model turn
  });

  it("cancel stops the slow run; show then reports it cancelled", async () => {
    const c = await json(["cancel", batchId]);
    expect(c.stopped).toEqual(["slow"]);
    let slow: { state: string } | undefined;
    for (let i = 0; i < 40; i++) {
      const v = await json(["show", batchId]);
      slow = v.runs.find((r: { label: string }) => r.label === "slow");
      if (slow?.state === "cancelled") break;
      await sleep(500);
    }
    expect(slow?.state).toBe("cancelled");
    const again = await cli(["cancel", batchId]);
    expect(again.stdout).toContain(batchId);
    expect(again.stdout).toMatch(/Nothing to stop/);
  });

  it("doctor reports the store, usable rungs, allowModelOverride and the host's sub-agent limit", async () => {
    const [d, table] = await Promise.all([json(["doctor"]), cli(["doctor"])]);
    expect(d.source).toBe("gateway");
    expect(d.store).toMatchObject({ ok: true, path: `${gw().dirs.state}/plugins/parallel-agents/batches.sqlite` });
    expect(d.store.batches).toBeGreaterThanOrEqual(1);
    expect(d.ladder.map((r: { model: string; usable: boolean }) => [r.model, r.usable])).toEqual([
      ["fake/cheap", true],
      ["fake/mid", true],
      ["fake/strong", true],
    ]);
    expect(d.allowModelOverride).toBe(true);
    expect(d.notify).toBe("auto");
    expect(d.hostSubagentMaxConcurrent.value).toBeGreaterThan(0);
    expect(table.stdout).toContain("fake/cheap");
    expect(table.stdout).toContain("allowModelOverride: true");
  });

  it("show of an unknown batch fails with a message", async () => {
    const r = await cli(["show", "pa-nope"], 1);
    expect(r.stderr).toMatch(/no batch pa-nope/);
  });
});
