// Reaching the gateway from `openclaw parallel-agents …`. The bundle never imports openclaw statically;
// the CLI runs inside the host's own process, so its copy of `openclaw/plugin-sdk/gateway-runtime`
// is loaded at call time: by package name (the host's SDK alias / a plugin-local link), else from the
// package the running `openclaw` binary belongs to.
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

export interface GatewayRuntime {
  callGatewayFromCli(method: string, opts: Record<string, unknown>, params?: unknown, extra?: Record<string, unknown>): Promise<Record<string, unknown>>;
  isGatewayTransportError?(err: unknown): boolean;
  isGatewayClientRequestError?(err: unknown): boolean;
}

export interface GatewayOpts {
  url?: string;
  port?: string;
  token?: string;
  password?: string;
  timeout?: string;
}

const SPEC = "openclaw/plugin-sdk/gateway-runtime";

/** The openclaw package root of the running binary (process.argv[1] is …/openclaw/openclaw.mjs). */
function hostPackageRoot(): string | undefined {
  try {
    let dir = dirname(realpathSync(process.argv[1] ?? ""));
    for (let i = 0; i < 6; i++) {
      const pkg = join(dir, "package.json");
      if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, "utf8")) as { name?: string }).name === "openclaw") return dir;
      const up = dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  } catch {
    /* not run through the openclaw binary */
  }
  return undefined;
}

const debug = (line: string) => process.env.PA_CLI_DEBUG && process.stderr.write(`parallel-agents: ${line}\n`);

let cached: Promise<GatewayRuntime | undefined> | undefined;

export function loadGatewayRuntime(): Promise<GatewayRuntime | undefined> {
  return (cached ??= (async () => {
    const ok = (m: unknown): m is GatewayRuntime => typeof (m as GatewayRuntime)?.callGatewayFromCli === "function";
    try {
      const spec = SPEC; // a variable: esbuild leaves the import to run time
      const m: unknown = await import(spec);
      if (ok(m)) return debug(`loaded ${SPEC} by name`), m;
    } catch {
      /* no resolvable SDK next to the plugin */
    }
    const root = hostPackageRoot();
    const file = root && join(root, "dist", "plugin-sdk", "gateway-runtime.js");
    if (file && existsSync(file)) {
      const m: unknown = await import(pathToFileURL(file).href);
      if (ok(m)) return debug(`loaded ${file} from the running openclaw package`), m;
    }
    return undefined;
  })());
}

/** The gateway was not there (refused, closed, timed out connecting), as opposed to a method error. */
export function isUnreachable(rt: GatewayRuntime, err: unknown): boolean {
  if (rt.isGatewayClientRequestError?.(err)) return false;
  if (rt.isGatewayTransportError?.(err)) return true;
  const msg = err instanceof Error ? `${err.message} ${String((err as { code?: unknown }).code ?? "")}` : String(err);
  return /ECONNREFUSED|ECONNRESET|ENOTFOUND|EHOSTUNREACH|gateway (closed|not running|unavailable|timeout)|closed \(\d+|abnormal closure|connect failed|timed? ?out/i.test(msg);
}

export type CallResult = { ok: true; payload: Record<string, unknown> } | { ok: false; unreachable: boolean; message: string };

export async function callGateway(method: string, params: unknown, opts: GatewayOpts): Promise<CallResult> {
  const rt = await loadGatewayRuntime();
  if (!rt) return { ok: false, unreachable: true, message: "the openclaw gateway client could not be loaded (run this through the openclaw CLI)" };
  try {
    const rpcOpts = { ...opts, timeout: opts.timeout ?? "30000", json: true };
    const payload = await rt.callGatewayFromCli(method, rpcOpts, params, { progress: false });
    return { ok: true, payload: (payload ?? {}) as Record<string, unknown> };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { ok: false, unreachable: isUnreachable(rt, err), message: message.split("\n")[0].trim() };
  }
}
