// GET /parallel-agents/api/events[?batch=<id>]: server-sent events. The stream sends the batch list (and the
// chosen batch) at once, then again as soon as the engine reports a change to an open batch (its own change
// signal, the one tool calls wait on), and at least every second for batches that started meanwhile.
// Pushing on change keeps the page within a beat of the engine even when each HTTP request is slow.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Engine } from "../engine/engine.js";
import { dashboardBatch, dashboardList } from "./view.js";

export interface EventStreamOptions {
  engine: Engine;
  batchId?: string;
  limit: number;
  now: () => number;
  /** The stream ends after this long; EventSource reconnects by itself (bounds any one request's life). */
  maxLifeMs?: number;
  /** Quiet time after a change, so a burst of transitions goes out as one event. */
  settleMs?: number;
}

const RESCAN_MS = 1_000;
const KEEPALIVE_MS = 15_000;

export async function streamEvents(req: IncomingMessage, res: ServerResponse, o: EventStreamOptions): Promise<true> {
  res.statusCode = 200;
  res.setHeader("content-type", "text/event-stream; charset=utf-8");
  res.setHeader("cache-control", "no-store");
  res.setHeader("x-content-type-options", "nosniff");
  res.setHeader("x-accel-buffering", "no");
  res.flushHeaders?.();
  const closed = new AbortController();
  req.once("close", () => closed.abort());
  res.once("close", () => closed.abort());
  const endAt = Date.now() + (o.maxLifeMs ?? 5 * 60_000);
  const last: Record<string, string> = {};
  let lastWrite = Date.now();

  const send = (event: "list" | "batch" | "gone", value: unknown) => {
    const data = JSON.stringify(value);
    const { now: _now, ...stable } = value as Record<string, unknown>; // the clock alone is no change
    const key = JSON.stringify(stable, (k, v) => (k === "ageSeconds" ? undefined : v));
    if (last[event] === key) return;
    last[event] = key;
    res.write(`event: ${event}\ndata: ${data}\n\n`);
    lastWrite = Date.now();
  };
  const push = () => {
    const now = o.now();
    send("list", dashboardList(o.engine.store, (id) => o.engine.get(id), o.limit, now));
    if (!o.batchId) return;
    const batch = o.engine.get(o.batchId);
    if (batch) send("batch", dashboardBatch(batch, now));
    else send("gone", { batchId: o.batchId });
  };

  res.write(`retry: 1000\n\n`);
  try {
    push();
    while (!closed.signal.aborted && o.engine.running && Date.now() < endAt) {
      // Wake on the first change of any open batch (or the chosen one), else rescan after a second.
      const round = new AbortController();
      const stop = () => round.abort();
      closed.signal.addEventListener("abort", stop, { once: true });
      const watched = new Set([...o.engine.store.openBatchIds(), ...(o.batchId ? [o.batchId] : [])]);
      const deadline = Date.now() + RESCAN_MS;
      await Promise.race([...watched].map((id) => o.engine.nextChange(id, deadline, round.signal)).concat(watched.size ? [] : [sleep(RESCAN_MS, round.signal)]));
      round.abort();
      closed.signal.removeEventListener("abort", stop);
      if (closed.signal.aborted) break;
      await sleep(o.settleMs ?? 50, closed.signal);
      push();
      if (Date.now() - lastWrite > KEEPALIVE_MS) {
        res.write(`: keep-alive\n\n`);
        lastWrite = Date.now();
      }
    }
  } finally {
    res.end();
  }
  return true;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
  });
}
