// Where skill.json and prompts/ live: walk up from this module until a folder holds skill.json.
// Works from src/roles/*.ts (vitest) and from the single bundle at dist/index.js.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export function findPackageRoot(from: string = import.meta.url): string {
  let dir = dirname(from.startsWith("file:") ? fileURLToPath(from) : from);
  for (;;) {
    if (existsSync(join(dir, "skill.json"))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`parallel-agents: no skill.json found above ${from}`);
    dir = parent;
  }
}
