// The dashboard's routes against a real engine and store (in-memory children): what each path answers,
// its headers (no-store, a strict CSP that allows exactly the page's own inline script and style), the
// refusals (bad id 400, unknown id 404, writes 405, no stats 404), and that the JSON is the CLI's view.
import { createHash } from "node:crypto";
import { EventEmitter } from "node:events";
import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { showView, statusView } from "../../src/cli/views.js";
import { DASHBOARD_TAB, registerDashboard } from "../../src/dashboard/register.js";
import { dashboardHandler, pagePolicy } from "../../src/dashboard/routes.js";
import type { Engine } from "../../src/engine/engine.js";
import { setup, spec } from "../support/batch.js";
import { MemoryRuntime } from "../support/memory-runtime.js";

const PAGE = readFileSync(new URL("../../src/dashboard/page.html", import.meta.url), "utf8");

type Answer = { status: number; headers: Record<string, string>; body: string; json: () => any };

async function get(handler: ReturnType<typeof dashboardHandler>, url: string, method = "GET"): Promise<Answer> {
  const headers: Record<string, string> = {};
  let body = "";
  const res = {
    statusCode: 0,
    setHeader: (k: string, v: string | number) => (headers[k.toLowerCase()] = String(v)),
    end: (chunk?: string) => (body = chunk ?? ""),
  };
  const handled = await handler({ url, method, headers: {} } as IncomingMessage, res as unknown as ServerResponse);
  expect(handled).toBe(true);
  return { status: res.statusCode, headers, body, json: () => JSON.parse(body) };
}

let engines: Engine[] = [];
afterEach(async () => {
  for (const e of engines) await e.stop();
  engines = [];
});

async function finishedBatch() {
  // "esc" fails on the cheap rung and succeeds on the next one; "x" replies with markup.
  const runtime = new MemoryRuntime((req) => (req.message.includes("esc") && req.model === "m/cheap" ? { error: "400 bad" } : { reply: req.message.startsWith("x ") ? "<img src=x onerror=alert(1)>" : "fine" }));
  const s = setup([spec("esc"), spec("x", { prompt: `x ${"y".repeat(3000)}` })], runtime);
  engines.push(s.engine);
  await s.done();
  return s;
}

