// The runtime port: the only surface the engine uses to run a child agent.
// One adapter wraps OpenClaw's api.runtime.subagent; tests and benchmarks use an in-memory one.

export interface StartRequest {
  /** Session key of the child, e.g. `agent:main:subagent:pa1-<batch>-3-a1`. */
  sessionKey: string;
  /** Full prompt for the child. */
  message: string;
  /** `provider/model` to pin, or undefined for the agent's default model. */
  model?: string;
  /** Stable per attempt: a repeated start with the same key must not start a second run. */
  idempotencyKey: string;
  /** What the child gets besides the message; undefined = the host's full sub-agent surface. */
  surface?: ChildSurface;
}

/**
 * A child's prompt and tools. `prompt: "minimal"` is the host's bounded sub-agent prompt with light
 * context; "full" is the parent's whole conversation prompt. `tools: false` is an empty tool surface
 * (a text-only child cannot run commands); true keeps the agent's tools.
 */
export interface ChildSurface {
  prompt: "minimal" | "full";
  tools: boolean;
}

export interface StartedRun {
  runId: string;
  sessionKey: string;
  /** `provider/model` the host says it will use, when it says. */
  model?: string;
}

/** What one bounded wait on a run saw. `pending` means: not finished yet (not a failure). */
export type WaitResult =
  | { state: "pending" }
  | { state: "ok"; text?: string; visible: boolean }
  | { state: "error"; error: string }
  | { state: "timeout"; error?: string };

export interface Usage {
  /** Input tokens not served from the provider's prompt cache. */
  inputTokens: number;
  outputTokens: number;
  /** Prompt tokens read from / written to the provider's cache (billed at their own rates). */
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
}

/** What the child's transcript says about its last run. */
export interface Transcript {
  /** Last visible assistant text, if any. */
  finalText?: string;
  /** `provider/model` of the last assistant message: the model that really answered. */
  modelUsed?: string;
  usage: Usage;
  /** USD the host itself recorded for these replies, when it priced them (used for models we have no price for). */
  hostCostUsd?: number;
  /** Failure text the host recorded instead of a reply, if any. */
  failure?: string;
}

export interface ChildRuntime {
  start(req: StartRequest): Promise<StartedRun>;
  /** Bounded long-poll; never cancels the run. */
  wait(runId: string, timeoutMs: number): Promise<WaitResult>;
  read(sessionKey: string): Promise<Transcript>;
  /** Stop the child (best effort) and release its session. */
  stop(sessionKey: string): Promise<void>;
}
