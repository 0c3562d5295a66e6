#!/usr/bin/env node
// Scripted fake model: OpenAI Chat Completions (streaming SSE, as OpenClaw's openai-completions client
// expects it) on loopback. What it answers is decided in fake-model-script.mjs; this file is the wire
// format, the request log and the control endpoints.
//
// In-process: `const fake = await startFakeModel({ port: 0 })`. Standalone: `node fake-model.mjs --port N`
// prints {"url":...} and serves until SIGTERM. Control endpoints: GET /__requests, POST /__script
// (a rule or an array of rules), POST /__reset, GET /__health.
import { createServer } from "node:http";
import { appendFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { brokenLimit, decide, describeRequest, modelMatches } from "./fake-model-script.mjs";

const cut = (s, n) => (typeof s === "string" && s.length > n ? `${s.slice(0, n)}…` : s);
const estimateTokens = (chars) => Math.max(1, Math.ceil(chars / 4));

/**
 * @param {{ port?: number, host?: string, bodyLog?: string }} [opts] bodyLog: append full request bodies (JSONL)
 * @returns {Promise<FakeModel>}
 */
export async function startFakeModel({ port = 0, host = "127.0.0.1", bodyLog } = {}) {
  if (!["127.0.0.1", "::1", "localhost"].includes(host)) throw new Error(`fake model is loopback-only, got ${host}`);
  let rules = [];
  let log = [];
  /** Concurrency limits ({ model, maxOpen }) and what they saw: peak open requests served, 429s given. */
  let limits = [];
  let seq = 0;
  const waiters = new Set();

  const script = (modelOrRule, behaviour) => {
    const list = Array.isArray(modelOrRule) ? modelOrRule : [typeof modelOrRule === "string" ? { ...behaviour, model: modelOrRule } : modelOrRule];
    rules.push(...list.map((r) => ({ ...r })));
  };
  const reset = () => {
    rules = [];
    log = [];
    limits = [];
  };
  const served = (l, self) => log.filter((e) => e !== self && e.endedAt === null && e.reply?.why !== "limit" && modelMatches(l.model, e.model)).length;
  const limit = (model, maxOpen) => {
    limits.push({ model, maxOpen, peakOpen: 0, rejected: 0, served: 0 });
  };
  const limitStats = () => limits.map(({ model, maxOpen, peakOpen, rejected, served: n }) => ({ model: String(model), maxOpen, peakOpen, rejected, served: n }));
  const notify = () => {
    for (const w of waiters) w();
  };

  async function completions(req, res, body) {
    const info = describeRequest(body);
    const entry = {
      seq: ++seq, model: info.model, isSubagent: info.isSubagent, sessionKey: info.sessionKey,
      startedAt: Date.now(), endedAt: null, aborted: false, lastUser: cut(info.lastUser, 20000),
      toolTurns: info.toolTurns, toolResults: info.toolResults,
      lastTool: info.lastTool && { name: info.lastTool.name, text: cut(info.lastTool.text, 8000) },
      toolCount: info.toolNames.length, reply: null,
    };
    log.push(entry);
    if (bodyLog) appendFileSync(bodyLog, `${JSON.stringify({ seq: entry.seq, body })}\n`);
    const broken = brokenLimit(info, limits, (l) => served(l, entry));
    const answer = broken
      ? { kind: "error", status: 429, delay: 0, why: "limit", message: `too many concurrent requests (limit ${broken.maxOpen})` }
      : decide(info, rules);
    if (broken) broken.rejected++;
    for (const l of limits) {
      if (broken || !modelMatches(l.model, info.model)) continue;
      l.served++;
      l.peakOpen = Math.max(l.peakOpen, served(l, entry) + 1);
    }
    entry.reply = { kind: answer.kind, why: answer.why, text: cut(answer.text, 300), status: answer.status,
      tools: answer.tools?.map((t) => ({ name: t.name, args: cut(JSON.stringify(t.args), 300) })) };
    notify();

    let closed = false;
    const finish = (aborted) => {
      if (entry.endedAt) return;
      entry.endedAt = Date.now();
      entry.aborted = aborted;
      if (aborted) entry.reply.kind = `${entry.reply.kind}:aborted`;
      notify();
    };
    // The client closing before we finished = OpenClaw aborted the attempt (timeout, cancel, shutdown).
    const closedP = new Promise((r) => res.on("close", () => { closed = true; finish(!res.writableFinished); r(); }));
    if (answer.kind === "hang") return closedP;
    if (answer.delay > 0) await Promise.race([closedP, new Promise((r) => setTimeout(r, answer.delay))]);
    if (closed) return;

    if (answer.kind === "error") {
      res.writeHead(answer.status, { "content-type": "application/json" });
      const type = answer.status === 429 ? "rate_limit_error" : "invalid_request_error";
      res.end(JSON.stringify({ error: { message: `fake model: ${answer.message ?? `scripted HTTP ${answer.status}`}`, type, code: null } }));
      return finish(false);
    }
    const id = `chatcmpl-fake-${entry.seq}`;
    const answeredBy = answer.answerAs ?? info.model;
    const chunk = (choices, extra) => JSON.stringify({ id, object: "chat.completion.chunk", created: Math.floor(Date.now() / 1000), model: answeredBy, choices, ...extra });
    const toolCalls = (answer.tools ?? []).map((t, i) => ({ index: i, id: `call_fake_${entry.seq}_${i}`, type: "function", name: t.name, args: JSON.stringify(t.args ?? {}) }));
    const outChars = (answer.text ?? "").length + toolCalls.reduce((n, t) => n + t.args.length, 0);
    const usage = {
      prompt_tokens: answer.usage?.prompt_tokens ?? estimateTokens(JSON.stringify(body.messages ?? []).length),
      completion_tokens: answer.usage?.completion_tokens ?? estimateTokens(outChars),
    };
    usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
    // A scripted prompt-cache split (OpenAI shape: cached and cache-write tokens are part of prompt_tokens).
    if (answer.usage?.prompt_tokens_details) usage.prompt_tokens_details = { ...answer.usage.prompt_tokens_details };
    entry.usage = usage; // what this answer billed, for specs that check the plugin's cost figures
    const finishReason = toolCalls.length ? "tool_calls" : "stop";

    if (body.stream === false) {
      const message = { role: "assistant", content: answer.text ?? null };
      if (toolCalls.length) message.tool_calls = toolCalls.map((t) => ({ id: t.id, type: "function", function: { name: t.name, arguments: t.args } }));
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ id, object: "chat.completion", model: answeredBy, choices: [{ index: 0, message, finish_reason: finishReason }], usage }));
      return finish(false);
    }
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
    const send = (data) => res.write(`data: ${data}\n\n`);
    send(chunk([{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }]));
    for (const part of splitText(answer.text ?? "")) send(chunk([{ index: 0, delta: { content: part }, finish_reason: null }]));
    for (const t of toolCalls) {
      send(chunk([{ index: 0, delta: { tool_calls: [{ index: t.index, id: t.id, type: "function", function: { name: t.name, arguments: "" } }] }, finish_reason: null }]));
      for (const part of splitText(t.args)) send(chunk([{ index: 0, delta: { tool_calls: [{ index: t.index, function: { arguments: part } }] }, finish_reason: null }]));
    }
    send(chunk([{ index: 0, delta: {}, finish_reason: finishReason }]));
    send(chunk([], { usage }));
    send("[DONE]");
    res.end();
    finish(false);
  }

  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? "/", "http://fake");
      const raw = req.method === "POST" ? await readBody(req) : "";
      const json = (code, value) => { res.writeHead(code, { "content-type": "application/json" }); res.end(JSON.stringify(value)); };
      if (req.method === "POST" && url.pathname.endsWith("/chat/completions")) return await completions(req, res, JSON.parse(raw || "{}"));
      if (url.pathname === "/__requests") return json(200, log);
      if (url.pathname === "/__health") return json(200, { ok: true, requests: log.length, rules: rules.length });
      if (req.method === "POST" && url.pathname === "/__reset") return reset(), json(200, { ok: true });
      if (req.method === "POST" && url.pathname === "/__script") return script(JSON.parse(raw)), json(200, { ok: true, rules: rules.length });
      if (req.method === "POST" && url.pathname === "/__limit") return limit(JSON.parse(raw).model, JSON.parse(raw).maxOpen), json(200, { ok: true });
      if (url.pathname === "/__limits") return json(200, limitStats());
      json(404, { error: { message: `fake model: no route ${req.method} ${url.pathname}` } });
    } catch (err) {
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: `fake model internal error: ${err?.message}` } }));
    }
  });
  // Long hangs/delays must not be cut by Node's default request timeouts.
  server.requestTimeout = 0;
  server.headersTimeout = 0;
  await new Promise((ok, fail) => server.once("error", fail).listen(port, host, ok));
  const actualPort = server.address().port;
  const origin = `http://127.0.0.1:${actualPort}`;

  return {
    origin,
    url: `${origin}/v1`,
    port: actualPort,
    /** Request log entries, optionally filtered. */
    requests: (filter = () => true) => log.filter(filter),
    script,
    reset,
    /** Answer 429 to requests for `model` beyond `maxOpen` open at once (a provider's concurrency limit). */
    limit,
    /** Per limit: peak open requests served, 429s given, requests served. */
    limitStats,
    /** Clears the log only (e.g. after the warm-up turn), keeping scripted rules. */
    clearRequests: () => { log = []; },
    /** Resolves with the matching entries once `pred(entries)` is truthy; rejects after timeoutMs. */
    waitFor(pred, { timeoutMs = 30_000 } = {}) {
      return new Promise((ok, fail) => {
        const check = () => {
          if (!pred(log)) return;
          cleanup();
          ok(log);
        };
        const timer = setTimeout(() => { cleanup(); fail(new Error(`fake model: condition not met in ${timeoutMs} ms`)); }, timeoutMs);
        const cleanup = () => { clearTimeout(timer); waiters.delete(check); };
        waiters.add(check);
        check();
      });
    },
    close: () => new Promise((ok) => { server.closeAllConnections?.(); server.close(() => ok()); }),
  };
}

