// Decides what the fake model answers to one chat-completions request. Pure functions, no I/O,
// so the decision logic can be read (and reasoned about) apart from the HTTP/SSE plumbing.
//
// Precedence: scripted rules (JS API / POST /__script) > directives in the latest real user message
// > completion relay > tool-result echo > default echo.

const INTERNAL_CONTEXT = "<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>>";
export const INVALID_JSON_TEXT = '{"result": "truncated, not json';

/** Plain text of a message's content (string or an array of parts). */
export function textOf(content) {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.map((p) => (typeof p === "string" ? p : p?.text ?? "")).join("");
  return "";
}

/** Index of the latest user message that is not OpenClaw's synthetic internal-context message. */
export function lastRealUserIndex(messages) {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m.role === "user" && !textOf(m.content).trimStart().startsWith(INTERNAL_CONTEXT)) return i;
  }
  return -1;
}

/** Facts about a request that rules, directives and the request log all use. */
export function describeRequest(body) {
  const messages = Array.isArray(body?.messages) ? body.messages : [];
  const userIdx = lastRealUserIndex(messages);
  const lastUser = userIdx >= 0 ? textOf(messages[userIdx].content) : "";
  const after = userIdx >= 0 ? messages.slice(userIdx + 1) : messages;
  const all = messages.map((m) => textOf(m.content)).join("\n");
  const sessionMatch = /\bsession(?:Key)?[=:]\s*"?(agent:[^\s|"]+)/.exec(all);
  // OpenClaw appends its internal-context user message after tool results too, so look past it.
  const last = after.findLast((m) => m.role !== "user");
  return {
    model: String(body?.model ?? ""),
    lastUser,
    // Turns already spent on tool calls since the user spoke: the k-th tool directive fires after k-1 of them.
    toolTurns: after.filter((m) => m.role === "assistant" && Array.isArray(m.tool_calls) && m.tool_calls.length).length,
    toolResults: after.filter((m) => m.role === "tool").length,
    toolTexts: after.filter((m) => m.role === "tool").map((m) => textOf(m.content)),
    lastTool: last?.role === "tool" ? { name: toolNameFor(messages, last.tool_call_id), text: textOf(last.content) } : null,
    isSubagent: /\[Subagent (Context|Task)\]/.test(all) || Boolean(sessionMatch?.[1]?.includes(":subagent:")),
    sessionKey: sessionMatch?.[1] ?? null,
    toolNames: (body?.tools ?? []).map((t) => t?.function?.name).filter(Boolean),
  };
}

function toolNameFor(messages, callId) {
  for (const m of messages) for (const c of m.tool_calls ?? []) if (c.id === callId) return c.function?.name ?? "?";
  return "?";
}

