// The one adapter over OpenClaw's plugin runtime: api.runtime.subagent mapped onto the port (wait
// statuses, transcript shapes), and the completion notice onto the host's wake routes. Nothing
// else: policy lives in the engine.
import type { Notifier } from "../engine/notice.js";
import { type ChildRuntime, type ChildSurface, type StartedRun, type Transcript, type Usage, type WaitResult } from "./port.js";

/** The subset of `api.runtime.subagent` (openclaw 2026.9.6) this plugin uses. */
export interface SubagentApi {
  run(p: {
    sessionKey: string;
    message: string;
    provider?: string;
    model?: string;
    idempotencyKey?: string;
    deliver?: boolean;
    lane?: string;
    lightContext?: boolean;
    promptMode?: "minimal";
    disableTools?: boolean;
  }): Promise<{ runId: string; sessionKey?: string; runtime?: { provider: string; model: string } }>;
  waitForRun(p: { runId: string; timeoutMs?: number }): Promise<{
    status: "ok" | "timeout" | "error" | "pending";
    error?: string;
    endedAt?: number;
    stopReason?: string;
    timeoutPhase?: string;
    terminalReply?: { disposition: "visible"; text: string } | { disposition: "silent" | "empty" };
  }>;
  getSessionMessages(p: { sessionKey: string; limit?: number }): Promise<{ messages: unknown[] }>;
  deleteSession(p: { sessionKey: string; deleteTranscript?: boolean }): Promise<void>;
}

export function splitModel(ref: string | undefined): { provider?: string; model?: string } {
  if (!ref) return {};
  const slash = ref.indexOf("/");
  return slash > 0 ? { provider: ref.slice(0, slash), model: ref.slice(slash + 1) } : { model: ref };
}

/**
 * The child's surface as `subagent.run` params (openclaw 2026.9.6 SubagentRunParams): the bounded
 * sub-agent prompt with light context, and an exact empty tool surface. Nothing for the full surface,
 * so a host without these params runs the child as before.
 */
export function surfaceParams(surface: ChildSurface | undefined): { promptMode?: "minimal"; lightContext?: boolean; disableTools?: boolean } {
  if (!surface) return {};
  return { ...(surface.prompt === "minimal" ? { promptMode: "minimal", lightContext: true } : {}), ...(surface.tools ? {} : { disableTools: true }) };
}

/** The parts of the plugin API the adapter uses (openclaw 2026.9.6). */
export interface HostApi {
  runtime: {
    subagent: SubagentApi;
    state: { resolveStateDir(): string };
    modelAuth?: { isProviderApiKeyConfigured(p: { provider: string; cfg?: unknown; agentDir?: string }): boolean };
    system?: {
      enqueueSystemEvent(text: string, opts: { agentId?: string; sessionKey: string; contextKey?: string }): unknown;
      requestHeartbeat(opts: { source: string; intent: string; reason?: string; agentId?: string; sessionKey?: string; coalesceMs?: number }): unknown;
    };
  };
  session?: {
    workflow?: { enqueueNextTurnInjection(p: { sessionKey: string; agentId?: string; text: string; idempotencyKey: string }): Promise<{ enqueued?: boolean } | unknown> };
  };
}

export function openclawRuntime(api: HostApi): ChildRuntime {
  // Looked up per call: a plugin reload hands the host a new api whose runtime replaces this one.
  const subagent: SubagentApi = {
    run: (p) => api.runtime.subagent.run(p),
    waitForRun: (p) => api.runtime.subagent.waitForRun(p),
    getSessionMessages: (p) => api.runtime.subagent.getSessionMessages(p),
    deleteSession: (p) => api.runtime.subagent.deleteSession(p),
  };
  return {
    async start(req): Promise<StartedRun> {
      const res = await subagent
        .run({
          sessionKey: req.sessionKey,
          message: req.message,
          ...splitModel(req.model),
          idempotencyKey: req.idempotencyKey,
          deliver: false,
          lane: "subagent", // the host's sub-agent lane, not the main one shared with user turns
          ...surfaceParams(req.surface),
        });
      const model = res.runtime ? `${res.runtime.provider}/${res.runtime.model}` : undefined;
      return { runId: res.runId, sessionKey: res.sessionKey ?? req.sessionKey, model };
    },

    async wait(runId, timeoutMs): Promise<WaitResult> {
      const r = await subagent.waitForRun({ runId, timeoutMs });
      if (r.status === "ok") {
        const reply = r.terminalReply;
        if (reply?.disposition === "visible") return { state: "ok", text: reply.text, visible: true };
        return { state: "ok", visible: reply === undefined }; // no snapshot: let the transcript decide
      }
      // Two empty replies in a row end as an error with an empty terminal reply: an empty output.
      if (r.status === "error" && r.terminalReply?.disposition === "empty") return { state: "ok", visible: false };
      if (r.status === "error") return { state: "error", error: r.error ?? r.stopReason ?? "the run failed" };
      // A plain expired wait is just `{status:"timeout"}`; a run the host timed out carries terminal metadata.
      const ended = r.endedAt !== undefined || r.timeoutPhase !== undefined || r.terminalReply !== undefined;
      if (r.status === "timeout" && ended) return { state: "timeout", error: r.error ?? "the host timed the run out" };
      return { state: "pending" };
    },

    async read(sessionKey): Promise<Transcript> {
      const { messages } = await subagent.getSessionMessages({ sessionKey, limit: 1000 });
      return readTranscript(messages);
    },

    async stop(sessionKey): Promise<void> {
      // Seen on 2026.9.6: deleting the session aborts the child's in-flight model request at
      // once (the run ends `aborted`) and releases it; there is no other stop for plugin runs.
      // The transcript is kept (the host's own retention applies): deleting it too serialises the
      // host's deletes at ~1.1 s each (20 took 23.6 s here), without it 20 took 2.2 s.
      await subagent.deleteSession({ sessionKey, deleteTranscript: false });
    },
  };
}

