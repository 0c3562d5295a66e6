// Wires the dashboard into the host: one `auth: "gateway"` prefix route for the page and its JSON, and a
// Control UI tab that shows that route in the host's sandboxed frame. Touches no runtime API at register time.
import type { IncomingMessage, ServerResponse } from "node:http";
import page from "./page.html?raw";
import { DASHBOARD_PATH, type DashboardDeps, dashboardHandler } from "./routes.js";

export const DASHBOARD_TAB = {
  surface: "tab",
  id: "parallel-agents",
  slug: "parallel-agents",
  label: "Parallel Agents",
  description: "Live batches: lanes, escalations, time and cost",
  icon: "activity",
  group: "control",
  path: `${DASHBOARD_PATH}/`,
  requiredScopes: ["operator.read"],
} as const;

export interface DashboardApi {
  registerHttpRoute?(route: {
    path: string;
    auth: "gateway" | "plugin";
    match?: "exact" | "prefix";
    handler: (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;
  }): void;
  // `workflow` is named so the plugin's own API type (which knows only `session.workflow`) fits this one.
  session?: { controls?: { registerControlUiDescriptor?(descriptor: typeof DASHBOARD_TAB): void }; workflow?: unknown };
}

export function registerDashboard(api: DashboardApi, deps: Omit<DashboardDeps, "page">): void {
  api.registerHttpRoute?.({ path: DASHBOARD_PATH, auth: "gateway", match: "prefix", handler: dashboardHandler({ ...deps, page }) });
  api.session?.controls?.registerControlUiDescriptor?.(DASHBOARD_TAB);
}
