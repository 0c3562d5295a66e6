#!/usr/bin/env node
// `npm run mutate`: Stryker on the pinned Node 24 (like scripts/test.mjs), because the unit specs
// open the batch store on node:sqlite. Stryker's test-runner children inherit this Node.
// Arguments are passed to `stryker run` (e.g. `--mutate src/engine/transitions.ts`).
import { spawnSync } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { cacheDir, provision } from "./provision.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { nodeBin } = provision();
const stryker = join(root, "node_modules", "@stryker-mutator", "core", "bin", "stryker.js");
// The sandbox copies leave .cache out: specs that find the pinned host look in this checkout's cache.
const env = { ...process.env, PA_RUNTIME_CACHE: cacheDir };
const r = spawnSync(nodeBin, [stryker, "run", "stryker.config.mjs", ...process.argv.slice(2)], { stdio: "inherit", cwd: root, env });
process.exit(r.status ?? 1);
