#!/usr/bin/env node
// `npm run demo`: boots the real OpenClaw gateway (pinned 2026.9.6, isolated temp state, loopback only) with
// this plugin, runs a small team through the plugin's tools and prints live progress and a per-agent table.
//
// Default: fully offline. The model is the scripted fake from the e2e harness, playing a cheap / mid / strong
// model ladder with realistic replies; the cheap model botches a JSON contract so escalation shows.
// Real provider, if the environment has one (first match wins):
//   OPENAI_BASE_URL (OpenAI-compatible, e.g. a local server; OPENAI_API_KEY optional; DEMO_MODEL or the
//   server's first /models entry), ANTHROPIC_API_KEY (DEMO_MODEL, default claude-haiku-4-5),
//   OPENAI_API_KEY (DEMO_MODEL, default gpt-4o-mini).
// Ctrl-C cancels the batch (parallel_cancel), stops the gateway and its workers, and exits 130.
import { rmSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT, startGateway } from "../tests/e2e/support/gateway.mjs";

const t0 = Date.now();
const since = (t = t0) => `${t === t0 ? "" : "+"}${((Date.now() - t) / 1000).toFixed(1).padStart(5)}s`;
const say = (line = "") => process.stdout.write(`${line}\n`);
const NAME = `demo-${process.pid}`; // temp root: $TMPDIR/pa-demo-<pid>-XXXXXX

const CODE = `import { db } from "./db";

export async function findUsers(req, res) {
  const name = req.query.name;
  const rows = await db.query("SELECT * FROM users WHERE name = '" + name + "'");
  const out = [];
  for (const r of rows) {
    if (!out.find((o) => o.id === r.id)) out.push(r);   // de-duplicate
  }
  res.json(out);
}`;

const RELEASE_NOTE_SCHEMA = {
  type: "object",
  required: ["title", "risk", "changes"],
  additionalProperties: false,
  properties: {
    title: { type: "string" },
    risk: { enum: ["low", "medium", "high"] },
    changes: { type: "array", items: { type: "string" }, minItems: 1 },
  },
};

// ---- provider selection ---------------------------------------------------------------------------------

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1", "[::1]"]);

async function firstServerModel(baseUrl, apiKey) {
  try {
    const res = await fetch(`${baseUrl}/models`, { headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {}, signal: AbortSignal.timeout(5000) });
    const body = await res.json();
    return body?.data?.[0]?.id ?? null;
  } catch {
    return null;
  }
}

/** The real provider the environment asks for, or null for the offline scripted model. */
async function realProvider(env = process.env) {
  let p = null;
  if (env.OPENAI_BASE_URL) {
    const baseUrl = env.OPENAI_BASE_URL.replace(/\/+$/, "");
    const model = env.DEMO_MODEL || (await firstServerModel(baseUrl, env.OPENAI_API_KEY));
    if (!model) throw new Error(`OPENAI_BASE_URL=${baseUrl}: set DEMO_MODEL (the server's GET /models listed none)`);
    p = { kind: "OpenAI-compatible server", api: "openai-completions", baseUrl, apiKey: env.OPENAI_API_KEY || "none", model };
  } else if (env.ANTHROPIC_API_KEY) {
    p = { kind: "Anthropic", api: "anthropic-messages", baseUrl: "https://api.anthropic.com", apiKey: env.ANTHROPIC_API_KEY, model: env.DEMO_MODEL || "claude-haiku-4-5" };
  } else if (env.OPENAI_API_KEY) {
    p = { kind: "OpenAI", api: "openai-completions", baseUrl: "https://api.openai.com/v1", apiKey: env.OPENAI_API_KEY, model: env.DEMO_MODEL || "gpt-4o-mini" };
  }
  if (p) p.loopback = LOOPBACK.has(new URL(p.baseUrl).hostname);
  return p;
}

