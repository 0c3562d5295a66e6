// Where does a cold import() of the plugin spend its time? Bundles src/index.ts exactly like
// build.mjs but unminified (esbuild keeps a `// path` comment before each module), runs the
// cold-import probe under --cpu-prof in fresh processes, and charges every sampled frame's
// self time to the module whose code it is (node_modules/<pkg> or src/<dir>). Node's own
// work (parsing the bundle, the ESM loader) is reported as such.
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { bundleEntry } from "./bundle-internals.mjs";
import { runProbe } from "./child.mjs";
import { median } from "./stats.mjs";

const PROBE = fileURLToPath(new URL("../probes/cold-import.mjs", import.meta.url));

function ownerOf(path) {
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (nm) return nm[1];
  const src = /^(src\/[^/]+)/.exec(path);
  return src ? (src[1].endsWith(".ts") ? "src (top)" : src[1]) : path;
}

/** Map from 0-based bundle line to the owning module, from esbuild's `// <path>` markers. */
function lineOwners(code) {
  const owners = [];
  let current = "(bundle glue)";
  for (const line of code.split("\n")) {
    const m = /^\/\/ ((?:node_modules|src)\/\S+)$/.exec(line);
    if (m) current = ownerOf(m[1]);
    owners.push(current);
  }
  return owners;
}

/** Self time per owner, counting only samples taken during the import() itself. */
function attribute(profile, bundleUrl, owners, window) {
  const dt = new Map();
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (at >= window.importStartUs && at <= window.importEndUs) dt.set(id, (dt.get(id) ?? 0) + delta);
  });
  const byOwner = new Map();
  for (const node of profile.nodes) {
    const ms = (dt.get(node.id) ?? 0) / 1000;
    if (!ms) continue;
    const { url, functionName, lineNumber } = node.callFrame;
    let owner;
    if (url === bundleUrl) owner = owners[lineNumber] ?? "(bundle glue)";
    else if (/compileSourceTextModule|compileForInternalLoader/.test(functionName)) owner = "node: parse/compile modules";
    else if (functionName === "(garbage collector)") owner = "node: GC";
    else if (["(program)", "(idle)", "(root)"].includes(functionName)) continue;
    else owner = "node: loader & other";
    byOwner.set(owner, (byOwner.get(owner) ?? 0) + ms);
  }
  return byOwner;
}

/** Median self-time (ms) per module over `repeats` profiled cold imports, biggest first. */
export async function profileColdImport(root, repeats = 5) {
  const dir = mkdtempSync(join(tmpdir(), "pa-bench-prof-"));
  const outfile = join(dir, "index.js");
  await bundleEntry(root, outfile, { minify: false });
  const owners = lineOwners(readFileSync(outfile, "utf8"));
  const runs = [];
  for (let i = 0; i < repeats; i++) {
    const profDir = join(dir, `prof-${i}`);
    const window = await runProbe(PROBE, [outfile], { nodeArgs: ["--cpu-prof", "--cpu-prof-interval", "100", "--cpu-prof-dir", profDir] });
    const file = readdirSync(profDir).find((f) => f.endsWith(".cpuprofile"));
    runs.push(attribute(JSON.parse(readFileSync(join(profDir, file), "utf8")), `file://${outfile}`, owners, window));
  }
  const names = new Set(runs.flatMap((r) => [...r.keys()]));
  return [...names]
    .map((name) => ({ module: name, ms: median(runs.map((r) => r.get(name) ?? 0)) }))
    .filter((r) => r.ms >= 0.5)
    .sort((a, b) => b.ms - a.ms);
}
