// One repeat of the cost section in process: the whole plugin (tools, engine, SQLite store) registered
// on the in-memory host (tests/support/fake-host.ts), whose scripted model answers each rung after its
// latency, with tokens from the request's size. Prints one JSON line: per workload, per variant.
// Runs on Node >= 24 (node:sqlite). argv: <host bundle> <repeat>
import { pathToFileURL } from "node:url";
import { CORRECTIVE, RESEARCH, WORKLOADS, ladderOf, pricesOf, runWorkload } from "../lib/cost-workload.mjs";

const [bundle, repArg] = process.argv.slice(2);
const { fakeHost } = await import(pathToFileURL(bundle).href);
const LATENCY_MS = { cheap: 200, mid: 400, strong: 800 };
/** Input tokens a child pays before its task: the host's system prompt and tool definitions. */
const OVERHEAD_TOKENS = 3000;

// A session's transcript usage is cumulative: a corrective follow-up pays for the whole conversation again.
const sessions = new Map();
function answer(req) {
  const rung = req.model.split("/")[1];
  const followUp = req.message.startsWith(CORRECTIVE);
  const fails = rung === "cheap" && (followUp || req.message.includes("FAILCHEAP"));
  const reply = fails ? "Here is what I found: the topic is broad and has many sides." : RESEARCH;
  const before = sessions.get(req.sessionKey) ?? { inputTokens: 0, outputTokens: 0 };
  const input = OVERHEAD_TOKENS + Math.ceil(req.message.length / 4) + (followUp ? before.inputTokens + before.outputTokens : 0);
  const usage = { inputTokens: before.inputTokens + input, outputTokens: before.outputTokens + Math.ceil(reply.length / 4) };
  sessions.set(req.sessionKey, usage);
  return { reply, delayMs: LATENCY_MS[rung], usage };
}

const host = await fakeHost({ script: answer, pluginConfig: { ladder: ladderOf("m"), prices: pricesOf("m"), retries: 2 } });
const out = {};
try {
  for (const w of WORKLOADS) {
    out[w.id] = await runWorkload(w, Number(repArg), "m", async (_v, sessionKey, args) => (await host.call("parallel_spawn", args, sessionKey)).details);
  }
} finally {
  await host.stop();
}
console.log(JSON.stringify({ latencyMs: LATENCY_MS, workloads: out }));
