// One engine-scale case in a fresh process (so peak RSS is this case's alone): the real Engine
// and SQLite BatchStore over the in-memory runtime with ~0 ms children. Prints one JSON line.
// Runs on Node >= 24 (node:sqlite).
// argv: <engine bundle> <tasks> <concurrency>
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [bundle, tasksArg, concArg] = process.argv.slice(2);
const tasks = Number(tasksArg);
const maxConcurrency = Number(concArg);
const { Engine, BatchStore, MemoryRuntime } = await import(pathToFileURL(bundle).href);

const rssBeforeMB = process.memoryUsage().rss / 2 ** 20;
const dir = mkdtempSync(join(tmpdir(), "pa-bench-ledger-"));
const store = BatchStore.open(dir);
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
const engine = new Engine({ store, runtime, owner: "bench", random: () => 0 });
engine.submit(batch);
const deadline = Date.now() + 30 * 60_000;
const complete = () => batch.runs.every((r) => r.state === "ok" || r.state === "failed");
// Polled, not woken per change: a per-change O(n) check would make the probe itself O(n^2).
while (!complete() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
const wallMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);

const okRuns = batch.runs.filter((r) => r.state === "ok").length;
const ledgerBytes = readdirSync(dir).reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);
await engine.stop();
store.close();
rmSync(dir, { recursive: true, force: true });
console.log(
  JSON.stringify({
    tasks,
    maxConcurrency,
    complete: complete(),
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