function gatewayOptions(provider) {
  const base = { name: NAME, pluginDir: REPO_ROOT, install: "config" };
  if (!provider) {
    return {
      ...base,
      pluginConfig: {
        ladder: ["fake/cheap", "fake/mid", "fake/strong"],
        prices: { "fake/cheap": { input: 0.25, output: 1.25 }, "fake/mid": { input: 1, output: 5 }, "fake/strong": { input: 5, output: 25 } },
      },
      subagent: { allowModelOverride: true },
    };
  }
  const ref = `demo/${provider.model}`;
  return {
    ...base,
    warmup: false, // the fixture's warm-up turn expects the scripted model
    pluginConfig: { ladder: [ref] },
    subagent: { allowModelOverride: true },
    config: {
      agents: { defaults: { model: { primary: ref } } },
      models: {
        providers: {
          demo: {
            baseUrl: provider.baseUrl, apiKey: provider.apiKey, api: provider.api,
            models: [{ id: provider.model, name: provider.model, contextWindow: 128000, maxTokens: 4096 }],
          },
        },
      },
    },
    // The loopback guard refuses every non-loopback connection. A remote provider needs egress, so only in
    // that case is the guard left out (explicitly, and said so on screen).
    ...(provider.loopback ? {} : { env: { NODE_OPTIONS: "" } }),
  };
}

// ---- scripted replies for the offline model ------------------------------------------------------------

function scriptFakeModel(fake) {
  fake.script([
    {
      name: "quality", match: "Quality: correctness", delay: 1800,
      reply: [
        "Verdict: approve with changes",
        "1. medium — findUsers: the de-duplication walks `out` for every row (see performance) and hides why duplicates appear; dedupe in SQL (DISTINCT) or with a Set of ids.",
        "2. medium — no error handling: a failing query rejects and Express never answers. Wrap in try/catch and return 500.",
        "3. low — `SELECT *` couples the handler to the table layout; list the columns the client needs.",
      ].join("\n"),
    },
    {
      name: "security", match: "Security: injection", delay: 3200,
      reply: [
        "Verdict: request changes",
        "1. critical — SQL injection: `name` from the query string is concatenated into the SQL. `?name=' OR '1'='1` returns every user; `'; DROP TABLE users; --` is worse. Fix: `db.query(\"SELECT id, name FROM users WHERE name = $1\", [name])`.",
        "2. high — data exposure: `SELECT *` returns password hashes and emails to any caller. Select public columns only.",
        "3. medium — no authentication check on a user lookup endpoint.",
      ].join("\n"),
    },
    {
      name: "performance", match: "Performance: algorithmic", delay: 2400,
      reply: [
        "Verdict: approve with changes",
        "1. high — O(n²) de-duplication: `out.find` inside the loop; 10k rows = 50M comparisons. Use a Set of seen ids (O(n)) or DISTINCT in SQL.",
        "2. medium — unbounded result: no LIMIT/pagination, so one popular name loads the whole table into memory.",
        "3. low — `name` is not indexed (assumed): add an index on users(name).",
      ].join("\n"),
    },
    // The JSON contract: the cheap model returns broken JSON, then prose after the corrective follow-up,
    // so the run climbs to the mid model, which answers with valid JSON.
    { name: "note-cheap", model: "cheap", match: "release note", delay: 900, invalidJson: true },
    { name: "note-cheap-fix", model: "cheap", match: "Your previous answer cannot be used", delay: 700, reply: "Sure! Title: Fix user search. Risk: high. Changes: parameterised query, dedupe." },
    {
      name: "note-mid", model: "mid", match: "release note", delay: 1300,
      reply: JSON.stringify({ title: "Harden user search", risk: "high", changes: ["Parameterise the name lookup (SQL injection)", "Return public columns only", "De-duplicate with a Set instead of a nested scan"] }),
    },
  ]);
}

// ---- rendering -----------------------------------------------------------------------------------------

