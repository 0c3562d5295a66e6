// The gateway bench loads the real plugin (a copy of the built package) behind a thin wrapper
// whose register() hands it an api whose runtime.subagent methods count their calls: one JSON
// line per call in calls.jsonl (written when the call settles: start t, duration d). That is how "host calls per child" is measured in the real
// gateway without touching the plugin's code. The wrapper forwards every call unchanged and
// looks api.runtime up per call, as the plugin itself does (it is request-scoped in the host).
import { copyFileSync, cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const WRAPPER = (callsFile) => `import { appendFileSync } from "node:fs";
import real from "./real.js";
export * from "./real.js";
const CALLS = ${JSON.stringify(callsFile)};
const METHODS = ["run", "waitForRun", "getSessionMessages", "deleteSession"];
function counted(api) {
  const subagent = {};
  for (const m of METHODS) {
    subagent[m] = async (p) => {
      const t = Date.now();
      const line = (extra) => appendFileSync(CALLS, JSON.stringify({ m, t, d: Date.now() - t, sessionKey: p?.sessionKey ?? null, runId: p?.runId ?? null, ...extra }) + "\\n");
      try {
        const r = await api.runtime.subagent[m](p);
        line({ runIdOut: r?.runId ?? null, status: r?.status ?? null });
        return r;
      } catch (err) {
        line({ error: String(err?.message ?? err).slice(0, 200) });
        throw err;
      }
    };
  }
  const runtime = new Proxy({}, { get: (_t, k) => (k === "subagent" ? subagent : api.runtime[k]) });
  return new Proxy(api, { get: (t, k) => (k === "runtime" ? runtime : t[k]) });
}
export default { ...real, register(api) { return real.register(counted(api)); } };
`;

/** { dir, callsFile, calls() } — a plugin package dir for startGateway({ pluginDir: dir }). */
export function countingPlugin(root) {
  const dir = mkdtempSync(join(tmpdir(), "pa-bench-plugin-"));
  const callsFile = join(dir, "calls.jsonl");
  writeFileSync(callsFile, "");
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  for (const f of pkg.files ?? []) if (existsSync(join(root, f))) cpSync(join(root, f), join(dir, f), { recursive: true });
  copyFileSync(join(root, "package.json"), join(dir, "package.json"));
  copyFileSync(join(dir, "dist/index.js"), join(dir, "dist/real.js"));
  writeFileSync(join(dir, "dist/index.js"), WRAPPER(callsFile));
  return {
    dir,
    callsFile,
    /** Every settled call so far: [{ m, t, d, sessionKey, runId, runIdOut, status?, error? }]. */
    calls: () =>
      readFileSync(callsFile, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l)),
  };
}
