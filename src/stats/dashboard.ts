// The stats view as the dashboard's /api/stats serves it: every agent's batches (or `?agent=`), `?since=`
// as the CLI takes it; a malformed `since` is the caller's error (400), not the plugin's.
import type { Engine } from "../engine/engine.js";
import { ToolInputError } from "../errors.js";
import { SinceError } from "./since.js";
import { statsView } from "./view.js";

export function dashboardStats(engine: Engine | undefined, query: Record<string, string>, adaptiveLadder: boolean) {
  if (!engine) throw new Error("the parallel-agents engine is not running in this gateway (service not started yet)");
  try {
    return statsView(engine.store, { since: query.since || undefined, agentId: query.agent?.trim() || undefined, adaptiveLadder });
  } catch (err) {
    if (err instanceof SinceError) throw new ToolInputError(`since: ${err.message}`);
    throw err;
  }
}
