// Real OpenClaw gateway fixture: the pinned host (scripts/provision.mjs) on Node 24, isolated state under a
// temp root, loopback only (net-guard preloaded), the scripted fake model as every model, optionally a plugin.
// Used by the e2e suite (through use-gateway.ts), the demo and the benchmarks.
import { spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { provision } from "../../../scripts/provision.mjs";
import { startFakeModel } from "./fake-model.mjs";
import { assertNoEgress, readNetGuardLog } from "./net-guard.mjs";
import { DEFAULT_MODELS, buildGatewayConfig, inspectPluginDir } from "./gateway-config.mjs";

const here = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(here, "../../..");
const NET_GUARD = join(here, "net-guard.mjs");
// Persistent TMPDIR: OpenClaw keeps its V8 compile cache there (cold start is ~3 s slower without it).
const COMPILE_CACHE_TMP = join(REPO_ROOT, ".cache", "e2e-tmp");
const RESERVED_PORTS = [19100, 19199]; // a colleague's range
const PORT_SPAN = 5; // the gateway may derive helper ports from its own
// One set and one exit hook per process: vitest imports this module afresh for every test file in a worker,
// and a hook per import piled up past Node's listener warning (11 seen in CI).
const LIVE = Symbol.for("parallel-agents.e2e.liveGateways");
const live = globalThis[LIVE] ?? (globalThis[LIVE] = new Set());
if (!process.listeners("exit").some((l) => l[LIVE])) {
  const killAll = () => {
    for (const child of live) killTree(child.pid, "SIGKILL", descendants(child.pid));
  };
  killAll[LIVE] = true;
  process.once("exit", killAll);
}

/** PIDs of all live descendants (the spawn-broker worker runs in a process group of its own). */
function descendants(pid) {
  const children = new Map();
  for (const entry of readdirSync("/proc").filter((e) => /^\d+$/.test(e))) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      /* exited meanwhile */
    }
  }
  const out = [];
  for (let queue = [pid]; queue.length; ) for (const c of children.get(queue.shift()) ?? []) out.push(c), queue.push(c);
  return out;
}

/** Signals the gateway's process group (it is a group leader) and the given descendant PIDs. */
function killTree(pid, signal, extra = []) {
  for (const target of [-pid, ...extra]) {
    try {
      process.kill(target, signal);
    } catch {
      /* already gone */
    }
  }
}

function portFree(port) {
  return new Promise((ok) => {
    const srv = createServer().once("error", () => ok(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => ok(true)));
  });
}

/** A free loopback port P with P..P+PORT_SPAN-1 free and outside the reserved range. */
export async function pickPort() {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 30000);
    if (port + PORT_SPAN > RESERVED_PORTS[0] && port <= RESERVED_PORTS[1]) continue;
    const checks = await Promise.all(Array.from({ length: PORT_SPAN }, (_, i) => portFree(port + i)));
    if (checks.every(Boolean)) return port;
  }
  throw new Error("no free port range found");
}

/**
 * Starts a gateway. Options:
 *   name         label for the temp root (default "e2e")
 *   pluginDir    plugin package dir to load (e.g. REPO_ROOT for parallel-agents, after `npm run build`)
 *   install      "config" (plugins.load.paths, default) | "link" (`openclaw plugins install --link`)
 *   pluginConfig plugins.entries.<id>.config;  subagent: plugins.entries.<id>.subagent ({allowModelOverride})
 *   config       deep-merged over the generated config
 *   providers    provider ids that all serve the fake models (default ["fake"])
 *   fakeModelUrl an already running fake model (…/v1); default: start one in-process (handle.fake)
 *   models       fake model ids (default parent, cheap, mid, strong) -> fake/<id>; parentModel: default "parent"
 *   modelCosts   per fake model id, its `cost` row in the gateway's model table (USD per million tokens)
 *   warmup       run one throw-away turn before returning (default true)
 *   env          extra environment for the gateway and CLI
 *   readyTimeoutMs (default 90 s)
 *   extraPlugins other plugin folders to load too (copied into the temp root first)
 *   stage        copy the plugin's published files (package.json "files") into the temp root and load that
 *                copy (default true when package.json lists "files"): what users install, and immune to a
 *                concurrent `npm run build` rewriting dist/ while the host captures the plugin's source
 */
