// The host's own cost of a plugin fan-out (bench "floor" section): one tool hands N tasks to the
// plugin's service, which for each task only calls api.runtime.subagent.run + waitForRun + deleteSession
// — no ledger, no policy, no retries, no transcript read. Host calls must come from the service's
// context (host facts item 1), so the tool only pushes jobs to a process-wide queue (tool calls in model
// turns run in another instance of this module than the service) and wakes the service's loop; the loop
// also polls every POLL_MS in case a wake is missed. The tool awaits the jobs' promises and returns.
import { randomUUID } from "node:crypto";
import { definePluginEntry } from "openclaw/plugin-sdk/plugin-entry";

const POLL_MS = 20;
const G = (globalThis[Symbol.for("pa-bench.floor")] ??= { queue: [], wake: null, services: 0 });
const text = (s) => ({ type: "text", text: s });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function wakeService() {
  const w = G.wake;
  G.wake = null;
  w?.();
}

async function runJob(api, job) {
  try {
    const run = await api.runtime.subagent.run({
      sessionKey: job.sessionKey, message: job.task, deliver: false, lane: "subagent", idempotencyKey: job.sessionKey,
      ...(job.model ? { provider: job.model.split("/")[0], model: job.model.split("/").slice(1).join("/") } : {}),
    });
    const wait = await api.runtime.subagent.waitForRun({ runId: run.runId, timeoutMs: job.timeoutMs });
    await api.runtime.subagent.deleteSession({ sessionKey: run.sessionKey ?? job.sessionKey, deleteTranscript: false });
    const out = wait.terminalReply?.disposition === "visible" ? wait.terminalReply.text : "";
    job.done({ label: job.label, status: wait.status, output: out, error: wait.error });
  } catch (err) {
    job.done({ label: job.label, status: "error", output: "", error: String(err?.message ?? err).slice(0, 300) });
  }
}

export default definePluginEntry({
  id: "pa-floor",
  name: "Fan-out floor",
  description: "Benchmark floor for a plugin fan-out.",
  register(api) {
    let stopped = false;
    api.registerService({
      id: "pa-floor-engine",
      start() {
        G.services++;
        stopped = false;
        (async () => {
          while (!stopped) {
            while (G.queue.length) void runJob(api, G.queue.shift());
            await Promise.race([sleep(POLL_MS), new Promise((r) => (G.wake = r))]);
          }
        })();
      },
      stop() {
        stopped = true;
        wakeService();
      },
    });

    api.registerTool(
      (ctx) => ({
        name: "floor_spawn",
        label: "floor spawn",
        description: "Benchmark floor: run N sub-agents through the plugin service and return their answers.",
        catalogMode: "direct-only",
        parameters: {
          type: "object",
          additionalProperties: false,
          required: ["tasks"],
          properties: {
            tasks: { type: "array", items: { type: "string" } },
            model: { type: "string", description: "optional provider/model to pin" },
            timeoutSeconds: { type: "number" },
          },
        },
        async execute(_toolCallId, params) {
          const tasks = Array.isArray(params?.tasks) ? params.tasks : [];
          const agent = ctx?.agentId ?? "main";
          const batch = randomUUID().slice(0, 8);
          const results = await Promise.all(
            tasks.map(
              (task, i) =>
                new Promise((done) => {
                  G.queue.push({ label: `f${i}`, task, model: params.model, timeoutMs: (params.timeoutSeconds ?? 120) * 1000, sessionKey: `agent:${agent}:subagent:floor-${batch}-${i}`, done });
                  wakeService();
                }),
            ),
          );
          return {
            content: [text(results.map((r) => `${r.label}: ${r.status === "ok" ? r.output : `${r.status} ${r.error ?? ""}`}`).join("\n"))],
            details: { batch, services: G.services, results },
          };
        },
      }),
      { name: "floor_spawn" },
    );
  },
});
