// The dashboard's HTTP surface, one prefix route behind the gateway's own auth: the page and its JSON.
// GET/HEAD only (the Control UI frame grant allows nothing else). Every answer is no-store: batches change.
import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Engine } from "../engine/engine.js";
import { streamEvents } from "./events.js";
import { BATCH_ID, dashboardBatch, dashboardList } from "./view.js";

export const DASHBOARD_PATH = "/parallel-agents";

export interface DashboardDeps {
  /** The engine of this gateway process (undefined until the plugin's service has started). */
  engine: () => Engine | undefined;
  /** The page, one self-contained HTML document (inline style and script, allowed by hash). */
  page: string;
  /** The economics stats view, when that feature is present; the query string's fields are passed through. */
  stats?: (query: Record<string, string>) => unknown;
  now?: () => number;
  /** Event stream timings (specs shorten them). */
  events?: { maxLifeMs?: number; settleMs?: number };
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

const sha256 = (text: string) => `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`;
const inline = (page: string, tag: "script" | "style") => [...page.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, "g"))].map((m) => sha256(m[1]));

/** The page's policy: its own inline script and style (by hash), fetches to its own origin, nothing else. */
export function pagePolicy(page: string): string {
  return [
    "default-src 'none'",
    `script-src ${inline(page, "script").join(" ") || "'none'"}`,
    `style-src ${inline(page, "style").join(" ") || "'none'"}`,
    "connect-src 'self'",
    "img-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'self'",
  ].join("; ");
}

const COMMON_HEADERS = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

function send(req: IncomingMessage, res: ServerResponse, status: number, type: string, body: string, extra: Record<string, string> = {}): true {
  res.statusCode = status;
  for (const [k, v] of Object.entries({ ...COMMON_HEADERS, "content-type": type, ...extra })) res.setHeader(k, v);
  res.setHeader("content-length", Buffer.byteLength(body));
  res.end(req.method === "HEAD" ? undefined : body);
  return true;
}

const json = (req: IncomingMessage, res: ServerResponse, value: unknown) => send(req, res, 200, "application/json; charset=utf-8", JSON.stringify(value));

function engineOf(deps: DashboardDeps): Engine {
  const e = deps.engine();
  if (!e) throw new HttpError(503, "the parallel-agents engine is not running in this gateway (service not started yet)");
  return e;
}

function limitOf(query: URLSearchParams): number {
  const raw = query.get("limit");
  if (raw === null) return 20;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 500) throw new HttpError(400, "limit must be an integer from 1 to 500");
  return n;
}

/** The route handler: answers every path under /parallel-agents (returns true: the prefix is ours). */
export function dashboardHandler(deps: DashboardDeps) {
  const policy = pagePolicy(deps.page);
  const now = () => deps.now?.() ?? Date.now();
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = new URL(req.url ?? "/", "http://gateway.invalid");
    try {
      if (req.method !== "GET" && req.method !== "HEAD") {
        return send(req, res, 405, "text/plain; charset=utf-8", "the dashboard is read-only: GET or HEAD\n", { allow: "GET, HEAD" });
      }
      const path = url.pathname;
      if (path === DASHBOARD_PATH) return send(req, res, 308, "text/plain; charset=utf-8", "see /parallel-agents/\n", { location: `${DASHBOARD_PATH}/` });
      if (path === `${DASHBOARD_PATH}/`) return send(req, res, 200, "text/html; charset=utf-8", deps.page, { "content-security-policy": policy });
      if (path === `${DASHBOARD_PATH}/api/batches`) {
        const e = engineOf(deps);
        return json(req, res, dashboardList(e.store, (id) => e.get(id), limitOf(url.searchParams), now()));
      }
      if (path === `${DASHBOARD_PATH}/api/events`) {
        const batchId = url.searchParams.get("batch") ?? undefined;
        if (batchId !== undefined && !BATCH_ID.test(batchId)) throw new HttpError(400, "malformed batch id in ?batch=");
        const engine = engineOf(deps);
        if (req.method === "HEAD") return send(req, res, 200, "text/event-stream; charset=utf-8", "");
        return streamEvents(req, res, { engine, batchId, limit: limitOf(url.searchParams), now, ...deps.events });
      }
      const one = path.startsWith(`${DASHBOARD_PATH}/api/batches/`) ? decodeURIComponent(path.slice(`${DASHBOARD_PATH}/api/batches/`.length)) : undefined;
      if (one !== undefined) {
        if (!BATCH_ID.test(one)) throw new HttpError(400, "malformed batch id: expected 4-80 letters, digits, '-' or '_' (e.g. pa-…)");
        const batch = engineOf(deps).get(one);
        if (!batch) throw new HttpError(404, `no batch ${one}`);
        return json(req, res, dashboardBatch(batch, now()));
      }
      if (path === `${DASHBOARD_PATH}/api/stats`) {
        if (!deps.stats) throw new HttpError(404, "stats not available in this version of the plugin");
        return json(req, res, deps.stats(Object.fromEntries(url.searchParams)));
      }
      throw new HttpError(404, `not found: ${path} (the dashboard is at ${DASHBOARD_PATH}/)`);
    } catch (err) {
      const status = err instanceof HttpError ? err.status : err instanceof URIError || (err as Error)?.name === "ToolInputError" ? 400 : 500;
      const message = err instanceof Error ? err.message : String(err);
      return send(req, res, status, "text/plain; charset=utf-8", `${message}\n`);
    }
  };
}