export async function startGateway(opts = {}) {
  const { name = "e2e", pluginDir, install = "config", models = DEFAULT_MODELS, warmup = true, readyTimeoutMs = 90_000 } = opts;
  let host;
  try {
    host = provision();
  } catch (err) {
    throw new Error(`e2e: provisioning the pinned OpenClaw host failed: ${err?.message ?? err}`);
  }
  const root = mkdtempSync(join(tmpdir(), `pa-${name}-`));
  const sourceDir = pluginDir ? resolve(pluginDir) : null;
  const loadDir = sourceDir && opts.stage !== false ? stagePackage(sourceDir, join(root, "plugin")) ?? sourceDir : sourceDir;
  const plugin = loadDir ? { dir: loadDir, ...inspectPluginDir(loadDir) } : null;
  // Other plugins to load beside ours, copied out of the repo: the host refuses a plugin whose files sit
  // inside another plugin's package next to the host's own install (the repo's .cache in CI).
  const extraPluginDirs = (opts.extraPlugins ?? []).map((dir, i) => {
    const dest = join(root, `extra-plugin-${i}`);
    cpSync(resolve(dir), dest, { recursive: true });
    return dest;
  });
  const dirs = Object.fromEntries(["home", "state", "config", "workspace", "logs"].map((d) => [d, join(root, d)]));
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  mkdirSync(COMPILE_CACHE_TMP, { recursive: true });
  const configPath = join(dirs.config, "openclaw.json");
  const netGuardLog = join(dirs.logs, "net-guard.log");
  const fake = opts.fakeModelUrl ? null : await startFakeModel({ bodyLog: join(dirs.logs, "fake-model.jsonl") });
  const fakeUrl = opts.fakeModelUrl ?? fake.url;
  const port = await pickPort();
  const token = `e2e-${Math.random().toString(36).slice(2)}`;
  const url = `http://127.0.0.1:${port}`;
  const env = {
    PATH: `${dirname(host.nodeBin)}:${process.env.PATH}`,
    LANG: process.env.LANG ?? "C.UTF-8",
    HOME: dirs.home, OPENCLAW_HOME: dirs.home, OPENCLAW_STATE_DIR: dirs.state, OPENCLAW_CONFIG_PATH: configPath,
    OPENCLAW_WORKSPACE_DIR: dirs.workspace, TMPDIR: COMPILE_CACHE_TMP,
    OPENCLAW_NO_AUTO_UPDATE: "1", OPENCLAW_DISABLE_BONJOUR: "1", OPENCLAW_SKIP_CHANNELS: "1", OPENCLAW_OFFLINE: "1",
    OPENCLAW_NO_RESPAWN: "1", OPENCLAW_EXEC_SHELL_SNAPSHOT: "0", DO_NOT_TRACK: "1", CI: "1", NO_COLOR: "1",
    OPENCLAW_GATEWAY_TOKEN: token, OPENCLAW_GATEWAY_PORT: String(port),
    NODE_OPTIONS: `--import ${NET_GUARD}`, NET_GUARD_LOG: netGuardLog,
    ...opts.env,
  };
  const config = buildGatewayConfig({
    port, token, fakeModelUrl: fakeUrl, dirs, models, parentModel: opts.parentModel, providers: opts.providers, modelCosts: opts.modelCosts,
    plugin: plugin && { ...plugin, config: opts.pluginConfig, subagent: opts.subagent, byConfig: install !== "link" },
    extraPluginDirs,
    overrides: opts.config,
  });
  writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`);

  let child = null;
  let exitInfo = null;
  let keep = Boolean(process.env.PA_E2E_KEEP);

  const cli = (args, { timeoutMs = 120_000, env: extraEnv } = {}) =>
    new Promise((ok) => {
      const p = spawn(host.nodeBin, [host.openclawEntry, ...args], { cwd: root, env: { ...env, ...extraEnv }, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      p.stdout.on("data", (d) => (stdout += d));
      p.stderr.on("data", (d) => (stderr += d));
      const timer = setTimeout(() => { stderr += `\n[e2e] cli timed out after ${timeoutMs} ms`; p.kill("SIGKILL"); }, timeoutMs);
      p.on("close", (code) => { clearTimeout(timer); ok({ code, stdout, stderr }); });
    });

  async function http(path, body, { sessionKey, timeoutMs = 120_000 } = {}) {
    const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    if (sessionKey) headers["x-openclaw-session-key"] = sessionKey;
    const res = await fetch(`${url}${path}`, { method: "POST", headers, body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
    const raw = await res.text();
    let parsed;
    try {
      parsed = JSON.parse(raw);
    } catch {
      parsed = raw;
    }
    return { status: res.status, body: parsed };
  }

  async function waitReady() {
    const deadline = Date.now() + readyTimeoutMs;
    while (Date.now() < deadline) {
      if (exitInfo) throw new Error(`gateway exited during start (code ${exitInfo.code}, signal ${exitInfo.signal}); log tail:\n${tail(join(dirs.logs, "gateway.out"))}`);
      try {
        const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) });
        if (res.ok && (await res.json()).ready) return;
      } catch {
        /* not listening yet */
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`gateway not ready after ${readyTimeoutMs} ms; log tail:\n${tail(join(dirs.logs, "gateway.out"))}`);
  }

  async function start() {
    const out = openSync(join(dirs.logs, "gateway.out"), "a");
    const t0 = Date.now();
    exitInfo = null;
    child = spawn(host.nodeBin, [host.openclawEntry, "gateway", "run", "--port", String(port), "--bind", "loopback"], {
      cwd: root, env, detached: true, stdio: ["ignore", out, out],
    });
    closeSync(out);
    live.add(child);
    const self = child;
    child.exited = new Promise((r) => self.once("exit", (code, signal) => { live.delete(self); exitInfo = { code, signal }; r(); }));
    await waitReady();
    handle.timings.readyMs = Date.now() - t0;
  }

  /** Stops the gateway: SIGTERM (a drain, cut short after 10 s), or SIGKILL at once to simulate a crash. */
  async function stop(signal = "SIGTERM") {
    if (!child) return;
    const c = child;
    child = null;
    const workers = descendants(c.pid); // listed now: once the gateway is gone they are re-parented
    if (!exitInfo) {
      killTree(c.pid, signal, signal === "SIGKILL" ? workers : []);
      // SIGTERM drains active runs for minutes; tests don't wait for that.
      const timer = new Promise((r) => setTimeout(() => r(true), 10_000).unref());
      if (await Promise.race([c.exited.then(() => false), timer])) killTree(c.pid, "SIGKILL", workers);
      await c.exited;
    }
    killTree(c.pid, "SIGKILL", workers.filter((p) => existsSync(`/proc/${p}`))); // leftovers, if any
    for (let i = 0; i < 20 && workers.some((p) => existsSync(`/proc/${p}`)); i++) await new Promise((r) => setTimeout(r, 100));
  }

  const handle = {
    url, port, token, root, dirs, configPath, netGuardLog, fake, fakeUrl, env, host, pluginId: plugin?.id ?? null,
    timings: {},
    get pid() { return child?.pid ?? null; },
    /** POST /tools/invoke. Returns {status, body, text}: text = first text content of the tool result. */
    async invokeTool(tool, args = {}, { sessionKey, timeoutMs } = {}) {
      const r = await http("/tools/invoke", { tool, args, ...(sessionKey ? { sessionKey } : {}) }, { timeoutMs });
      return { ...r, text: r.body?.result?.content?.find?.((c) => c.type === "text")?.text };
    },
    /** One agent turn through POST /v1/chat/completions. Returns {status, body, text}. */
    async chat(message, { sessionKey = "e2e", timeoutMs } = {}) {
      const r = await http("/v1/chat/completions", { model: "openclaw/main", messages: [{ role: "user", content: message }] }, { sessionKey, timeoutMs });
      return { ...r, text: r.body?.choices?.[0]?.message?.content };
    },
    cli,
    /** Restarts the gateway; `{ signal: "SIGKILL" }` kills it like a crash (no drain, no service stop); `whileDown` runs between. */
    async restart({ signal = "SIGTERM", whileDown } = {}) {
      await stop(signal);
      await whileDown?.();
      await start();
    },
    /** Stops the gateway (and the in-process fake) and removes the temp root unless a test failed. */
    async stop({ keepLogs } = {}) {
      await stop();
      await fake?.close();
      if (keepLogs || keep) process.stderr.write(`[e2e] kept gateway state and logs: ${root}\n`);
      else rmSync(root, { recursive: true, force: true });
    },
    /** Keep the temp root (logs, state) when stopping: call when a test failed. */
    markFailed() { keep = true; },
    logs() {
      const files = readdirSync(dirs.logs).filter((f) => f.startsWith("openclaw"));
      return { gateway: read(join(dirs.logs, "gateway.out")), openclaw: files.map((f) => read(join(dirs.logs, f))).join(""), netGuard: readNetGuardLog(netGuardLog) };
    },
    assertNoEgress: () => assertNoEgress(netGuardLog),
  };

  try {
    if (plugin && install === "link") {
      const r = await cli(["plugins", "install", "--link", plugin.dir, "--force", "--accept-capabilities"]);
      if (r.code !== 0) throw new Error(`plugins install --link failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
    }
    await start();
    if (warmup) {
      const t0 = Date.now();
      const r = await handle.chat("warm-up [[reply:WARM]]", { sessionKey: "e2e-warmup" });
      if (r.text !== "WARM") throw new Error(`warm-up turn failed: ${r.status} ${JSON.stringify(r.body).slice(0, 500)}`);
      handle.timings.warmupMs = Date.now() - t0;
      if (fake) fake.clearRequests();
      else await fetch(`${fakeUrl.replace(/\/v1$/, "")}/__reset`, { method: "POST" });
    }
  } catch (err) {
    handle.markFailed();
    await handle.stop();
    throw err;
  }
  return handle;
}

/** Copies package.json and its "files" to dest; null when the package lists no files. */
function stagePackage(dir, dest) {
  const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  if (!Array.isArray(pkg.files)) return null;
  mkdirSync(dest, { recursive: true });
  for (const f of ["package.json", ...pkg.files]) if (existsSync(join(dir, f))) cpSync(join(dir, f), join(dest, f), { recursive: true });
  return dest;
}

const read = (f) => (existsSync(f) ? readFileSync(f, "utf8") : "");
const tail = (f, n = 40) => read(f).split("\n").slice(-n).join("\n");