function splitText(text) {
  if (!text) return [];
  const mid = Math.ceil(text.length / 2);
  return text.length < 8 ? [text] : [text.slice(0, mid), text.slice(mid)];
}

function readBody(req) {
  return new Promise((ok, fail) => {
    const parts = [];
    req.on("data", (c) => parts.push(c)).on("end", () => ok(Buffer.concat(parts).toString("utf8"))).on("error", fail);
  });
}

/**
 * True when two entries for the same `key(entry)` (e.g. a child session) were in flight at once.
 * @returns {Array<[object, object]>} the overlapping pairs
 */
export function overlappingRequests(entries, key = (e) => e.sessionKey) {
  const pairs = [];
  const byKey = new Map();
  for (const e of entries) byKey.set(key(e), [...(byKey.get(key(e)) ?? []), e]);
  for (const list of byKey.values()) {
    for (let i = 1; i < list.length; i++) {
      const prev = list[i - 1];
      if (prev.endedAt === null || prev.endedAt > list[i].startedAt) pairs.push([prev, list[i]]);
    }
  }
  return pairs;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const portArg = process.argv.indexOf("--port");
  const fake = await startFakeModel({ port: portArg > 0 ? Number(process.argv[portArg + 1]) : 0, bodyLog: process.env.FAKE_MODEL_BODY_LOG });
  console.log(JSON.stringify({ url: fake.url, port: fake.port }));
  process.on("SIGTERM", () => fake.close().then(() => process.exit(0)));
  process.on("SIGINT", () => fake.close().then(() => process.exit(0)));
}
