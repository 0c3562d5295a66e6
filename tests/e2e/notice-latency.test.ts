// How soon the requester hears that a batch ended: a model turn spawns 5 children with waitSeconds 0
// and ends; the notified turn must start within 2.5 s of the last child's answer (median of 3). The
// engine's log line splits the gap: the host's lifecycle end, its wait returning, our commit, the
// notice handed over. OpenClaw's default heartbeat cadence here (the fixture's "0m" switches wakes off).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { listedSessions, pluginGateway, sessionsGone } from "./support/plugin-calls.js";
import { useGateway } from "./support/use-gateway.js";

const gw = useGateway({ ...pluginGateway("notice"), config: { agents: { defaults: { heartbeat: { every: "30m" } } } }, readyTimeoutMs: 300_000 });
const fake = () => gw().fake!;
const directive = (tool: string, args: unknown) => `[[tool:${tool} ${JSON.stringify(args)}]]`;
/** The full request body the fake model received, as JSON text. */
function requestBody(seq: number): string {
  const entries = readFileSync(join(gw().dirs.logs, "fake-model.jsonl"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
  return JSON.stringify(entries.find((e) => e.seq === seq)?.body ?? null);
}
const mainTurns = () => fake().requests((q) => q.sessionKey === "agent:main:main");
/** The batch the main session's latest spawn turn started. */
const spawnedBatch = () => /Batch (pa-[a-z0-9-]+)/.exec(mainTurns().filter((q) => q.lastTool?.name === "parallel_spawn").at(-1)!.lastTool!.text)![1];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const ms = (iso: string | undefined) => (iso && iso !== "-" ? Date.parse(iso) : NaN);

/** The engine's "batch … ended" line for `batchId`, as absolute times. */
function endLine(batchId: string) {
  const line = readFileSync(join(gw().dirs.logs, "openclaw.log"), "utf8").split("\n").find((l) => l.includes(`batch ${batchId} ended:`)) ?? "";
  const m = /lifecycle end (\S+), host wait returned (\S+), committed \+(\d+) ms, notice handed over \+(\d+) ms/.exec(line);
  if (!m) return undefined;
  const waited = ms(m[2]);
  return { lifecycleEnd: ms(m[1]), waitReturned: waited, committed: waited + Number(m[3]), handedOver: waited + Number(m[4]) };
}

describe("the completion notice comes promptly", () => {
  it("5 children, waitSeconds 0: the notified turn's start after the last child's answer, split into host and engine parts (median of 3, target 2.5 s)", async () => {
    const gaps: number[] = [];
    for (const trial of [1, 2, 3]) {
      const tasks = Array.from({ length: 5 }, (_, i) => ({ label: `n${i}`, task: `t${trial}n${i} [[delay:2000]] [[reply:T${trial}N${i}]]` }));
      const r = await gw().chat(`fan out ${directive("parallel_spawn", { tasks, waitSeconds: 0 })} [[reply:SPAWNED-${trial}]]`, { sessionKey: "main" });
      expect(r.text).toBe(`SPAWNED-${trial}`);
      const batchId = spawnedBatch();
      const kids = await fake().waitFor((log) => log.filter((q) => q.sessionKey?.includes(batchId) && q.endedAt).length === 5, { timeoutMs: 300_000 });
      const lastAnswer = Math.max(...kids.filter((q) => q.sessionKey?.includes(batchId)).map((q) => q.endedAt!));
      await fake().waitFor(() => mainTurns().some((q) => q.startedAt > lastAnswer && q.endedAt), { timeoutMs: 300_000 });
      const woken = mainTurns().find((q) => q.startedAt > lastAnswer)!;
      expect(requestBody(woken.seq)).toContain(`[parallel-agents] Batch ${batchId} has finished: 5 ok.`);
      const gap = woken.startedAt - lastAnswer;
      gaps.push(gap);
      const t = endLine(batchId);
      // Our own part — the last result committed and the notice handed to the host — follows the host's
      // wait at once: it never waits for the finished children's session deletes (seconds on a busy host).
      expect(t, "the engine's 'batch … ended' log line").toBeDefined();
      expect(t!.handedOver - t!.waitReturned).toBeLessThanOrEqual(1000);
      const rel = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? "?" : `+${x - lastAnswer} ms`);
      process.stderr.write(
        `[e2e] notice trial ${trial}: turn started ${gap} ms after the last child's answer ` +
          `(host lifecycle end ${rel(t?.lifecycleEnd)}, host wait returned ${rel(t?.waitReturned)}, committed ${rel(t?.committed)}, ` +
          `notice handed over ${rel(t?.handedOver)}, turn started +${gap} ms)\n`,
      );
    }
    const median = [...gaps].sort((a, b) => a - b)[1];
    process.stderr.write(`[e2e] notice latency: ${gaps.join(", ")} ms; median ${median} ms\n`);
    // Target: 2.5 s (printed above). On a loaded 2-core machine the host alone can take a minute to finish a run
    // and to prepare the woken turn, so this bound only catches a notice that never comes; not a performance check.
    expect(median).toBeLessThanOrEqual(180_000);
  });

  it("finished children's sessions stay while the notified turn runs (deleting them slowed its start), and go once it ended", async () => {
    const tasks = Array.from({ length: 3 }, (_, i) => ({ label: `h${i}`, task: `hold${i} [[delay:1000]] [[reply:H${i}]]` }));
    const r = await gw().chat(`fan out ${directive("parallel_spawn", { tasks, waitSeconds: 0 })} [[reply:SPAWNED-HOLD]]`, { sessionKey: "main" });
    expect(r.text).toBe("SPAWNED-HOLD");
    const batchId = spawnedBatch();
    const spawnEnded = Date.now();
    // The woken turn takes 10 s. Without the hold, the deletes (1.5 s after each child ended) would run inside it.
    // The check comes 3.5 s into the turn; the rest leaves room for a slow sessions_list on a loaded host.
    fake().script({ session: "agent:main:main", delay: 10_000, reply: "HEARD", times: 1 });
    const woken = () => mainTurns().find((q) => q.startedAt > spawnEnded);
    await fake().waitFor(() => woken() !== undefined, { timeoutMs: 300_000 });
    const lastEnd = Math.max(...fake().requests((q) => Boolean(q.sessionKey?.includes(batchId))).map((q) => q.endedAt ?? Infinity));
    await sleep(woken()!.startedAt + 3500 - Date.now());
    const during = await listedSessions(gw());
    const checkedAt = Date.now();
    expect(woken()!.endedAt, "the woken turn was still running at the check").toBeNull();
    expect(during).toContain(batchId);
    await fake().waitFor(() => woken()!.endedAt !== null, { timeoutMs: 300_000 });
    const left = await sessionsGone(gw(), batchId);
    process.stderr.write(
      `[e2e] session hold: last child answered, woken turn +${woken()!.startedAt - lastEnd} ms, sessions still listed at +${checkedAt - lastEnd} ms, ` +
        `turn ended +${woken()!.endedAt! - lastEnd} ms, sessions gone by +${Date.now() - lastEnd} ms\n`,
    );
    expect(left).not.toContain(batchId);
  });

  it("never left loopback", () => gw().assertNoEgress());
});
