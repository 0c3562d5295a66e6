// Runs a probe script in a fresh `node` process and parses the one JSON line it prints last.
// Fresh processes make cold-start and peak-RSS figures honest (no warm module cache, no heap
// left over from the previous case).
import { spawn } from "node:child_process";

export function runProbe(script, args = [], { nodeArgs = [], timeoutMs = 300_000, cwd, node = process.execPath } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(node, [...nodeArgs, script, ...args.map(String)], { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code, sig) => {
      clearTimeout(timer);
      const last = out.trim().split("\n").pop() ?? "";
      if (code !== 0) return reject(new Error(`${script} exited ${code ?? sig}: ${err.trim().slice(-800)}`));
      try {
        resolve(JSON.parse(last));
      } catch {
        reject(new Error(`${script} printed no JSON result: ${out.slice(-400)} ${err.slice(-400)}`));
      }
    });
  });
}
