// One cold start, in a fresh process: import() of a module (dist/index.js by default) and the
// plugin's register() with a fake api. Prints one JSON line. `--baseline` imports an empty
// module instead, to show what Node's ESM loader costs by itself on this machine;
// `--import-only` skips register().
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [target, mode] = process.argv.slice(2);
let url = pathToFileURL(target).href;
if (mode === "--baseline") {
  const file = join(mkdtempSync(join(tmpdir(), "pa-bench-empty-")), "empty.mjs");
  writeFileSync(file, "export default {};\n");
  url = pathToFileURL(file).href;
}

const hr0 = process.hrtime.bigint();
const t0 = performance.now();
const mod = await import(url);
const t1 = performance.now();
const hr1 = process.hrtime.bigint();
let registerMs = null;
let tools = 0;
if (mode !== "--baseline" && mode !== "--import-only") {
  const api = {
    pluginConfig: {},
    config: {},
    runtime: { subagent: {}, state: { resolveStateDir: () => tmpdir() } },
    registerTool: () => void tools++,
  };
  const r0 = performance.now();
  mod.default.register(api);
  registerMs = performance.now() - r0;
}
// hrtime (µs) brackets the import for profile attribution (same monotonic clock as --cpu-prof).
console.log(JSON.stringify({ importMs: t1 - t0, registerMs, tools, importStartUs: Number(hr0 / 1000n), importEndUs: Number(hr1 / 1000n) }));
