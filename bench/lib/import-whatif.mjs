// What would lazy-loading a dependency save? Bundles src/index.ts like build.mjs, but with
// the named CommonJS dependencies replaced by an inert stub, and times cold import() of each
// variant in fresh processes, interleaved with the real bundle. The difference is the most a
// lazy load of that dependency could take off the plugin's cold start.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { bundleEntry } from "./bundle-internals.mjs";
import { runProbe } from "./child.mjs";
import { median } from "./stats.mjs";

const PROBE = fileURLToPath(new URL("../probes/cold-import.mjs", import.meta.url));
const STUB = `const h = new Proxy(function () {}, { get: (_t, k) => (k === "__esModule" ? true : k === Symbol.toPrimitive ? () => "" : h), apply: () => h, construct: () => h });
export default h; export const Ajv = h; export const jsonrepair = h;`;

function stubPlugin(names) {
  const filter = new RegExp(`^(${names.map((n) => n.replace(/[/.]/g, "\\$&")).join("|")})$`);
  return {
    name: "stub-deps",
    setup(b) {
      b.onResolve({ filter }, (args) => ({ path: args.path, namespace: "stub" }));
      b.onLoad({ filter: /.*/, namespace: "stub" }, () => ({ contents: STUB, loader: "js" }));
    },
  };
}

async function variant(root, dir, name, stubs) {
  const outfile = join(dir, `${name}.mjs`);
  await bundleEntry(root, outfile, { plugins: stubs.length ? [stubPlugin(stubs)] : [], logLevel: "error" });
  return outfile;
}

/** [{ stubbed, importMs, savedMs }] medians over `repeats` rounds; savedMs is pairwise vs. the real bundle. */
export async function lazyLoadWhatIf(root, repeats = 5, log = () => {}) {
  const dir = mkdtempSync(join(tmpdir(), "pa-bench-whatif-"));
  const sets = [[], ["ajv"], ["handlebars"], ["jsonrepair"], ["ajv", "handlebars", "jsonrepair"]];
  const files = [];
  for (const stubs of sets) files.push({ stubs, file: await variant(root, dir, stubs.join("+") || "real", stubs) });
  const times = files.map(() => []);
  for (let i = 0; i < repeats; i++) {
    log(`  lazy-load what-if round ${i + 1}/${repeats}`);
    for (const [j, { file }] of files.entries()) times[j].push((await runProbe(PROBE, [file, "--import-only"])).importMs);
  }
  return files.map(({ stubs }, j) => ({
    stubbed: stubs.length ? stubs.join(" + ") : "(none: real bundle)",
    importMs: median(times[j]),
    savedMs: median(times[j].map((t, i) => times[0][i] - t)),
  }));
}
