// `/parallel-agents` in a chat (webchat, a DM, any channel that takes text commands): the operator
// views scoped to the agent of the conversation it is typed in. It answers without a model turn and
// never shows or stops another agent's batches (the operator CLI is where all of them are seen).
import { currentEngine, engineStartFailure } from "../engine/process-engine.js";
import { knownCallerAgent, ownBatch } from "../tools/context.js";
import { unknownLabels } from "../tools/parallel-cancel.js";
import { formatCancel, formatDoctor, formatShow, formatStatus } from "./format.js";
import { type GatewayMethodDeps, liveDoctor } from "./gateway-methods.js";
import { showView, statusView } from "./views.js";
import { formatStats } from "../stats/format.js";
import { statsView } from "../stats/view.js";

export const CHAT_COMMAND = "parallel-agents";

const USAGE = [
  `/${CHAT_COMMAND} — this agent's parallel-agents batches:`,
  `  /${CHAT_COMMAND} status             open and recent batches`,
  `  /${CHAT_COMMAND} show <batchId>     one batch, run by run, with every attempt`,
  `  /${CHAT_COMMAND} stats [since]      models, roles, savings and learned starts (since e.g. 7d)`,
  `  /${CHAT_COMMAND} cancel <batchId> [label ...]   stop its queued and running runs`,
  `  /${CHAT_COMMAND} doctor             store health, usable ladder rungs, settings`,
].join("\n");

/** What the host hands a command handler (openclaw 2026.9.6 PluginCommandContext, the part used). */
export interface ChatCommandContext {
  args?: string;
  agentId?: string;
  sessionKey?: string;
}

export interface ChatCommandApi {
  registerCommand?(def: {
    name: string;
    description: string;
    acceptsArgs?: boolean;
    handler: (ctx: ChatCommandContext) => Promise<{ text: string }>;
  }): void;
}

export function registerChatCommand(api: ChatCommandApi, deps: GatewayMethodDeps): void {
  api.registerCommand?.({
    name: CHAT_COMMAND,
    description: "This agent's parallel-agents batches: status, show <batchId>, stats [since], cancel <batchId>, doctor",
    acceptsArgs: true,
    handler: async (ctx) => ({ text: await answerChatCommand(ctx, deps) }),
  });
}

/** The reply text; every refusal is an answer too (a thrown error would reach the user as "Command failed"). */
export async function answerChatCommand(ctx: ChatCommandContext, deps: GatewayMethodDeps): Promise<string> {
  const [sub = "status", id, ...labels] = (ctx.args ?? "").trim().split(/\s+/).filter(Boolean);
  if (sub === "doctor") return formatDoctor(liveDoctor(deps));
  if (!["status", "show", "stats", "cancel"].includes(sub)) return `Unknown subcommand "${sub}".\n${USAGE}`;
  const engine = currentEngine();
  const failure = engineStartFailure();
  if (!engine?.running && failure) return `The parallel-agents engine failed to start: ${failure}. See the gateway log.`;
  if (!engine?.running) return "The parallel-agents engine is not running in this gateway (its service did not start); see the gateway log.";
  // Whose batches these are comes from the host; without it, guessing an agent would show or stop someone else's.
  const agent = knownCallerAgent(ctx);
  if (!agent) return `/${CHAT_COMMAND} ${sub} needs to know the conversation's agent, and the host gave no session or agent for this command, so it does nothing. Type it in an agent's chat, or use \`openclaw parallel-agents ${sub}\` as the operator.`;
  if (sub === "status") return formatStatus({ source: `gateway, agent ${agent}`, ...statusView(engine.store, (b) => engine.get(b), 20, Date.now(), agent) });
  if (sub === "stats") return answerStats(engine.store, { agentId: agent, since: id, adaptiveLadder: deps.config.adaptiveLadder });
  if (!id) return `/${CHAT_COMMAND} ${sub} needs a batchId.\n${USAGE}`;
  try {
    const batch = ownBatch(`/${CHAT_COMMAND} ${sub}`, engine, id, ctx);
    if (sub === "show") return formatShow(showView(batch));
    const unknown = labels.length ? unknownLabels(batch, labels) : undefined;
    if (unknown) return `Nothing stopped: ${unknown}.`;
    const stopped = await engine.cancel(batch.batchId, labels.length ? labels : undefined);
    return formatCancel({ stopped, batch: showView(engine.get(batch.batchId) ?? batch) });
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** `/parallel-agents stats [since]`: this agent's stats only. */
function answerStats(store: Parameters<typeof statsView>[0], options: { agentId: string; since?: string; adaptiveLadder: boolean }): string {
  try {
    return formatStats({ source: `gateway, agent ${options.agentId}`, ...statsView(store, options) });
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}
