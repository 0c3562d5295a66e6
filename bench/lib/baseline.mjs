// The version the engine bench is measured against, side by side in the same run: its sources
// (src/ and tests/support/ at a git ref) extracted under .cache/ inside this repo, so its bundle
// resolves the same node_modules. Default: the last 0.2 commit (BENCH_BASELINE=<ref> for another).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./bundle-internals.mjs";

export const DEFAULT_BASELINE = { ref: "7ab283b", label: "0.2" };

/** { root, label } of the baseline's extracted sources, or { error } when git cannot produce them. */
export function baselineSources(ref = process.env.BENCH_BASELINE ?? DEFAULT_BASELINE.ref) {
  const label = ref === DEFAULT_BASELINE.ref ? DEFAULT_BASELINE.label : ref;
  try {
    const sha = execFileSync("git", ["rev-parse", "--verify", `${ref}^{commit}`], { cwd: ROOT, encoding: "utf8" }).trim();
    const root = join(ROOT, ".cache", "bench-baseline", sha);
    if (!existsSync(join(root, "src"))) {
      mkdirSync(root, { recursive: true });
      const tar = execFileSync("git", ["archive", "--format=tar", sha, "src", "tests/support"], { cwd: ROOT, maxBuffer: 64 * 2 ** 20 });
      execFileSync("tar", ["-x", "-C", root], { input: tar });
    }
    return { root, label, sha: sha.slice(0, 7) };
  } catch (err) {
    return { error: `baseline ${ref} not available (${String(err?.message ?? err).split("\n")[0]}); a full clone of the repo has it` };
  }
}
