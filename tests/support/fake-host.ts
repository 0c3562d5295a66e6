// A host-shaped fake of OpenClaw's plugin API: `api.runtime.subagent` speaks the host's wire
// shapes (waitForRun statuses, transcript messages), backed by the in-memory runtime, so the
// tools and the OpenClaw adapter are exercised together.
import plugin from "../../src/index.js";
import type { SubagentApi } from "../../src/runtime/openclaw-adapter.js";
import { type Behaviour, MemoryRuntime } from "./memory-runtime.js";
import { tempDir } from "./batch.js";
import type { StartRequest } from "../../src/runtime/port.js";

/** OpenClaw 2026.9.6 caps a run's terminal reply (AGENT_RUN_TERMINAL_REPLY_MAX_CHARS): trimmed, 4,095 characters and "…". */
const hostCapped = (text: string) => (text.trim().length <= 4_096 ? text.trim() : `${text.trim().slice(0, 4_095).trimEnd()}…`);

type Tool = { name: string; execute: (id: string, params: unknown, signal?: AbortSignal, onUpdate?: (u: unknown) => void) => Promise<{ content: { text: string }[]; details: any }> };

/**
 * Registers the plugin against a fake host and starts its service (as the gateway does), so the
 * tools hand batches to a running engine. `notices` records completion notices; `stop()` ends the service.
 */
export async function fakeHost(opts: { script?: (req: StartRequest, i: number) => Behaviour; pluginConfig?: Record<string, unknown>; allowModelOverride?: boolean; stateDir?: string; models?: Record<string, unknown> } = {}) {
  const memory = new MemoryRuntime(opts.script);
  const stateDir = opts.stateDir ?? tempDir("pa-state-");
  const subagent: SubagentApi = {
    async run(p) {
      const model = p.provider ? `${p.provider}/${p.model}` : undefined;
      const started = await memory.start({ sessionKey: p.sessionKey, message: p.message, model, idempotencyKey: p.idempotencyKey ?? "" });
      return { runId: started.runId, sessionKey: p.sessionKey, runtime: { provider: p.provider ?? "memory", model: p.model ?? "default" } };
    },
    async waitForRun({ runId, timeoutMs }) {
      const r = await memory.wait(runId, timeoutMs ?? 30_000);
      if (r.state === "pending") return { status: "timeout" };
      if (r.state === "error") return { status: "error", error: r.error, endedAt: Date.now() };
      if (r.state === "timeout") return { status: "timeout", endedAt: Date.now() };
      return { status: "ok", endedAt: Date.now(), terminalReply: r.visible ? { disposition: "visible", text: hostCapped(r.text ?? "") } : { disposition: "empty" } };
    },
    async getSessionMessages({ sessionKey }) {
      const t = await memory.read(sessionKey);
      const [provider, model] = (t.modelUsed ?? "memory/default").split("/");
      return {
        messages: [
          { role: "user", content: "task" },
          { role: "assistant", content: [{ type: "text", text: t.finalText ?? "" }], provider, model, usage: { input: t.usage.inputTokens, output: t.usage.outputTokens } },
        ],
      };
    },
    async deleteSession({ sessionKey }) {
      await memory.stop(sessionKey);
    },
  };
  const factories = new Map<string, (ctx: unknown) => unknown>();
  const services: { start(ctx: unknown): Promise<void> | void; stop?(ctx: unknown): Promise<void> | void }[] = [];
  const notices: { sessionKey: string; agentId?: string; text: string }[] = [];
  plugin.register({
    pluginConfig: opts.pluginConfig ?? {},
    config: {
      plugins: { entries: { "parallel-agents": { subagent: { allowModelOverride: opts.allowModelOverride ?? true } } } },
      // The in-memory "provider" every test model runs on; `models` replaces it (e.g. to test ladder resolution).
      models: { providers: opts.models ?? { m: { baseUrl: "http://127.0.0.1:9/v1", models: [] }, p: { baseUrl: "http://127.0.0.1:9/v1", models: [] } } },
    },
    runtime: {
      subagent,
      state: { resolveStateDir: () => stateDir },
      system: {
        enqueueSystemEvent: (text, { sessionKey, agentId }) => void notices.push({ sessionKey, agentId, text }),
        requestHeartbeat: () => undefined,
      },
    },
    registerTool: (factory, { name }) => void factories.set(name, factory as (ctx: unknown) => unknown),
    registerService: (service) => void services.push(service as (typeof services)[number]),
  });
  for (const s of services) await s.start({ stateDir, logger: { info: () => undefined } });
  const agentOf = (sessionKey: string) => /^agent:([^:]+):/.exec(sessionKey)?.[1] ?? "main";
  const tool = (name: string, sessionKey = "agent:main:main") => factories.get(name)!({ sessionKey, agentId: agentOf(sessionKey) }) as Tool;
  const call = (name: string, params: unknown, sessionKey?: string, onUpdate?: (u: unknown) => void) => tool(name, sessionKey).execute("call-1", params, undefined, onUpdate);
  const stop = async () => {
    for (const s of services) await s.stop?.({});
  };
  return { memory, stateDir, factories, tool, call, notices, stop };
}
