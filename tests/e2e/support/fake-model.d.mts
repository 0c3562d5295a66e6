// Types for fake-model.mjs (plain JS so the demo and bench scripts can import it without a build).
export type FakeRequest = {
  seq: number; model: string; isSubagent: boolean; sessionKey: string | null;
  startedAt: number; endedAt: number | null; aborted: boolean; lastUser: string;
  toolTurns: number; toolResults: number; lastTool: { name: string; text: string } | null; toolCount: number;
  reply: { kind: string; why: string; text?: string; status?: number; tools?: { name: string; args: string }[] };
  /** The usage this answer reported (absent for errors, hangs and aborted requests). */
  usage?: FakeUsage;
};
export type FakeUsage = {
  prompt_tokens: number; completion_tokens: number; total_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number; cache_write_tokens?: number };
};
export type FakeRule = {
  model?: string | RegExp; match?: string; session?: string; subagent?: boolean; times?: number; name?: string;
  reply?: string; tool?: { name: string; args: unknown }; tools?: { name: string; args: unknown }[];
  delay?: number; error?: number; empty?: boolean; invalidJson?: boolean; hang?: boolean;
  usage?: { prompt_tokens?: number; completion_tokens?: number; prompt_tokens_details?: { cached_tokens?: number; cache_write_tokens?: number } };
};
export type FakeModel = {
  url: string; origin: string; port: number;
  requests(filter?: (r: FakeRequest) => boolean): FakeRequest[];
  script(rule: FakeRule | FakeRule[]): void;
  script(model: string, behaviour: FakeRule): void;
  reset(): void; clearRequests(): void; close(): Promise<void>;
  /** Answer 429 to requests for `model` beyond `maxOpen` open at once (a provider's concurrency limit). */
  limit(model: string | RegExp, maxOpen: number): void;
  /** Per limit: peak open requests served, 429s given, requests served. */
  limitStats(): { model: string; maxOpen: number; peakOpen: number; rejected: number; served: number }[];
  waitFor(pred: (log: FakeRequest[]) => boolean, opts?: { timeoutMs?: number }): Promise<FakeRequest[]>;
};
export function startFakeModel(opts?: { port?: number; host?: string; bodyLog?: string }): Promise<FakeModel>;
/** Pairs of requests with the same key (default: session key) that were in flight at the same time. */
export function overlappingRequests(entries: FakeRequest[], key?: (e: FakeRequest) => unknown): [FakeRequest, FakeRequest][];
