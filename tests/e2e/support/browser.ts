// A real headless Chromium for the dashboard's browser tests, driven by playwright-core. Where it comes from,
// first found wins: PA_CHROMIUM (a path), the one `npm ci` installs inside @sparticuz/chromium (it unpacks its
// own binary into the temp dir; no download), then a system Chromium (Debian's `chromium`). None: the test
// fails and says how to get one — it never skips.
import { existsSync } from "node:fs";
import { afterAll, beforeAll } from "vitest";
import { type Browser, chromium } from "playwright-core";

export interface FoundBrowser {
  path: string;
  source: string;
}

const SYSTEM_CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

export const NO_BROWSER =
  "no Chromium for the dashboard browser tests. `npm ci` installs one (devDependency @sparticuz/chromium); " +
  "or install Debian's (`apt-get install chromium`), or point PA_CHROMIUM at a Chrome/Chromium binary.";

export interface BrowserSources {
  env?: NodeJS.ProcessEnv;
  /** The packaged Chromium's path (unpacking it first). */
  packaged?: () => Promise<string>;
  systemPaths?: string[];
}

const packagedChromium = async () => (await import("@sparticuz/chromium")).default.executablePath();

export async function findBrowser({ env = process.env, packaged = packagedChromium, systemPaths = SYSTEM_CHROMIUM }: BrowserSources = {}): Promise<FoundBrowser> {
  const tried: string[] = [];
  if (env.PA_CHROMIUM) {
    if (existsSync(env.PA_CHROMIUM)) return { path: env.PA_CHROMIUM, source: "PA_CHROMIUM" };
    tried.push(`PA_CHROMIUM=${env.PA_CHROMIUM} does not exist`);
  }
  if (process.platform === "linux" && process.arch === "x64") {
    try {
      return { path: await packaged(), source: "@sparticuz/chromium" };
    } catch (err) {
      tried.push(`@sparticuz/chromium: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  const system = systemPaths.find((p) => existsSync(p));
  if (system) return { path: system, source: "system" };
  throw new Error(`${NO_BROWSER}${tried.length ? ` (tried: ${tried.join("; ")})` : ""}`);
}

// Headless, as root (no sandbox), and quiet on a machine without a network: no background fetches.
const ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--no-first-run",
  "--no-default-browser-check",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-default-apps",
  "--mute-audio",
];

export async function launchBrowser(): Promise<{ browser: Browser; found: FoundBrowser }> {
  const found = await findBrowser();
  const browser = await chromium.launch({ executablePath: found.path, args: ARGS, headless: true, timeout: 120_000 });
  return { browser, found };
}

/** One browser for a test file: launched in beforeAll, closed in afterAll. */
export function useBrowser(): () => Browser {
  let browser: Browser | undefined;
  beforeAll(async () => {
    const launched = await launchBrowser();
    browser = launched.browser;
    process.stderr.write(`[e2e] browser ${browser.version()} from ${launched.found.source} (${launched.found.path})\n`);
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
  });
  return () => {
    if (!browser) throw new Error("browser not launched (beforeAll failed?)");
    return browser;
  };
}
