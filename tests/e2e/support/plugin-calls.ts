// Small helpers for calling our four tools through POST /tools/invoke and reading what came back.
import { randomUUID } from "node:crypto";
import { expect } from "vitest";
import { REPO_ROOT } from "./gateway.mjs";
import { type FakeRequest, type Gateway, sleep } from "./use-gateway.js";

export type Run = {
  label: string;
  state: string;
  output: string;
  json?: unknown;
  model: string;
  error?: string;
  stopping?: string;
  attempts: { model: string; modelUsed?: string; outcome: string; reason?: string; tokens: number; startedAt?: string }[];
  usage: { tokens: number; costUsd: number };
};
export type Details = {
  batchId: string;
  complete: boolean;
  runs: Run[];
  counts: Record<string, number>;
  usage: { tokens: number; costUsd: number; baselineModel?: string; baselineCostUsd?: number; savedUsd?: number; unpriced?: string[] };
  partial?: boolean;
  results?: Run[];
  notes?: string[];
  estimate?: { tokens: number; costUsd: number };
};

/** Calls a tool that must succeed; returns its `details` and the text the model would read. */
export async function call(gw: Gateway, tool: string, args: Record<string, unknown>, sessionKey?: string) {
  const r = await gw.invokeTool(tool, args, { sessionKey, timeoutMs: 300_000 });
  expect(r.status, `${tool} -> ${JSON.stringify(r.body).slice(0, 800)}`).toBe(200);
  return { details: r.body.result.details as Details, text: r.text as string };
}

/** Calls a tool that must be refused; returns the status and the error message the caller sees. */
export async function refuse(gw: Gateway, tool: string, args: unknown) {
  const r = await gw.invokeTool(tool, args as Record<string, unknown>, { timeoutMs: 60_000 });
  const message = String(r.body?.error?.message ?? r.body?.error ?? JSON.stringify(r.body));
  return { status: r.status, message };
}

export const byLabel = (d: Details) => Object.fromEntries(d.runs.map((r) => [r.label, r]));

/**
 * What parallel_cancel may say of a run it stopped: the stop is recorded (final) before the answer, and the
 * engine stops the child beside it, waiting at most 250 ms for that: `cancelled`, or still `stopping`.
 */
export function expectCancelRecorded(run: Run) {
  expect(run.state === "cancelled" || run.stopping === "cancelled", JSON.stringify(run)).toBe(true);
}

/** The host's session list (its `sessions_list` tool through POST /tools/invoke), as JSON text. */
export const listedSessions = async (gw: Gateway) => JSON.stringify((await gw.invokeTool("sessions_list", { limit: 200 })).body);

/** Waits (about 30 s at most) until no listed session belongs to `batchId`; returns the last listing. */
export async function sessionsGone(gw: Gateway, batchId: string): Promise<string> {
  let listed = await listedSessions(gw);
  for (let i = 0; i < 30 && listed.includes(batchId); i++) {
    await sleep(1000);
    listed = await listedSessions(gw);
  }
  return listed;
}

/** The run a child request belongs to: its session key without the attempt suffix. */
export const runKey = (q: FakeRequest) => q.sessionKey?.replace(/-a\d+$/, "") ?? null;

/** Requests made by our plugin's children (session keys we mint: `…:subagent:pa<depth>-<batch>-<run>-a<n>`). */
export const childRequests = (gw: Gateway, batchId?: string) =>
  gw.fake!.requests((q) => Boolean(q.sessionKey?.includes(":subagent:pa") && (!batchId || q.sessionKey.includes(batchId))));

/** Gateway options for a suite that loads this plugin with the fake models as its ladder. */
export function pluginGateway(name: string, extra: { pluginConfig?: Record<string, unknown>; allowModelOverride?: boolean } = {}) {
  return {
    name,
    pluginDir: REPO_ROOT,
    pluginConfig: { ladder: ["fake/cheap", "fake/mid", "fake/strong"], ...extra.pluginConfig },
    ...(extra.allowModelOverride === false ? {} : { subagent: { allowModelOverride: true } }),
  };
}

/**
 * Calls a gateway method through the CLI (`openclaw gateway call`). The call's own timeout is generous: on a loaded
 * machine the gateway can take more than the CLI's default 10 s to answer.
 */
export const gatewayCall = (gw: Gateway, method: string, params: unknown) =>
  gw.cli(["gateway", "call", method, "--json", "--timeout", "60000", "--params", JSON.stringify(params)], { timeoutMs: 90_000 });

/** A gateway method call that must succeed; returns its JSON answer. */
export async function gatewayJson(gw: Gateway, method: string, params: unknown) {
  const r = await gatewayCall(gw, method, params);
  expect(r.code, `${method}: ${r.stdout}\n${r.stderr}`).toBe(0);
  return JSON.parse(r.stdout.slice(r.stdout.indexOf("{")));
}

/**
 * Types a slash command into a chat (chat.send) and returns the text of the replies that are not the user's own
 * message, once `replyMarker` shows in them. Reading only the replies matters: the command's own words (e.g.
 * "/parallel-agents stats") would otherwise satisfy a search for the reply's heading.
 */
export async function chatCommand(gw: Gateway, sessionKey: string, message: string, replyMarker: string, waitMs = 90_000) {
  await gatewayJson(gw, "chat.send", { sessionKey, message, idempotencyKey: `e2e-cmd-${randomUUID()}` });
  let replies = "";
  for (const deadline = Date.now() + waitMs; !replies.includes(replyMarker) && Date.now() < deadline; await sleep(500)) {
    const history: { messages?: { role: string; content: unknown }[] } = await gatewayJson(gw, "chat.history", { sessionKey });
    replies = (history.messages ?? [])
      .filter((m) => m.role !== "user")
      .map((m) => (typeof m.content === "string" ? m.content : JSON.stringify(m.content)))
      .join("\n");
  }
  return replies;
}
