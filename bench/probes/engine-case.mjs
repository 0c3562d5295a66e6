// One engine-scale case in a fresh process (so peak RSS is this case's alone): the real
// BatchRunner + Ledger over the in-memory runtime with ~0 ms children. Prints one JSON line.
// argv: <engine bundle> <tasks> <concurrency>
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [bundle, tasksArg, concArg] = process.argv.slice(2);
const tasks = Number(tasksArg);
const maxConcurrency = Number(concArg);
const { BatchRunner, Ledger, MemoryRuntime } = await import(pathToFileURL(bundle).href);

const rssBeforeMB = process.memoryUsage().rss / 2 ** 20;
const dir = mkdtempSync(join(tmpdir(), "pa-bench-ledger-"));
const ledger = new Ledger(dir);
const runtime = new MemoryRuntime(() => ({ delayMs: 0, reply: "done", usage: { inputTokens: 100, outputTokens: 50 } }));
const batch = {
  batchId: `bench-${tasks}-${process.pid}`,
  createdAt: Date.now(),
  owner: "",
  requester: "agent:main:main",
  agentId: "main",
  depth: 0,
  options: { maxConcurrency, retries: 2, escalate: true, ladder: ["m/cheap", "m/mid", "m/strong"], modelOverride: true, budget: {}, prices: { "m/cheap": { input: 1, output: 5 } } },
  runs: Array.from({ length: tasks }, (_, i) => ({
    spec: { label: `agent-${i + 1}`, prompt: `Summarise item ${i + 1} in one line.`, tier: 0, timeoutSeconds: 600 },
    state: "queued",
    attempts: [],
  })),
  notes: [],
};

const cpu0 = process.cpuUsage();
const t0 = performance.now();
ledger.create(batch);
const runner = new BatchRunner(batch, { runtime, ledger, owner: "bench", random: () => 0 });
await runner.drive(Date.now() + 30 * 60_000);
const wallMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);

const okRuns = batch.runs.filter((r) => r.state === "ok").length;
const ledgerBytes = readdirSync(dir).reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);
rmSync(dir, { recursive: true, force: true });
console.log(
  JSON.stringify({
    tasks,
    maxConcurrency,
    complete: runner.complete,
    okRuns,
    peakLive: runtime.peakLive,
    wallMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    perTaskMs: wallMs / tasks,
    rssBeforeMB,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
    ledgerBytes,
  }),
);
