// Loopback-only guard for the gateway under test. Preload it with
//   NODE_OPTIONS="--import /abs/path/net-guard.mjs"   NET_GUARD_LOG=/abs/path/net-guard.log
// It refuses (and logs one JSON line per attempt) every DNS lookup of a non-loopback name, TCP connect and
// UDP send to a non-loopback address. Child processes inherit NODE_OPTIONS, so they are guarded too.
// Imported by a test (not preloaded) it only exports the log readers at the bottom.
import dgram from "node:dgram";
import dns from "node:dns";
import net from "node:net";
import { appendFileSync, existsSync, readFileSync } from "node:fs";

const LOG = process.env.NET_GUARD_LOG;
const LOOPBACK_NAMES = new Set(["localhost", "localhost.localdomain", "ip6-localhost"]);

export function isLoopback(host) {
  if (host === undefined || host === null || host === "") return true; // Node defaults to localhost
  const h = String(host).toLowerCase().replace(/^\[|\]$/g, "");
  if (LOOPBACK_NAMES.has(h) || h.endsWith(".localhost")) return true;
  if (net.isIPv4(h)) return h.startsWith("127.");
  if (net.isIPv6(h)) return h === "::1" || /^::ffff:127\./.test(h) || h === "0:0:0:0:0:0:0:1";
  return false;
}

function record(kind, target) {
  const line = { ts: new Date().toISOString(), pid: process.pid, argv1: process.argv[1], kind, target: String(target),
    stack: new Error().stack?.split("\n").slice(3, 8).map((s) => s.trim()) };
  try {
    if (LOG) appendFileSync(LOG, `${JSON.stringify(line)}\n`);
  } catch {
    /* never let logging break the process under test */
  }
}

function refusal(kind, target) {
  record(kind, target);
  return Object.assign(new Error(`net-guard: ${kind} to non-loopback ${target} refused (offline test)`), {
    code: kind === "dns" ? "ENOTFOUND" : "ECONNREFUSED",
  });
}

function install() {
  // TCP (and TLS, http, undici/fetch, which all end in net.Socket#connect).
  const connect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function guardedConnect(...args) {
    // net.connect() passes its already-normalized [options, cb] array as the single argument.
    const a = Array.isArray(args[0]) ? args[0] : args;
    const opts = typeof a[0] === "object" && a[0] !== null ? a[0] : null;
    const isPipe = opts ? Boolean(opts.path) : typeof a[0] === "string" && Number.isNaN(Number(a[0]));
    const host = opts ? opts.host : typeof a[1] === "string" ? a[1] : undefined;
    if (!isPipe && !isLoopback(host)) {
      const err = refusal("tcp", `${host}:${opts ? opts.port : a[0]}`);
      process.nextTick(() => this.destroy(err));
      return this;
    }
    return connect.apply(this, args);
  };

  // DNS: callback, promise and resolver APIs.
  const lookup = dns.lookup;
  dns.lookup = function guardedLookup(host, options, cb) {
    const callback = typeof options === "function" ? options : cb;
    if (!isLoopback(host)) return process.nextTick(() => callback(refusal("dns", host)));
    return lookup.call(this, host, options, cb);
  };
  const lookupP = dns.promises.lookup;
  dns.promises.lookup = async (host, options) => {
    if (!isLoopback(host)) throw refusal("dns", host);
    return lookupP(host, options);
  };
  for (const api of [dns, dns.promises, dns.Resolver.prototype, dns.promises.Resolver.prototype]) {
    for (const name of Object.keys(api).concat(Object.getOwnPropertyNames(api))) {
      if (!/^resolve/.test(name) || typeof api[name] !== "function") continue;
      const orig = api[name];
      api[name] = function guardedResolve(host, ...rest) {
        if (isLoopback(host)) return orig.call(this, host, ...rest);
        const err = refusal("dns", host);
        const cb = rest.findLast?.((a) => typeof a === "function");
        if (cb) return process.nextTick(() => cb(err));
        return Promise.reject(err);
      };
    }
  }

  // UDP (mDNS, telemetry, DNS over UDP).
  const send = dgram.Socket.prototype.send;
  dgram.Socket.prototype.send = function guardedSend(...args) {
    const host = args.find((a, i) => i > 0 && typeof a === "string");
    if (host !== undefined && !isLoopback(host)) {
      const err = refusal("udp", host);
      const cb = args.findLast?.((a) => typeof a === "function");
      if (cb) process.nextTick(() => cb(err));
      return;
    }
    return send.apply(this, args);
  };
}

// Only guard when preloaded for a process under test (the env var is the switch), not when a test imports us.
if (LOG && !globalThis.__netGuardInstalled) {
  globalThis.__netGuardInstalled = true;
  install();
}

/** Entries of a guard log (empty when the file does not exist). */
export function readNetGuardLog(file) {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
}

/**
 * Refused attempts the pinned host always makes and that no setting turns off. OpenClaw 2026.9.6 fetches
 * the official plugin catalog feed (hard-coded https://clawhub.ai/v1/feeds/plugins) ~10 s after ready;
 * refused, it falls back to the bundled catalog.
 */
export const KNOWN_HOST_NOISE = [{ kind: "dns", target: "clawhub.ai" }, { kind: "tcp", target: /^clawhub\.ai:/ }];

const isNoise = (e, noise) => noise.some((n) => n.kind === e.kind && (n.target instanceof RegExp ? n.target.test(e.target) : n.target === e.target));

/** Throws, listing the refused attempts, when anything tried to leave loopback (known host noise aside). */
export function assertNoEgress(file, { ignore = KNOWN_HOST_NOISE } = {}) {
  const entries = readNetGuardLog(file).filter((e) => !isNoise(e, ignore));
  if (entries.length) {
    const list = entries.map((e) => `  ${e.kind} ${e.target} (pid ${e.pid}, ${e.argv1})`).join("\n");
    throw new Error(`net-guard: ${entries.length} non-loopback attempt(s), see ${file}:\n${list}`);
  }
}
