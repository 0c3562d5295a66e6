// What the operator CLI shows, built from the store (and, for doctor, the config): one shape whether the
// gateway answers (src/cli/gateway-methods.ts) or the CLI reads the store itself (read-only, offline).
import type { SlotsSnapshot } from "../scheduling/provider-slots.js";
import { join } from "node:path";
import { homedir } from "node:os";
import { existsSync } from "node:fs";
import { type PluginConfig, PLUGIN_ID } from "../config.js";
import { type HostModelApis, hostModelView, resolveLadder } from "../models/ladder.js";
import { type BatchRecord, batchTotals, isComplete } from "../batch/types.js";
import { BatchStore } from "../store/batch-store.js";
import { counts, runView } from "../tools/render-result.js";
import { batchUsage } from "../pricing/index.js";
import { learnedNote, learnedStarts } from "../ladder-learning/index.js";

/** Where the batch store lives: the plugin's folder in OpenClaw's state dir. */
export const storeDirOf = (stateDir: string): string => join(stateDir, "plugins", PLUGIN_ID);

/** The host's state dir as `resolveStateDir` computes it: OPENCLAW_STATE_DIR, else ~/.openclaw. */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const override = env.OPENCLAW_STATE_DIR?.trim();
  const home = env.OPENCLAW_HOME?.trim() || env.HOME?.trim() || homedir();
  if (override) return override.startsWith("~") ? join(home, override.slice(1)) : override;
  return join(home, ".openclaw");
}

/** The source a view was read from: the running gateway's engine, or the store file read-only. */
export type Source = "gateway" | "store (read-only; gateway not reachable)";

export interface BatchLine {
  batchId: string;
  agentId: string;
  createdAt: string;
  ageSeconds: number;
  open: boolean;
  complete: boolean;
  counts: ReturnType<typeof counts>;
  runs: number;
  tokens: number;
  costUsd: number;
}

export function batchLine(batch: BatchRecord, now = Date.now()): BatchLine {
  const t = batchTotals(batch);
  return {
    batchId: batch.batchId,
    agentId: batch.agentId,
    createdAt: new Date(batch.createdAt).toISOString(),
    ageSeconds: Math.max(0, Math.round((now - batch.createdAt) / 1000)),
    open: batch.open !== false,
    complete: isComplete(batch),
    counts: counts(batch.runs),
    runs: batch.runs.length,
    tokens: t.tokens,
    costUsd: t.costUsd,
  };
}

/** Open batches first (all of them), then the most recent others, up to `limit` lines; one agent's only when `agentId` is given. */
export function statusView(store: BatchStore, load: (id: string) => BatchRecord | undefined, limit = 20, now = Date.now(), agentId?: string) {
  const ids = new Set([...store.openBatchIds(), ...store.list(limit, agentId).map((s) => s.batchId)]);
  const mine = (b: BatchRecord | undefined): b is BatchRecord => b !== undefined && (agentId === undefined || b.agentId === agentId);
  const batches = [...ids].map(load).filter(mine).map((b) => batchLine(b, now));
  batches.sort((a, b) => Number(b.open) - Number(a.open) || b.createdAt.localeCompare(a.createdAt));
  const openCount = batches.filter((b) => b.open).length;
  return { store: store.path, openCount, batches: batches.slice(0, Math.max(limit, openCount)) };
}

export type StatusView = ReturnType<typeof statusView>;

export function showView(batch: BatchRecord, now = Date.now()) {
  return {
    ...batchLine(batch, now),
    requester: batch.requester,
    usage: batchUsage(batch), // tokens, cost, baseline and saving
    notes: batch.notes,
    runs: batch.runs.map((r) => {
      const v = runView(r);
      return { label: v.label, state: v.state, model: v.model, ...(v.role ? { role: v.role } : {}), attempts: v.attempts, usage: v.usage, ...(v.error ? { error: v.error } : {}) };
    }),
  };
}

export type ShowView = ReturnType<typeof showView>;

export interface DoctorInput {
  storePath: string;
  /** Open the store (read-only off the gateway); its health is whether that works. */
  openStore: () => { store: BatchStore; close: boolean };
  config: PluginConfig;
  hostConfig: unknown;
  env: NodeJS.ProcessEnv;
  host?: HostModelApis;
  gateway: boolean;
  /** The live engine's provider slots (caps now, in flight, recent changes); only from the gateway. */
  slots?: SlotsSnapshot;
}

export function doctorView(input: DoctorInput) {
  let health: { ok: boolean; batches?: number; open?: number; error?: string };
  let learned: (ReturnType<typeof learnedStarts>[number] & { note: string })[] = [];
  if (!input.gateway && !existsSync(input.storePath)) health = { ok: false, error: "no store yet (created when the gateway first starts the plugin)" };
  else {
    try {
      const { store, close } = input.openStore();
      try {
        health = { ok: true, batches: store.list(100_000).length, open: store.openBatchIds().length };
        if (input.config.adaptiveLadder) learned = learnedStarts(store).map((l) => ({ ...l, note: learnedNote(l) }));
      } finally {
        if (close) store.close();
      }
    } catch (err) {
      health = { ok: false, error: err instanceof Error ? err.message : String(err) };
    }
  }
  const resolution = resolveLadder({ ladder: input.config.ladder, host: hostModelView(input.hostConfig, input.env, input.host) });
  const rungs = input.config.ladder.map((model, i) => {
    const skipped = resolution.skipped.find((s) => s.model === model);
    return { tier: i, model, usable: !skipped && resolution.usable.includes(model), ...(skipped ? { why: skipped.why } : {}) };
  });
  const max = (input.hostConfig as { agents?: { defaults?: { subagents?: { maxConcurrent?: unknown } } } })?.agents?.defaults?.subagents?.maxConcurrent;
  const hostMax = typeof max === "number" && Number.isFinite(max) ? { value: max, source: "agents.defaults.subagents.maxConcurrent" } : { value: 8, source: "host default" };
  return {
    source: (input.gateway ? "gateway" : "store (read-only; gateway not reachable)") as Source,
    store: { path: input.storePath, ...health },
    ladder: rungs,
    usableRungs: resolution.usable.length,
    allowModelOverride: input.config.modelOverride,
    adaptiveLadder: input.config.adaptiveLadder,
    /** Roles the adaptive ladder starts one rung up, per agent (src/ladder-learning/). */
    learnedStarts: learned,
    notify: input.config.notify,
    maxConcurrency: input.config.maxConcurrency,
    hostSubagentMaxConcurrent: hostMax,
    providerConcurrency: input.config.providerConcurrency,
    ...(input.slots ? { providerSlots: input.slots } : {}),
  };
}

export type DoctorView = ReturnType<typeof doctorView>;
