// In-memory stand-in for OpenClaw's sub-agent runtime: scripted children, real timers.
// It records what a spec needs to check: start order, peak concurrency, overlapping attempts.
// Lookups are indexed, so the engine-scale bench measures the engine, not this stand-in.
import type { ChildRuntime, StartRequest, StartedRun, Transcript, WaitResult } from "../../src/runtime/port.js";

export interface Behaviour {
  delayMs?: number;
  reply?: string;
  error?: string;
  empty?: boolean;
  /** Never finishes on its own. */
  hang?: boolean;
  usage?: { inputTokens: number; outputTokens: number };
  /** Model that "really" answers, when it differs from the requested one. */
  modelUsed?: string;
  /** How long reading this child's transcript takes (a busy host). */
  readDelayMs?: number;
}

interface ChildRun {
  req: StartRequest;
  runId: string;
  startedAt: number;
  endedAt?: number;
  result?: WaitResult;
  behaviour: Behaviour;
  timer?: NodeJS.Timeout;
  settled: Promise<void>;
  settle: () => void;
}

export class MemoryRuntime implements ChildRuntime {
  readonly runs: ChildRun[] = [];
  readonly stops: string[] = [];
  peakLive = 0;
  /** Children started and not yet ended. */
  live = 0;
  private seq = 0;
  private readonly byRunId = new Map<string, ChildRun>();
  private readonly byIdempotencyKey = new Map<string, ChildRun>();
  /** Every run of a session, oldest first. */
  private readonly bySession = new Map<string, ChildRun[]>();

  constructor(private readonly script: (req: StartRequest, index: number) => Behaviour = () => ({ reply: "done" })) {}

  async start(req: StartRequest): Promise<StartedRun> {
    const existing = this.byIdempotencyKey.get(req.idempotencyKey);
    if (existing) return { runId: existing.runId, sessionKey: req.sessionKey, model: req.model };
    const behaviour = this.script(req, this.runs.length);
    let settle!: () => void;
    const settled = new Promise<void>((resolve) => (settle = resolve));
    const run: ChildRun = { req, runId: `run-${++this.seq}`, startedAt: Date.now(), behaviour, settled, settle };
    this.runs.push(run);
    this.byRunId.set(run.runId, run);
    this.byIdempotencyKey.set(req.idempotencyKey, run);
    this.bySession.set(req.sessionKey, [...(this.bySession.get(req.sessionKey) ?? []), run]);
    this.peakLive = Math.max(this.peakLive, ++this.live);
    if (!behaviour.hang) run.timer = setTimeout(() => this.finish(run, outcomeOf(behaviour)), behaviour.delayMs ?? 5);
    return { runId: run.runId, sessionKey: req.sessionKey, model: req.model };
  }

  async wait(runId: string, timeoutMs: number): Promise<WaitResult> {
    const run = this.byRunId.get(runId);
    if (!run) return { state: "error", error: `unknown run ${runId}` };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([run.settled, timeout]);
    clearTimeout(timer);
    return run.result ?? { state: "pending" };
  }

  async read(sessionKey: string): Promise<Transcript> {
    const run = this.bySession.get(sessionKey)?.at(-1);
    const b = run?.behaviour;
    if (b?.readDelayMs) await new Promise((r) => setTimeout(r, b.readDelayMs));
    return {
      finalText: b?.reply,
      modelUsed: b?.modelUsed ?? run?.req.model ?? "memory/default",
      usage: b?.usage ?? { inputTokens: 100, outputTokens: 50 },
    };
  }

  async stop(sessionKey: string): Promise<void> {
    this.stops.push(sessionKey);
    for (const run of this.bySession.get(sessionKey) ?? []) {
      if (run.result) continue;
      clearTimeout(run.timer);
      this.finish(run, { state: "error", error: "stopped" });
    }
  }

  /** Pairs of runs of one batch label whose lifetimes overlapped (should never happen). */
  overlapsWithinRun(): string[] {
    const byRun = new Map<string, ChildRun[]>();
    for (const r of this.runs) {
      const key = r.req.sessionKey.replace(/-a\d+$/, "");
      byRun.set(key, [...(byRun.get(key) ?? []), r]);
    }
    const overlaps: string[] = [];
    for (const [key, runs] of byRun) {
      for (let i = 1; i < runs.length; i++) {
        const prev = runs[i - 1];
        if (prev.endedAt === undefined || prev.endedAt > runs[i].startedAt) overlaps.push(key);
      }
    }
    return overlaps;
  }

  private finish(run: ChildRun, result: WaitResult): void {
    if (run.result) return;
    this.live--;
    run.result = result;
    run.endedAt = Date.now();
    run.settle();
  }
}

function outcomeOf(b: Behaviour): WaitResult {
  if (b.error) return { state: "error", error: b.error };
  if (b.empty) return { state: "ok", visible: false };
  return { state: "ok", text: b.reply ?? "done", visible: true };
}