describe("dashboard routes", () => {
  it("serve the page with no-store and a CSP that allows exactly its inline script and style by hash", async () => {
    const r = await get(dashboardHandler({ engine: () => undefined, page: PAGE }), "/parallel-agents/");
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(r.headers["cache-control"]).toBe("no-store");
    const csp = r.headers["content-security-policy"];
    const script = /<script>([\s\S]*?)<\/script>/.exec(PAGE)![1];
    const hash = `'sha256-${createHash("sha256").update(script).digest("base64")}'`;
    expect(csp).toContain(`script-src ${hash};`);
    expect(csp).toMatch(/^default-src 'none'; /);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    expect(csp).toContain("connect-src 'self'");
    expect(r.body).toBe(PAGE);
  });

  it("a page without inline script gets script-src 'none' (the hash list is computed, not fixed)", () => {
    expect(pagePolicy("<p>x</p>")).toContain("script-src 'none'");
    expect(pagePolicy("<script>a</script><script>b</script>").match(/sha256-/g)).toHaveLength(2);
  });

  it("/parallel-agents redirects to the page; HEAD answers headers only; writes are 405", async () => {
    const h = dashboardHandler({ engine: () => undefined, page: PAGE });
    const redirect = await get(h, "/parallel-agents");
    expect([redirect.status, redirect.headers.location]).toEqual([308, "/parallel-agents/"]);
    const head = await get(h, "/parallel-agents/", "HEAD");
    expect([head.status, head.body, Number(head.headers["content-length"])]).toEqual([200, "", Buffer.byteLength(PAGE)]);
    const post = await get(h, "/parallel-agents/api/batches", "POST");
    expect([post.status, post.headers.allow]).toEqual([405, "GET, HEAD"]);
  });

  it("api/batches is the CLI's status view (every agent's batches), plus the server time", async () => {
    const s = await finishedBatch();
    const r = await get(dashboardHandler({ engine: () => s.engine, page: PAGE, now: () => 1234 }), "/parallel-agents/api/batches?limit=5");
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toBe("application/json; charset=utf-8");
    expect(r.headers["cache-control"]).toBe("no-store");
    expect(r.json()).toEqual({ now: 1234, ...statusView(s.engine.store, (id) => s.engine.get(id), 5, 1234) });
    expect(r.json().batches[0]).toMatchObject({ batchId: s.batch.batchId, runs: 2, counts: { ok: 2 } });
    expect((await get(dashboardHandler({ engine: () => s.engine, page: PAGE }), "/parallel-agents/api/batches?limit=0")).status).toBe(400);
  });

  it("api/batches/<id> is the CLI's show view with attempt times, rungs, costs and capped task/output previews", async () => {
    const s = await finishedBatch();
    const r = await get(dashboardHandler({ engine: () => s.engine, page: PAGE, now: () => 99 }), `/parallel-agents/api/batches/${s.batch.batchId}`);
    expect(r.status).toBe(200);
    const v = r.json();
    const cli = showView(s.engine.get(s.batch.batchId)!, 99);
    expect(v).toMatchObject({ batchId: cli.batchId, counts: cli.counts, tokens: cli.tokens, costUsd: cli.costUsd, ladder: ["m/cheap", "m/mid", "m/strong"] });
    const [esc, x] = v.runs;
    const rungs = esc.attempts.map((a: any) => [a.model, a.rung, a.outcome]);
    expect(rungs[0]).toEqual(["m/cheap", 0, "provider_error"]);
    expect(rungs.at(-1)).toEqual(["m/mid", 1, "ok"]);
    for (const a of esc.attempts) {
      expect(a.endedAtMs).toBeGreaterThanOrEqual(a.startedAtMs);
      expect(typeof a.costUsd).toBe("number");
    }
    expect(x.output).toEqual({ text: "<img src=x onerror=alert(1)>", truncated: false, chars: 28 });
    expect(x.task).toMatchObject({ truncated: true, chars: 3002 });
    expect(x.task.text).toHaveLength(2000);
  });

  it("a malformed id is a 400, an unknown one a 404, an unknown path a 404, all as plain text", async () => {
    const s = await finishedBatch();
    const h = dashboardHandler({ engine: () => s.engine, page: PAGE });
    const bad = await get(h, "/parallel-agents/api/batches/..%2F..%2Fetc");
    expect([bad.status, bad.headers["content-type"]]).toEqual([400, "text/plain; charset=utf-8"]);
    expect(bad.body).toMatch(/malformed batch id/);
    expect((await get(h, "/parallel-agents/api/batches/%E0%A4%A")).status).toBe(400);
    const missing = await get(h, "/parallel-agents/api/batches/pa-nope-00000000");
    expect([missing.status, missing.body]).toEqual([404, "no batch pa-nope-00000000\n"]);
    expect((await get(h, "/parallel-agents/nowhere")).status).toBe(404);
  });

  it("before the engine runs, data routes answer 503 and say why", async () => {
    const r = await get(dashboardHandler({ engine: () => undefined, page: PAGE }), "/parallel-agents/api/batches");
    expect(r.status).toBe(503);
    expect(r.body).toMatch(/engine is not running/);
  });

  it("api/stats is 404 'stats not available' without a provider, and the provider's view with one (query passed through)", async () => {
    expect((await get(dashboardHandler({ engine: () => undefined, page: PAGE }), "/parallel-agents/api/stats")).body).toMatch(/stats not available/);
    const r = await get(dashboardHandler({ engine: () => undefined, page: PAGE, stats: (q) => ({ byModel: [{ model: "m", attempts: 1 }], q }) }), "/parallel-agents/api/stats?since=1h");
    expect(r.json()).toEqual({ byModel: [{ model: "m", attempts: 1 }], q: { since: "1h" } });
  });

  it("registers one gateway-auth prefix route and the Control UI tab pointing at it", () => {
    const routes: any[] = [];
    const tabs: any[] = [];
    registerDashboard({ registerHttpRoute: (r) => routes.push(r), session: { controls: { registerControlUiDescriptor: (d) => tabs.push(d) } } }, { engine: () => undefined });
    expect(routes.map((r) => [r.path, r.auth, r.match])).toEqual([["/parallel-agents", "gateway", "prefix"]]);
    expect(tabs).toEqual([DASHBOARD_TAB]);
    expect(DASHBOARD_TAB).toMatchObject({ surface: "tab", slug: "parallel-agents", label: "Parallel Agents", path: "/parallel-agents/" });
  });

  it("api/events streams the list and the chosen batch at once, then pushes a run's change as it happens, and ends by itself", async () => {
    const runtime = new MemoryRuntime((req) => (req.message.includes("slow") ? { delayMs: 600, reply: "late" } : { reply: "now" }));
    const s = setup([spec("slow"), spec("fast")], runtime);
    engines.push(s.engine);
    const req = Object.assign(new EventEmitter(), { url: `/parallel-agents/api/events?batch=${s.batch.batchId}`, method: "GET", headers: {} });
    const events: { at: number; event: string; data: any }[] = [];
    const headers: Record<string, string> = {};
    let buffer = "";
    const res = Object.assign(new EventEmitter(), {
      statusCode: 0,
      setHeader: (k: string, v: string) => (headers[k] = v),
      flushHeaders: () => undefined,
      write: (chunk: string) => {
        buffer += chunk;
        for (let i = buffer.indexOf("\n\n"); i >= 0; i = buffer.indexOf("\n\n")) {
          const block = buffer.slice(0, i);
          buffer = buffer.slice(i + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event) events.push({ at: Date.now(), event, data: JSON.parse(data!) });
        }
        return true;
      },
      end: () => undefined,
    });
    const handler = dashboardHandler({ engine: () => s.engine, page: PAGE, events: { maxLifeMs: 3_000 } });
    const started = Date.now();
    await handler(req as unknown as IncomingMessage, res as unknown as ServerResponse);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_900); // ended by its own life limit
    expect([res.statusCode, headers["content-type"], headers["cache-control"]]).toEqual([200, "text/event-stream; charset=utf-8", "no-store"]);
    expect(events.slice(0, 2).map((e) => e.event)).toEqual(["list", "batch"]);
    expect(events[0].data.batches[0].batchId).toBe(s.batch.batchId);
    const okEvent = events.find((e) => e.event === "batch" && e.data.runs[0].state === "ok");
    expect(okEvent, JSON.stringify(events.map((e) => e.event))).toBeDefined();
    const endedAt = okEvent!.data.runs[0].attempts[0].endedAtMs;
    expect(okEvent!.at - endedAt).toBeLessThan(500); // pushed on the engine's change, not on a poll
    // Nothing is sent twice: consecutive batch events differ.
    const batches = events.filter((e) => e.event === "batch").map((e) => JSON.stringify({ ...e.data, now: 0, ageSeconds: 0 }));
    expect(new Set(batches).size).toBe(batches.length);
  });

  it("api/events refuses a malformed ?batch= with a 400", async () => {
    const s = await finishedBatch();
    const r = await get(dashboardHandler({ engine: () => s.engine, page: PAGE }), "/parallel-agents/api/events?batch=%3Cimg%3E");
    expect(r.status).toBe(400);
  });
});