const secondsOf = (run) => {
  const starts = run.attempts.map((a) => Date.parse(a.startedAt)).filter(Number.isFinite);
  const ends = run.attempts.map((a) => Date.parse(a.endedAt)).filter(Number.isFinite);
  if (!starts.length) return "";
  const end = ends.length && !["running", "queued"].includes(run.state) ? Math.max(...ends) : Date.now();
  return ((end - Math.min(...starts)) / 1000).toFixed(1);
};

function table(runs) {
  const head = ["label", "state", "model used", "attempts", "tokens", "cost USD", "seconds"];
  const rows = runs.map((r) => [
    r.label, r.state, r.model,
    r.attempts.map((a) => `${a.modelUsed ?? a.model}:${a.outcome}`).join(" → ") || "0",
    String(r.usage.tokens), r.usage.costUsd.toFixed(4), secondsOf(r),
  ]);
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => cells.map((c, i) => (i >= 4 ? c.padStart(width[i]) : c.padEnd(width[i]))).join("  ");
  return [line(head), width.map((w) => "─".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

/** Prints one line per change of a run's state, model or attempt, and each finished attempt's outcome. */
function progressPrinter(batchStart) {
  const seen = new Map();
  return (runs) => {
    for (const r of runs) {
      const prev = seen.get(r.label) ?? { key: "", outcomes: 0 };
      const done = r.attempts.filter((a) => a.outcome !== "running");
      for (const a of done.slice(prev.outcomes)) {
        if (a.outcome !== "ok") say(`${since(batchStart)}  ${r.label.padEnd(12)} attempt on ${a.modelUsed ?? a.model} ended: ${a.outcome}${a.reason ? ` (${a.reason.slice(0, 90)})` : ""}`);
      }
      const last = r.attempts.at(-1);
      const key = `${r.state}|${last?.model}|${r.attempts.length}`;
      if (key !== prev.key) {
        const where = last ? ` on ${last.modelUsed ?? last.model}, attempt ${r.attempts.length}` : "";
        const what = r.state === "queued" && last ? `queued for attempt ${r.attempts.length + 1} (after ${last.outcome} on ${last.modelUsed ?? last.model})` : `${r.state}${where}`;
        say(`${since(batchStart)}  ${r.label.padEnd(12)} ${what}`);
      }
      seen.set(r.label, { key, outcomes: done.length });
    }
  };
}

// ---- main ----------------------------------------------------------------------------------------------

let gw = null;
let batchId = null;
let stopping = false;

async function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  say(`\n${signal}: stopping${batchId ? `, cancelling batch ${batchId}` : ""}…`);
  const hardStop = setTimeout(() => process.exit(130), 20_000);
  try {
    if (gw && batchId) {
      const r = await gw.invokeTool("parallel_cancel", { batchId }, { timeoutMs: 8000 }).catch((err) => ({ status: 0, body: String(err) }));
      if (r.status === 200) {
        const runs = r.body.result.details.runs ?? [];
        say(`cancelled: ${runs.filter((x) => x.state === "cancelled").map((x) => x.label).join(", ") || "nothing still running"}`);
      }
    }
    if (gw) await gw.stop();
  } finally {
    // Interrupted during boot: the fixture's exit hook kills the gateway tree; remove its temp root here.
    for (const d of readdirSync(tmpdir()).filter((e) => e.startsWith(`pa-${NAME}-`))) rmSync(join(tmpdir(), d), { recursive: true, force: true });
    clearTimeout(hardStop);
    say("gateway stopped; nothing left running.");
    process.exit(130);
  }
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));

async function main() {
  const provider = await realProvider();
  say("openclaw-parallel-agents demo");
  if (provider) {
    say(`model: ${provider.kind} ${provider.baseUrl}, model ${provider.model}`);
    say(provider.loopback ? "network: loopback only (guard on)" : `network: egress allowed (real provider at ${new URL(provider.baseUrl).host}; loopback guard off)`);
  } else {
    say("model: scripted offline model (fake/cheap → fake/mid → fake/strong); set OPENAI_BASE_URL, ANTHROPIC_API_KEY or OPENAI_API_KEY to use a real one");
    say("network: loopback only (guard on)");
  }
  say(`${since()}  booting OpenClaw gateway (pinned 2026.9.6; first run provisions it into .cache/runtime)…`);
  const options = gatewayOptions(provider);
  gw = await startGateway(options);
  if (stopping) return;
  say(`${since()}  gateway ready on ${gw.url} (pid ${gw.pid}) with plugin ${gw.pluginId}`);
  if (!provider) scriptFakeModel(gw.fake);

  const spawnArgs = {
    team: "code-review",
    vars: { code: CODE, language: "TypeScript (Express handler)", context: "User search endpoint; the team reviews it before release." },
    tasks: [{
      label: "release-note",
      task: `Write a release note for the fix of this user search handler (SQL injection, data exposure, O(n²) de-duplication):\n\n${CODE}`,
      outputSchema: RELEASE_NOTE_SCHEMA,
    }],
    waitSeconds: 0,
  };
  const batchStart = Date.now();
  const spawned = await gw.invokeTool("parallel_spawn", spawnArgs, { timeoutMs: 60_000 });
  if (spawned.status !== 200) throw new Error(`parallel_spawn failed: ${spawned.status} ${JSON.stringify(spawned.body).slice(0, 600)}`);
  const d0 = spawned.body.result.details;
  batchId = d0.batchId;
  say(`${since()}  parallel_spawn team "code-review" + a JSON release note → batch ${batchId}, ${d0.runs.length} runs, estimate ${d0.estimate?.tokens ?? "?"} tokens / $${d0.estimate?.costUsd ?? "?"}`);
  // Which rungs the gateway can run: the plugin skips the others and says so in the batch's notes.
  const ladderNotes = (d0.notes ?? []).filter((n) => /ladder|rung|escalation/i.test(n));
  say(`ladder: ${options.pluginConfig.ladder.join(" → ")}${ladderNotes.length ? ` — ${ladderNotes.join("; ")}` : " (every rung usable on this gateway)"}`);
  say("");
  const progress = progressPrinter(batchStart);
  progress(d0.runs);

  let details = d0;
  const deadline = Date.now() + (provider ? 240_000 : 60_000);
  while (!details.complete && !stopping) {
    if (Date.now() > deadline) throw new Error(`batch ${batchId} not complete in time`);
    const r = await gw.invokeTool("poll_until_complete", { batchId, timeoutSeconds: 1 }, { timeoutMs: 30_000 });
    if (stopping) return;
    if (r.status !== 200) throw new Error(`poll_until_complete failed: ${r.status} ${JSON.stringify(r.body).slice(0, 600)}`);
    details = r.body.result.details;
    progress(details.runs);
  }
  if (stopping) return;

  say("");
  say(table(details.runs));
  say("");
  const c = details.counts;
  say(`batch: ${c.ok} ok, ${c.failed} failed, ${c.timedOut} timed out, ${c.cancelled} cancelled · ${details.usage.tokens} tokens · $${details.usage.costUsd.toFixed(4)} · ${((Date.now() - batchStart) / 1000).toFixed(1)} s wall`);
  for (const r of details.runs) {
    const first = r.json !== undefined ? JSON.stringify(r.json) : (r.output.split("\n").find((l) => l.trim()) ?? "");
    say(`  ${r.label.padEnd(12)} ${first.slice(0, 110)}${first.length > 110 ? "…" : ""}`);
  }
  if (!provider) {
    gw.assertNoEgress();
    say("network: no connection left loopback");
  }
  batchId = null;
  await gw.stop();
  gw = null;
  say(`${since()}  gateway stopped; done.`);
}

main().then(
  () => {
    if (!stopping) process.exit(0);
  },
  async (err) => {
    if (stopping) return;
    process.stderr.write(`demo failed: ${err?.stack ?? err}\n`);
    stopping = true;
    if (gw) {
      gw.markFailed(); // keeps the temp root with the gateway's logs, printed by stop()
      await gw.stop().catch(() => {});
    }
    process.exit(1);
  },
);
