// What every tool needs: the plugin config, the role registry (loaded on first use) and the
// process's engine. Tools never call the host themselves; the engine does, from its service.
import type { PluginConfig } from "../config.js";
import type { Engine } from "../engine/engine.js";
import { currentEngine } from "../engine/process-engine.js";
import type { HostModelView } from "../models/ladder.js";
import { callerDepth } from "../batch/session-keys.js";
import type { BatchRecord } from "../batch/types.js";
import { type Registry, loadRegistry } from "../roles/registry.js";
import { ToolInputError } from "../errors.js";

export interface ToolCallContext {
  sessionKey?: string;
  agentId?: string;
}

export interface PluginServices {
  config: PluginConfig;
  registry(): Registry;
  /** What this gateway can run (providers, credentials, allowed models), when the host says. */
  models?(): HostModelView;
  /** Randomness of the adaptive ladder's exploration (tests inject it); Math.random otherwise. */
  random?: () => number;
}

export function createServices(config: PluginConfig, models?: () => HostModelView): PluginServices {
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

/** The engine of this gateway process; without one (no gateway, e.g. `openclaw agent --local`) says what to run. */
export function engineFor(tool: string): Engine {
  const engine = currentEngine();
  if (engine?.running) return engine;
  throw new Error(
    `${tool} needs a running OpenClaw gateway: sub-agents run in the gateway's parallel-agents service, which is not running in this process. Start it with \`openclaw gateway run\` and talk to the agent through it (\`openclaw agent --message ...\` without --local).`,
  );
}

export const callerAgent = (ctx: ToolCallContext): string => ctx.agentId ?? /^agent:([^:]+):/.exec(ctx.sessionKey ?? "")?.[1] ?? "main";

/** The caller's own batch: unknown ids and other agents' batches are refused alike, leaking nothing. */
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
