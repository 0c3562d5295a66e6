// What every tool needs: the plugin config, the role registry (loaded on first use) and the
// process's engine. Tools never call the host themselves; the engine does, from its service.
import type { PluginConfig } from "../config.js";
import type { Engine } from "../engine/engine.js";
import { currentEngine, engineStartFailure } from "../engine/process-engine.js";
import type { HostModelView } from "../models/ladder.js";
import type { RequestingAgent } from "../models/host-apis.js";
import { callerDepth } from "../batch/session-keys.js";
import type { BatchRecord } from "../batch/types.js";
import { type Registry, loadRegistry } from "../roles/registry.js";
import { ToolInputError } from "../errors.js";

export interface ToolCallContext {
  sessionKey?: string;
  agentId?: string;
  /** The agent's directory, when the host gives it (its auth profiles live there). */
  agentDir?: string;
}

export interface PluginServices {
  config: PluginConfig;
  registry(): Registry;
  /** What this gateway can run for the requesting agent (providers, credentials, allowed models), when the host says. */
  models?(agent?: RequestingAgent): HostModelView;
  /** The model an agent's runs use when none is pinned (the gateway's config), when known. */
  defaultModel?(agentId: string): string | undefined;
  /** Randomness of the adaptive ladder's exploration (tests inject it); Math.random otherwise. */
  random?: () => number;
}

export function createServices(config: PluginConfig, models?: (agent?: RequestingAgent) => HostModelView): PluginServices {
  let registry: Registry | undefined;
  const load = () => {
    try {
      return loadRegistry({ rolesDir: config.rolesDir });
    } catch (err) {
      // A broken rolesDir is the operator's input: say which file and entry, as a 400.
      throw new ToolInputError(`the role registry could not be loaded: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  return { config, models, registry: () => (registry ??= load()) };
}

/**
 * The engine of this gateway process. When the service tried and failed to start it, says why (a 400
 * the caller can read); without one at all (no gateway, e.g. `openclaw agent --local`) says what to run.
 */
export function engineFor(tool: string): Engine {
  const engine = currentEngine();
  if (engine?.running) return engine;
  const failure = engineStartFailure();
  if (failure) throw new ToolInputError(`${tool}: the parallel-agents engine failed to start: ${failure}. The operator must fix that and restart the gateway (see its log); no sub-agent can run until then.`);
  throw new Error(
    `${tool} needs a running OpenClaw gateway: sub-agents run in the gateway's parallel-agents service, which is not running in this process. Start it with \`openclaw gateway run\` and talk to the agent through it (\`openclaw agent --message ...\` without --local).`,
  );
}

/** The agent the host says is calling, from its agent id or session key; undefined when it gives neither. */
export const knownCallerAgent = (ctx: ToolCallContext): string | undefined => ctx.agentId ?? /^agent:([^:]+):/.exec(ctx.sessionKey ?? "")?.[1];

/** Tool calls without an agent (POST /tools/invoke with no session) act for the default agent, `main`. */
export const callerAgent = (ctx: ToolCallContext): string => knownCallerAgent(ctx) ?? "main";

/** The session a batch records as its requester: the one told when it ends, and the only one whose poll collects it. */
export const requesterOf = (ctx: ToolCallContext): string => ctx.sessionKey ?? "unknown";

/**
 * The caller's own batch: unknown ids and other agents' batches are refused alike, leaking nothing.
 * A sub-agent session (depth >= 1) is narrower still: it may touch only the batches it started itself,
 * never its parent's or a sibling's, although they belong to the same agent.
 */
export function ownBatch(tool: string, engine: Engine, batchId: unknown, ctx: ToolCallContext): BatchRecord {
  if (typeof batchId !== "string" || !/^[A-Za-z0-9_-]{4,80}$/.test(batchId)) {
    throw new ToolInputError(`${tool}: batchId must be the id returned by parallel_spawn (letters, digits, - and _), got ${JSON.stringify(batchId)?.slice(0, 80)}`);
  }
  const batch = engine.get(batchId);
  if (!batch) throw new ToolInputError(`${tool}: unknown batchId "${batchId}": no such batch in this gateway (it may have expired)`);
  const agent = callerAgent(ctx);
  if (batch.agentId !== agent) {
    throw new ToolInputError(`${tool}: batch "${batchId}" is not yours: it was started by another agent, and only that agent can poll or cancel it (you are agent "${agent}")`);
  }
  if (callerDepth(ctx.sessionKey) >= 1 && batch.requester !== ctx.sessionKey) {
    throw new ToolInputError(`${tool}: batch "${batchId}" was not started by this session: a sub-agent may poll or cancel only the batches it started itself`);
  }
  return batch;
}

/** A fan-out call: the caller's depth (children may not fan out beyond maxDepth, by default not at all) and the registry. */
export function fanOut(tool: string, ctx: ToolCallContext, services: PluginServices): { depth: number; registry: Registry } {
  const depth = callerDepth(ctx.sessionKey);
  const { maxDepth } = services.config;
  if (depth + 1 > maxDepth) {
    throw new ToolInputError(
      `${tool} refused: this session is a sub-agent at depth ${depth} and maxDepth is ${maxDepth}, so it cannot fan out further. Do the work yourself and return your result to the parent.`,
    );
  }
  return { depth, registry: services.registry() };
}
