// The Parallel Agents tab in the host's own Control UI, as an operator uses it: log in with the gateway secret
// (typed into the login screen, never put in a URL), pick the tab in the sidebar, and see the dashboard live in the
// host's sandboxed frame, let in by the host's cookie grant (no bearer header from the test).
import { join } from "node:path";
import type { Frame, Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { useBrowser } from "./support/browser.js";
import { REPO_ROOT } from "./support/gateway.mjs";
import { pluginGateway } from "./support/plugin-calls.js";
import { useGateway } from "./support/use-gateway.js";

const SHOTS = join(REPO_ROOT, "reports", "dashboard");
// "trusted" gives the frame its own origin, so the page can read its data routes with the grant cookie.
const gw = useGateway({ ...pluginGateway("dashboard-ui"), config: { gateway: { controlUi: { enabled: true, embedSandbox: "trusted" } } } });
const browser = useBrowser();

let page: Page;
const requested: string[] = [];

async function dashboardFrame(): Promise<Frame> {
  const handle = await page.waitForSelector('iframe[src="/parallel-agents/"]', { timeout: 120_000 });
  const frame = await handle.contentFrame();
  if (!frame) throw new Error("the tab's iframe has no frame");
  return frame;
}

describe("the Parallel Agents tab in the Control UI", () => {
  it("logs in with the gateway secret and finds the tab in the sidebar", async () => {
    const context = await browser().newContext({ viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    page.on("request", (r) => requested.push(r.url()));
    await page.goto(`${gw().url}/`);
    const secret = page.locator('input[type="password"], input[autocomplete="current-password"]').first();
    await secret.waitFor({ timeout: 120_000 });
    await secret.fill(gw().token);
    await secret.press("Enter");
    const tab = page.getByText("Parallel Agents", { exact: true }).first();
    await tab.waitFor({ timeout: 120_000 });
    await tab.click();
  });

  it("shows the dashboard live inside the host's sandboxed frame, with data through the cookie grant", async () => {
    const frame = await dashboardFrame();
    await frame.waitForFunction(() => /^live · updated/.test(document.getElementById("live")?.textContent ?? ""), undefined, { timeout: 60_000 });
    const spawned = await gw().invokeTool("parallel_spawn", { tasks: [{ label: "in-frame", task: "[[reply:FRAMED]]" }], waitSeconds: 0 });
    expect(spawned.status).toBe(200);
    const batchId = spawned.body.result.details.batchId as string;
    await frame.locator(`button.batch[data-batch="${batchId}"]`).waitFor({ timeout: 60_000 });
    await page.screenshot({ path: join(SHOTS, "control-ui-tab.png") });
  });

  it("in the host's default frame sandbox (scripts only: no origin of its own) the page says why it has no data and what to set", async () => {
    // The same frame the Control UI mounts when gateway.controlUi.embedSandbox is left at "scripts".
    await page.evaluate(() => {
      const frame = document.createElement("iframe");
      frame.setAttribute("sandbox", "allow-scripts");
      frame.setAttribute("data-test", "scripts-only");
      frame.src = "/parallel-agents/";
      document.body.append(frame);
    });
    const handle = await page.waitForSelector('iframe[data-test="scripts-only"]');
    const frame = (await handle.contentFrame())!;
    try {
      // Polled on a timer, not on animation frames: Chromium may never paint an off-screen frame of an opaque origin.
      await frame.waitForFunction(() => document.getElementById("problem")?.hidden === false, undefined, { timeout: 60_000, polling: 250 });
    } finally {
      await page.screenshot({ path: join(SHOTS, "control-ui-scripts-only.png") });
      const seen = await frame.evaluate(() => ({ origin: self.origin, url: location.href, text: document.body?.innerText.slice(0, 300) })).catch((e) => String(e));
      process.stderr.write(`[e2e] dashboard: scripts-only frame ${JSON.stringify(seen)}\n`);
    }
    expect(await frame.locator("#problem").textContent()).toMatch(/sandboxed frame without same-origin access.*embedSandbox to "trusted"/);
  });

  it("never put the token in a URL", () => {
    expect(requested.length).toBeGreaterThan(3);
    expect(requested.filter((u) => u.includes(gw().token))).toEqual([]);
  });
});
