// Benchmarks of the engine need internals dist/index.js does not export (Engine, BatchStore)
// and the in-memory runtime from tests/support. This bundles them from src with esbuild into a
// temp .mjs once per bench run, so the bench stays plain Node ESM without a TS loader.
import { build } from "esbuild";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

const ENTRY = `
export { Engine } from "./src/engine/engine.ts";
export { BatchStore } from "./src/store/batch-store.ts";
export { MemoryRuntime } from "./tests/support/memory-runtime.ts";
`;

const cached = new Map();

/** Path of an ESM bundle exporting { Engine, BatchStore, MemoryRuntime } from the sources under `root` (this tree by default). */
export async function engineBundle(root = ROOT) {
  if (cached.has(root)) return cached.get(root);
  const outfile = join(mkdtempSync(join(tmpdir(), "pa-bench-")), "engine.mjs");
  await build({
    stdin: { contents: ENTRY, resolveDir: root, loader: "ts", sourcefile: "bench-engine-entry.ts" },
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    logLevel: "warning",
  });
  cached.set(root, outfile);
  return outfile;
}

/** Bundles src/index.ts the way build.mjs does (one ESM file), for the cold-import diagnostics. */
export function bundleEntry(root, outfile, { minify = true, plugins = [], logLevel = "warning" } = {}) {
  return build({
    entryPoints: [join(root, "src/index.ts")],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    minify,
    plugins,
    banner: { js: "import { createRequire as __paCreateRequire } from 'node:module'; const require = __paCreateRequire(import.meta.url);" },
    logLevel,
  });
}