/** End index (exclusive) of the JSON value starting at `start` ('{' or '['), string-aware; -1 if unbalanced. */
function matchJson(text, start) {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === "\\") i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === "{" || ch === "[") depth++;
    else if (ch === "}" || ch === "]") {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

/**
 * Top-level directives of a text. `[[tool:NAME {json}]]` skips its brace-matched JSON, so directives nested
 * inside a task string are left for the child that receives that task. `NAME@model` scopes a directive to
 * requests for that model (e.g. `[[error@cheap:400]]`, `[[invalid-json@fake/cheap]]`).
 */
export function parseDirectives(text) {
  const out = [];
  const re = /\[\[([a-z-]+)(?:@([\w./-]+))?(?::|\]\])/g;
  let m;
  while ((m = re.exec(text))) {
    const [whole, name, model] = m;
    const argStart = m.index + whole.length;
    if (whole.endsWith("]]")) {
      out.push({ name, model, arg: "" });
      continue;
    }
    if (name === "tool") {
      const sp = /^([\w.-]+)\s*/.exec(text.slice(argStart));
      const jsonStart = sp ? argStart + sp[0].length : -1;
      const end = jsonStart >= 0 && "{[".includes(text[jsonStart]) ? matchJson(text, jsonStart) : -1;
      if (!sp || end < 0 || !text.startsWith("]]", end)) continue;
      let args;
      try {
        args = JSON.parse(text.slice(jsonStart, end));
      } catch {
        continue;
      }
      out.push({ name, model, tool: { name: sp[1], args } });
      re.lastIndex = end + 2;
      continue;
    }
    const close = text.indexOf("]]", argStart);
    if (close < 0) break;
    out.push({ name, model, arg: text.slice(argStart, close) });
    re.lastIndex = close + 2;
  }
  return out;
}

/** True when a rule/directive model filter names this request's model ("cheap" or "fake/cheap"). */
export function modelMatches(filter, model) {
  if (!filter) return true;
  if (filter instanceof RegExp) return filter.test(model);
  return filter === model || filter.endsWith(`/${model}`) || model.endsWith(`/${filter}`);
}

function ruleMatches(rule, req) {
  if (!modelMatches(rule.model, req.model)) return false;
  if (rule.match && !req.lastUser.includes(rule.match)) return false;
  if (rule.session && req.sessionKey !== rule.session) return false;
  if (rule.subagent !== undefined && rule.subagent !== req.isSubagent) return false;
  return true;
}

const BATCH_ID = /\bpa-[a-z0-9]+-[0-9a-f]{8}\b/;

/**
 * `"$batchId"` in a tool directive's args becomes the newest batch id seen in this turn's tool results,
 * so one scripted user message can drive parallel_spawn and then poll_until_complete on that batch.
 */
export function withBatchId(tool, toolTexts) {
  const json = JSON.stringify(tool.args);
  if (!json.includes("$batchId")) return tool;
  const id = toolTexts.map((t) => BATCH_ID.exec(t)?.[0]).filter(Boolean).at(-1) ?? "no-batch-id-seen";
  return { ...tool, args: JSON.parse(json.replaceAll("$batchId", id)) };
}

/** Directives → the same behaviour shape a rule has. */
function behaviourFromDirectives(req) {
  const ds = parseDirectives(req.lastUser).filter((d) => modelMatches(d.model, req.model));
  if (!ds.length) return null;
  const b = {};
  const tools = ds.filter((d) => d.name === "tool").map((d) => d.tool);
  if (tools[req.toolTurns]) b.tool = withBatchId(tools[req.toolTurns], req.toolTexts ?? []);
  for (const d of ds) {
    if (d.name === "reply") b.reply = d.arg;
    else if (d.name === "delay") b.delay = Number(d.arg);
    else if (d.name === "error") b.error = Number(d.arg) || 400;
    else if (d.name === "empty") b.empty = true;
    else if (d.name === "invalid-json") b.invalidJson = true;
    else if (d.name === "hang") b.hang = true;
    else if (d.name === "answer-as") b.answerAs = d.arg; // the response names another model than requested
  }
  return b;
}

/**
 * What to answer: { kind: "text"|"tool"|"error"|"empty"|"hang", text?, tools?, status?, delay, why, usage? }.
 * Consumes one use of the matching rule (rules with `times` disappear when used up).
 */
export function decide(req, rules) {
  const idx = rules.findIndex((r) => ruleMatches(r, req));
  let b;
  let why;
  if (idx >= 0) {
    const rule = rules[idx];
    if (rule.times !== undefined && --rule.times <= 0) rules.splice(idx, 1);
    b = rule;
    why = `rule${rule.name ? `:${rule.name}` : ""}`;
  } else {
    b = behaviourFromDirectives(req);
    why = "directive";
  }
  const delay = Number(b?.delay) || 0;
  const base = { delay, why, usage: b?.usage, ...(b?.answerAs ? { answerAs: String(b.answerAs) } : {}) };
  if (b?.hang) return { ...base, kind: "hang" };
  if (b?.error) return { ...base, kind: "error", status: Number(b.error) };
  const tools = b?.tools ?? (b?.tool ? [b.tool] : []);
  if (tools.length) return { ...base, kind: "tool", tools };
  if (b?.empty) return { ...base, kind: "empty", text: "" };
  if (b?.invalidJson) return { ...base, kind: "text", text: INVALID_JSON_TEXT, invalidJson: true };
  if (b?.reply !== undefined) return { ...base, kind: "text", text: String(b.reply) };
  return { ...base, ...fallback(req), why: b ? `${why}+fallback` : "fallback" };
}

/**
 * Concurrency limits, as a provider on a low API tier has them: `{ model, maxOpen }` answers 429 to a
 * request for that model (same filter as rules) that arrives while `maxOpen` requests for it are open.
 * Returns the limit this request breaks, or null. `openFor(limit)` counts the open requests it covers.
 */
export function brokenLimit(req, limits, openFor) {
  return limits.find((l) => modelMatches(l.model, req.model) && openFor(l) >= l.maxOpen) ?? null;
}

function fallback(req) {
  const relay = /Child result[^\n]*\n<prompt-data>\n([\s\S]*?)\n<\/prompt-data>/g;
  const results = [...req.lastUser.matchAll(relay)].map((m) => m[1].trim());
  if (results.length) return { kind: "text", text: `PARENT_RELAY: ${results.join(" | ")}` };
  if (req.lastTool) return { kind: "text", text: `TOOL_DONE ${req.lastTool.name}: ${req.lastTool.text.slice(0, 300)}` };
  return { kind: "text", text: `FAKE_REPLY: ${req.lastUser.slice(0, 300)}` };
}
