// The data a batch is made of. Everything here is plain JSON so the ledger can store it as is.
import type { ChildSurface, Usage } from "../runtime/port.js";
import { type Prices, roundUsd } from "../pricing/prices.js";

export type RunState = "queued" | "running" | "ok" | "failed" | "timed_out" | "cancelled";
export const TERMINAL_STATES: ReadonlySet<RunState> = new Set(["ok", "failed", "timed_out", "cancelled"]);

/** Why an attempt ended. The class decides what the retry policy does next. */
export type AttemptOutcome =
  | "ok"
  | "provider_error"
  | "rate_limit"
  | "timeout"
  | "empty_output"
  | "invalid_json"
  | "schema_violation"
  | "cancelled"
  | "interrupted"
  | "budget";

export interface RunSpec {
  label: string;
  /** The rendered prompt the child receives. Kept in the ledger, never in progress lines. */
  prompt: string;
  role?: string;
  /** Model pinned by the caller for the first attempt. */
  model?: string;
  /** Starting rung on the ladder (from the role registry). */
  tier: number;
  /** The adaptive ladder moved this run's start up from this rung (src/ladder-learning/). */
  learnedFrom?: string;
  timeoutSeconds: number;
  outputSchema?: object;
  /** Waits for the batch's other runs to end; its prompt is rendered then (research synthesis). */
  gate?: "lanes";
  /** The child's prompt mode and tools; absent in batches stored before 0.3 (the host's full surface). */
  surface?: ChildSurface;
}

export interface BatchOptions {
  maxConcurrency: number;
  retries: number;
  escalate: boolean;
  ladder: string[];
  /** False when the operator has not allowed model overrides: runs use the agent's default model. */
  modelOverride: boolean;
  budget: { maxTokens?: number; maxCostUsd?: number };
  /** The price table the batch is costed with (plugin prices over the gateway's model table), kept with it. */
  prices: Prices;
  /** The agent's default model, when the gateway config names it: what runs without a model are priced at. */
  defaultModel?: string;
}

export interface Attempt {
  n: number;
  /** Model we asked for; undefined = the agent's default. */
  model?: string;
  /** Model that actually answered, from the run result and the child's transcript. */
  modelUsed?: string;
  sessionKey: string;
  runId?: string;
  /** Which process started it: a different owner after a restart means the attempt was interrupted. */
  owner: string;
  outcome?: AttemptOutcome;
  reason?: string;
  startedAt: number;
  endedAt?: number;
  tokens: number;
  usage: Usage;
  costUsd: number;
  /** A corrective follow-up was sent in the same session after a JSON contract failure. */
  corrected?: boolean;
  /** Model the policy chose for the attempt after this one. */
  nextModel?: string;
}

export interface RunRecord {
  spec: RunSpec;
  state: RunState;
  attempts: Attempt[];
  output?: string;
  json?: unknown;
  error?: string;
  /** Earliest time the next attempt may start (backoff). */
  notBefore?: number;
  /** First time the run started: its timeout counts from here. */
  firstStartedAt?: number;
  /** A stop (cancel, timeout, budget) was accepted: no further attempt starts, whatever races it. */
  stop?: RunStop;
  /** Starts the host refused for now (a gateway starting or draining), and its last words. */
  refusals?: { count: number; last: string };
}

/** A stop accepted for a run, recorded before it is carried out, so nothing can undo it. */
export interface RunStop {
  outcome: "timeout" | "cancelled" | "budget";
  reason: string;
  at: number;
}

/** The run state a stop ends in. */
export const STOPPED_STATE: Record<RunStop["outcome"], "timed_out" | "cancelled" | "failed"> = { timeout: "timed_out", cancelled: "cancelled", budget: "failed" };

export interface BatchRecord {
  batchId: string;
  createdAt: number;
  owner: string;
  /** Session key of the caller that created the batch. */
  requester: string;
  agentId: string;
  depth: number;
  options: BatchOptions;
  runs: RunRecord[];
  notes: string[];
  /** The engine still has something to do: a run not terminal, or a completion notice owed. */
  open?: boolean;
  /** Tell the requester session when the batch ends, unless a call already collected it. */
  notify?: boolean;
  /** A tool call returned this batch complete: no notice needed. */
  collected?: boolean;
  /** When the completion notice went out (once per batch, across restarts). */
  notifiedAt?: number;
  /** The notice's sends: recorded before each try, so a crash mid-send is known and tries stay bounded. */
  notice?: { tries: number; lastTryAt: number; route?: string; error?: string; gaveUpAt?: number };
  /** research_team: which lane covers which topic, for the synthesis and its "Not covered" line. */
  workflow?: ResearchWorkflow;
}

export interface ResearchWorkflow {
  kind: "research";
  brief?: string;
  lanes: { label: string; topic: string; lens?: string }[];
}

export const emptyUsage = (): Usage => ({ inputTokens: 0, outputTokens: 0 });

export const isComplete = (batch: BatchRecord): boolean => batch.runs.every((r) => TERMINAL_STATES.has(r.state));

/** Tokens and cost of a batch: always the sum of its recorded attempts, so nothing counts twice. */
export function batchTotals(batch: BatchRecord): { tokens: number; costUsd: number } {
  let tokens = 0;
  let costUsd = 0;
  for (const run of batch.runs) for (const a of run.attempts) (tokens += a.tokens), (costUsd += a.costUsd);
  return { tokens, costUsd: roundUsd(costUsd) };
}