interface HostMessage {
  role?: string;
  content?: unknown;
  provider?: string;
  model?: string;
  /** The model the provider's response named, when it differs from the requested one (2026.9.6). */
  responseModel?: string;
  usage?: Record<string, unknown>;
  customType?: string;
  errorMessage?: string;
}

/** Usage summed over the session's assistant messages; text and model of the last one. */
export function readTranscript(messages: unknown[]): Transcript {
  const usage: Usage = { inputTokens: 0, outputTokens: 0 };
  const out: Transcript = { usage };
  for (const raw of messages) {
    const m = raw as HostMessage;
    if (m?.role === "custom" && m.customType === "run-failed-before-reply") out.failure = textOf(m.content);
    if (m?.role !== "assistant") continue;
    if (m.errorMessage) out.failure = m.errorMessage; // e.g. "400 ..." / "429 ..." from the provider
    usage.inputTokens += tokenField(m.usage, ["input", "inputTokens", "prompt_tokens", "input_tokens"]);
    usage.outputTokens += tokenField(m.usage, ["output", "outputTokens", "completion_tokens", "output_tokens"]);
    addCacheAndHostCost(out, m.usage);
    // `model` is what OpenClaw asked for; `responseModel` is who answered, when the provider says otherwise.
    if (m.provider && m.model) out.modelUsed = `${m.provider}/${m.responseModel || m.model}`;
    const text = textOf(m.content);
    if (text.trim()) out.finalText = text;
  }
  return out;
}

/**
 * Cache tokens (the host's `cacheRead`/`cacheWrite`) and the host's own cost figure. A host total of 0
 * is trusted only when the provider billed it: the host default-fills zero rates for unpriced models.
 */
function addCacheAndHostCost(out: Transcript, usage: Record<string, unknown> | undefined): void {
  const cacheRead = tokenField(usage, ["cacheRead", "cacheReadTokens", "cache_read_input_tokens"]);
  const cacheWrite = tokenField(usage, ["cacheWrite", "cacheWriteTokens", "cache_creation_input_tokens"]);
  if (cacheRead > 0) out.usage.cacheReadTokens = (out.usage.cacheReadTokens ?? 0) + cacheRead;
  if (cacheWrite > 0) out.usage.cacheWriteTokens = (out.usage.cacheWriteTokens ?? 0) + cacheWrite;
  const cost = usage?.cost as { total?: unknown; totalOrigin?: unknown } | undefined;
  const total = typeof cost?.total === "number" && Number.isFinite(cost.total) && cost.total >= 0 ? cost.total : undefined;
  if (total !== undefined && (total > 0 || cost?.totalOrigin === "provider-billed")) out.hostCostUsd = (out.hostCostUsd ?? 0) + total;
}

function tokenField(usage: Record<string, unknown> | undefined, names: string[]): number {
  for (const name of names) {
    const v = usage?.[name];
    if (typeof v === "number" && Number.isFinite(v)) return v;
  }
  return 0;
}

function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .filter((c): c is { type: string; text: string } => c?.type === "text" && typeof c.text === "string")
    .map((c) => c.text)
    .join("");
}

/**
 * Tells the requester session a batch ended the way OpenClaw reports its own background tasks: a
 * system event for that session plus a targeted `background-task` wake, which runs a model turn
 * there (also with heartbeats off; a busy session gets it after its current turn). Where that route
 * is missing or refuses, a durable next-turn injection carries the text instead.
 */
export function openclawNotifier(api: HostApi): Notifier {
  return {
    // The system-event route dedupes a pending event of the same text and contextKey, and is
    // synchronous: the engine marks the notice sent in the same tick, before the wake can run a
    // turn, so a crash cannot leave a delivered notice unmarked. The injection takes our key.
    async notify({ agentId, sessionKey, batchId, idempotencyKey }, text) {
      const system = api.runtime.system;
      try {
        if (system) {
          system.enqueueSystemEvent(text, { agentId, sessionKey, contextKey: `task:parallel-agents:${batchId}` });
          // coalesceMs 0: the host otherwise holds a wake 250 ms to merge it with others; ours is one per batch.
          system.requestHeartbeat({ source: "background-task", intent: "immediate", reason: "background-task", agentId, sessionKey, coalesceMs: 0 });
          return "system event + wake";
        }
      } catch {
        /* fall through to the injection */
      }
      const inject = api.session?.workflow?.enqueueNextTurnInjection;
      const r = inject ? ((await inject({ sessionKey, agentId, text, idempotencyKey })) as { enqueued?: boolean } | undefined) : undefined;
      if (r?.enqueued) return "next-turn injection";
      throw new Error("the host offered no route to tell the session");
    },
  };
}
