// Gateway RPC methods behind `openclaw parallel-agents …`: they run in the gateway process, next to the
// engine (currentEngine()), so status is live and cancel really stops runs.
import type { PluginConfig } from "../config.js";
import type { Engine } from "../engine/engine.js";
import type { BatchRecord } from "../batch/types.js";
import { currentEngine, engineStartFailure } from "../engine/process-engine.js";
import { unknownLabels } from "../tools/parallel-cancel.js";
import type { HostModelApis } from "../models/ladder.js";
import { doctorView, showView, statusView } from "./views.js";
import { SinceError } from "../stats/since.js";
import { statsView } from "../stats/view.js";

export const METHODS = {
  status: "parallel-agents.status",
  show: "parallel-agents.show",
  cancel: "parallel-agents.cancel",
  doctor: "parallel-agents.doctor",
  stats: "parallel-agents.stats",
} as const;

type ErrorShape = { code: string; message: string };
type Respond = (ok: boolean, payload?: unknown, error?: ErrorShape) => void;
type Handler = (opts: { params?: unknown; respond: Respond }) => Promise<void> | void;

export interface GatewayMethodApi {
  registerGatewayMethod?(method: string, handler: Handler, opts?: { scope?: string }): void;
}

class MethodError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

const param = (params: unknown, key: string): unknown => (params && typeof params === "object" ? (params as Record<string, unknown>)[key] : undefined);

function engine(): Engine {
  const e = currentEngine();
  const failure = engineStartFailure();
  if (!e && failure) throw new MethodError("UNAVAILABLE", `the parallel-agents engine failed to start: ${failure}`);
  if (!e) throw new MethodError("UNAVAILABLE", "the parallel-agents engine is not running in this gateway (service not started)");
  return e;
}

function batchId(params: unknown): string {
  const id = param(params, "batchId");
  if (typeof id !== "string" || !id.trim()) throw new MethodError("INVALID_REQUEST", "batchId (string) is required");
  return id.trim();
}

function batchOf(e: Engine, id: string) {
  const batch = e.get(id);
  if (!batch) throw new MethodError("INVALID_REQUEST", `no batch ${id} in ${e.store.path}`);
  return batch;
}

/** `labels` of a cancel: absent = the whole batch; else a non-empty array of the batch's own labels. */
function cancelLabels(batch: BatchRecord, raw: unknown): string[] | undefined {
  if (raw === undefined) return undefined;
  if (!Array.isArray(raw) || raw.length === 0 || raw.some((l) => typeof l !== "string")) {
    const got = Array.isArray(raw) ? (raw.length ? "an array with a non-string" : "[]") : typeof raw;
    throw new MethodError("INVALID_REQUEST", `labels must be a non-empty array of run labels (strings), got ${got}; omit labels to cancel the whole batch`);
  }
  const unknown = unknownLabels(batch, raw);
  if (unknown) throw new MethodError("INVALID_REQUEST", unknown);
  return raw;
}

const wrap =
  (body: (params: unknown) => unknown | Promise<unknown>): Handler =>
  async ({ params, respond }) => {
    try {
      respond(true, await body(params));
    } catch (err) {
      const code = err instanceof MethodError ? err.code : err instanceof SinceError ? "INVALID_REQUEST" : "UNAVAILABLE";
      respond(false, undefined, { code, message: err instanceof Error ? err.message : String(err) });
    }
  };

export interface GatewayMethodDeps {
  config: PluginConfig;
  hostConfig: () => unknown;
  host: () => HostModelApis;
}

export function registerGatewayMethods(api: GatewayMethodApi, deps: GatewayMethodDeps): void {
  const reg = api.registerGatewayMethod?.bind(api);
  if (!reg) return;
  reg(
    METHODS.status,
    wrap((params) => {
      const e = engine();
      const limit = Number(param(params, "limit"));
      return { source: "gateway", ...statusView(e.store, (id) => e.get(id), Number.isInteger(limit) && limit > 0 ? limit : 20) };
    }),
    { scope: "operator.read" },
  );
  reg(
    METHODS.show,
    wrap((params) => {
      const e = engine();
      return { source: "gateway", ...showView(batchOf(e, batchId(params))) };
    }),
    { scope: "operator.read" },
  );
  reg(
    METHODS.cancel,
    wrap(async (params) => {
      const e = engine();
      const id = batchId(params);
      batchOf(e, id);
      const labels = cancelLabels(batchOf(e, id), param(params, "labels"));
      const stopped = await e.cancel(id, labels);
      return { source: "gateway", stopped, batch: showView(batchOf(e, id)) };
    }),
    { scope: "operator.write" },
  );
  reg(METHODS.doctor, wrap(() => liveDoctor(deps)), { scope: "operator.read" });
  reg(
    METHODS.stats,
    wrap((params) => {
      const agentId = param(params, "agentId");
      if (agentId !== undefined && (typeof agentId !== "string" || !agentId.trim())) throw new MethodError("INVALID_REQUEST", "agentId must be a non-empty string");
      const since = param(params, "since") as string | number | undefined;
      return { source: "gateway", ...statsView(engine().store, { since, agentId: agentId?.trim(), adaptiveLadder: deps.config.adaptiveLadder }) };
    }),
    { scope: "operator.read" },
  );
}

/** Doctor as the gateway sees it: this process's engine and store, the host's config and model auth. */
export function liveDoctor(deps: GatewayMethodDeps) {
  return doctorView({
    storePath: currentEngine()?.store.path ?? "(engine not running)",
    openStore: () => ({ store: engine().store, close: false }),
    config: deps.config,
    hostConfig: deps.hostConfig(),
    env: process.env,
    host: deps.host(),
    gateway: true,
    slots: currentEngine()?.slots?.snapshot(),
  });
}
