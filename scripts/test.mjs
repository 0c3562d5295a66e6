#!/usr/bin/env node
// `npm test`: runs vitest on the pinned Node 24 (provisioned into .cache/runtime like the e2e
// gateway), because the batch store uses node:sqlite, which this repo's own Node may lack.
// Arguments are passed to vitest (e.g. `npm test -- --project unit`).
import { spawnSync } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { provision } from "./provision.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { nodeBin } = provision();
const args = process.argv.slice(2);
const r = spawnSync(nodeBin, [join(root, "node_modules", "vitest", "vitest.mjs"), "run", ...args], { stdio: "inherit", cwd: root });
process.exit(r.status ?? 1);
