// Types for gateway.mjs (plain JS so the demo and bench scripts can import it without a build).
import type { FakeModel } from "./fake-model.mjs";
import type { NetGuardEntry } from "./net-guard.mjs";

export type HttpResult = { status: number; body: any; text?: string };
export type Gateway = {
  url: string; port: number; token: string; root: string; pid: number | null; pluginId: string | null;
  dirs: { home: string; state: string; config: string; workspace: string; logs: string };
  configPath: string; netGuardLog: string; fake: FakeModel | null; fakeUrl: string;
  timings: { readyMs?: number; warmupMs?: number };
  invokeTool(tool: string, args?: Record<string, unknown>, opts?: { sessionKey?: string; timeoutMs?: number }): Promise<HttpResult>;
  chat(message: string, opts?: { sessionKey?: string; timeoutMs?: number }): Promise<HttpResult>;
  cli(args: string[], opts?: { timeoutMs?: number; env?: Record<string, string> }): Promise<{ code: number | null; stdout: string; stderr: string }>;
  restart(opts?: { signal?: "SIGTERM" | "SIGKILL"; whileDown?: () => unknown }): Promise<void>;
  stop(opts?: { keepLogs?: boolean }): Promise<void>;
  markFailed(): void;
  logs(): { gateway: string; openclaw: string; netGuard: NetGuardEntry[] };
  assertNoEgress(): void;
};
export type GatewayOptions = {
  name?: string; pluginDir?: string; install?: "config" | "link";
  pluginConfig?: Record<string, unknown>; subagent?: Record<string, unknown>; config?: Record<string, unknown>;
  fakeModelUrl?: string; models?: string[]; parentModel?: string; warmup?: boolean;
  /** Provider ids that all serve the fake models (default ["fake"]). */
  providers?: string[];
  /** Other plugin folders to load beside ours (copied into the temp root first). */
  extraPlugins?: string[];
  modelCosts?: Record<string, { input: number; output: number; cacheRead?: number; cacheWrite?: number }>;
  env?: Record<string, string>; readyTimeoutMs?: number; stage?: boolean;
};
export const REPO_ROOT: string;
export function pickPort(): Promise<number>;
export function startGateway(opts?: GatewayOptions): Promise<Gateway>;
