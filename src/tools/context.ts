// What every tool needs, resolved lazily: the host's runtime is only usable during a gateway
// request, and the state dir and roles are read on first use, not at registration.
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import type { PluginConfig } from "../config.js";
import { BatchStore } from "../orchestrator/batch-store.js";
import { Ledger } from "../orchestrator/ledger.js";
import { callerDepth } from "../orchestrator/session-keys.js";
import { type Registry, loadRegistry } from "../roles/registry.js";
import { type ChildRuntime, HostUnavailableError } from "../runtime/port.js";
import { ToolInputError } from "../errors.js";

export interface ToolCallContext {
  sessionKey?: string;
  agentId?: string;
}

export interface PluginServices {
  config: PluginConfig;
  store(): BatchStore;
  registry(): Registry;
}

/** Identifies this gateway process in the ledger, shared by every plugin instance it loads. */
const OWNER_KEY = Symbol.for("openclaw-parallel-agents.owner");
const processOwner = ((globalThis as Record<symbol, string>)[OWNER_KEY] ??= `${process.pid}-${randomUUID().slice(0, 8)}`);
/** Live batch stores by ledger dir, kept across plugin re-registration in one process. */
const STORES_KEY = Symbol.for("openclaw-parallel-agents.stores");
const stores = ((globalThis as Record<symbol, Map<string, BatchStore>>)[STORES_KEY] ??= new Map());

export function createServices(config: PluginConfig, resolveStateDir: () => string, runtime: ChildRuntime): PluginServices {
  let registry: Registry | undefined;
  return {
    config,
    store() {
      const dir = join(resolveStateDir(), "plugins", "parallel-agents", "batches");
      let store = stores.get(dir);
      if (!store) {
        const ledger = new Ledger(dir);
        ledger.prune();
        store = new BatchStore(ledger, processOwner, runtime);
        stores.set(dir, store);
      }
      store.useRuntime(runtime); // this instance's: an earlier instance's runtime may be retired
      return store;
    },
    registry() {
      return (registry ??= loadRegistry({ rolesDir: config.rolesDir }));
    },
  };
}

/** Children may not fan out again beyond maxDepth (default: children cannot fan out at all). */
export function assertMayFanOut(tool: string, ctx: ToolCallContext, config: PluginConfig): number {
  const depth = callerDepth(ctx.sessionKey);
  if (depth + 1 > config.maxDepth) {
    throw new ToolInputError(
      `${tool} refused: this session is a sub-agent at depth ${depth} and maxDepth is ${config.maxDepth}, so it cannot fan out further. Do the work yourself and return your result to the parent.`,
    );
  }
  return depth;
}

const SCOPE_ERROR = /only available during a gateway request|OPENCLAW_SUBAGENT_RUNTIME_REQUEST_SCOPE/;

/** Runs a tool body, turning the host's "no gateway" error into one that says what to do. */
export async function withGatewayHint<T>(tool: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    const text = `${(err as { code?: string })?.code ?? ""} ${err instanceof Error ? err.message : String(err)}`;
    if (err instanceof HostUnavailableError || SCOPE_ERROR.test(text)) {
      throw new Error(
        `${tool} needs a running OpenClaw gateway: sub-agents can only be started during a gateway request. Start it with \`openclaw gateway run\` and talk to the agent through it (\`openclaw agent --message ...\` without --local).`,
      );
    }
    // Every refusal names the tool, like validation errors do (e.g. an unknown or malformed batchId).
    if (!(err instanceof Error)) throw new Error(`${tool}: ${String(err)}`);
    if (!err.message.startsWith(tool)) err.message = `${tool}: ${err.message}`;
    throw err;
  }
}
