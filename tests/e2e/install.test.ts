// The three install paths of the contract, for real, against the pinned OpenClaw CLI and gateway:
//   1. `openclaw plugins install --link <dir>`             (development checkout)
//   2. a copy at ~/.openclaw/skills/parallel-agents, registered with `plugins install --link <that dir>`
//   3. `openclaw plugins install npm-pack:<tgz>`            (the published shape, from `npm pack`)
// After each: the plugin is loaded from that place, `openclaw skills list` shows the parallel-agents skill,
// and a parallel_spawn through the gateway returns ok runs carrying the children's real replies.
// One gateway for the file; between paths the previous install is removed with `plugins uninstall`, the next
// one is installed into the running gateway (it hot-applies), then the gateway is restarted so each path is
// also proven from a cold start.
//
// What the CLI does that the reference docs don't say (OpenClaw 2026.9.6, measured here):
// - `plugins install --link <other dir>` for an id that is already linked from another dir fails ("has no
//   authoritative package-owner metadata … run openclaw plugins doctor"), leaves both load paths in the config
//   ("duplicate plugin id" warning) while the gateway keeps loading the first one. Switching install paths
//   therefore needs `plugins uninstall <id> --force` first.
// - `npm-pack:` installs run `npm install` of the tarball in a temp "managed peer plan" dir (under TMPDIR)
//   from the gateway's process, with npm's audit on: offline, npm retries registry.npmjs.org for minutes and
//   the CLI hangs past 120 s. Offline it needs npm_config_offline/npm_config_audit=false in the environment
//   (set below, for the gateway and the CLI). With network it works as documented.
// - `plugins uninstall <id>` leaves `plugins.entries.<id>.enabled: false` behind, and a later
//   `plugins install` of the same id (any source) keeps it: the plugin is installed but `disabled`, with no
//   hint in the install output. `openclaw plugins enable <id>` fixes it.
// - Installs and uninstalls hot-apply to the running gateway ("config hot reload applied"): `plugins inspect`
//   shows the new install loaded and `skills list` shows the skill without a restart.
// - `install --link` records origin "config" with installSource "path" (it writes plugins.load.paths); npm-pack
//   installs land in <state>/npm/projects/<package>/node_modules/<package>.
// - Here OPENCLAW_STATE_DIR is not ~/.openclaw, so the copy at ~/.openclaw/skills/parallel-agents is not also
//   discovered as a managed skill; the listed skill is the plugin-shipped one (manifest "skills").
// A plugin bug found here, now fixed and pinned by the hot re-install test below: batch stores live on
// globalThis per ledger dir and kept the ChildRuntime of the plugin instance that created them, so after a hot
// re-install (or `openclaw plugins reload`) every run failed with `Plugin "parallel-agents" runtime is no longer
// active.` until a restart. The store now uses the newest instance's runtime.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "./support/gateway.mjs";
import { byLabel, call, type Run } from "./support/plugin-calls.js";
import { useGateway, type Gateway } from "./support/use-gateway.js";

let hotRuns: Run[] = [];
let packDir = "";
let tgz = "";
beforeAll(() => {
  // The published shape: what `npm pack` puts in the tarball ("files" in package.json, dist must be built).
  if (!existsSync(join(REPO_ROOT, "dist", "index.js"))) throw new Error("dist/index.js missing: run `npm run build` first");
  packDir = mkdtempSync(join(tmpdir(), "pa-install-pack-"));
  const out = execFileSync("npm", ["pack", "--json", "--pack-destination", packDir], { cwd: REPO_ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  const info = JSON.parse(out.slice(out.indexOf("[")))[0];
  const files = info.files.map((f: { path: string }) => f.path);
  expect(files).toEqual(expect.arrayContaining(["dist/index.js", "dist/skills/parallel-agents/SKILL.md", "openclaw.plugin.json", "skill.json", "SKILL.md", "package.json"]));
  expect(files.some((f: string) => f.startsWith("prompts/"))).toBe(true);
  expect(files.some((f: string) => f.startsWith("src/") || f.startsWith("tests/") || f.startsWith("node_modules/"))).toBe(false);
  tgz = join(packDir, info.filename);
});
afterAll(() => {
  if (packDir) rmSync(packDir, { recursive: true, force: true });
});

// Offline npm for the npm-pack install (see the header); harmless for the other paths.
const OFFLINE_NPM = { npm_config_offline: "true", npm_config_audit: "false", npm_config_fund: "false", npm_config_update_notifier: "false" };
// Path 1 is the fixture's own `install: "link"`: `openclaw plugins install --link <staged package> --force
// --accept-capabilities` before the gateway's first start. No plugin config: runs use the agent's default model.
const gw = useGateway({ name: "install", pluginDir: REPO_ROOT, install: "link", env: OFFLINE_NPM });

const json = (stdout: string) => JSON.parse(stdout.slice(stdout.indexOf("{")));

async function cliOk(g: Gateway, args: string[], timeoutMs = 120_000) {
  const t0 = Date.now();
  const r = await g.cli(args, { timeoutMs });
  process.stderr.write(`[install] openclaw ${args.slice(0, 3).join(" ")} … ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  expect(r.code, `openclaw ${args.join(" ")}\n${r.stdout}\n${r.stderr}`).toBe(0);
  return r;
}

/** Where the running gateway loads parallel-agents from, as `plugins inspect` reports it. */
async function loadedPlugin(g: Gateway) {
  const r = await cliOk(g, ["plugins", "inspect", "parallel-agents", "--runtime", "--json"]);
  const p = json(r.stdout).plugin;
  expect(p.status).toBe("loaded");
  expect(p.toolNames).toEqual(expect.arrayContaining(["parallel_spawn", "poll_until_complete", "research_team", "parallel_cancel"]));
  return p as { rootDir: string; source: string; origin: string; trust?: { installSource?: string } };
}

async function expectSkillListed(g: Gateway) {
  const r = await cliOk(g, ["skills", "list", "--json"]);
  const skill = json(r.stdout).skills.find((s: { name: string }) => s.name === "parallel-agents");
  expect(skill, "parallel-agents missing from `openclaw skills list`").toBeDefined();
  expect(skill).toMatchObject({ eligible: true, disabled: false });
  return skill;
}

const spawnTwo = (g: Gateway, tag: string) =>
  call(g, "parallel_spawn", {
    tasks: [
      { label: "one", task: `install check ${tag} one [[reply:${tag}-ONE]]` },
      { label: "two", task: `install check ${tag} two [[delay:300]] [[reply:${tag}-TWO]]` },
    ],
    waitSeconds: 90,
  });

async function expectToolsWork(g: Gateway, tag: string) {
  const { details } = await spawnTwo(g, tag);
  expect(details.complete).toBe(true);
  expect(details.runs.map((r) => [r.label, r.state, r.output]), JSON.stringify(details.runs.map((r) => r.error))).toEqual([
    ["one", "ok", `${tag}-ONE`],
    ["two", "ok", `${tag}-TWO`],
  ]);
  // The replies came from real child sessions of this gateway.
  const children = g.fake!.requests((q) => q.isSubagent && q.lastUser.includes(`install check ${tag}`));
  expect(children.map((q) => q.reply.text).sort()).toEqual([`${tag}-ONE`, `${tag}-TWO`]);
  const again = await call(g, "poll_until_complete", { batchId: details.batchId, timeoutSeconds: 1 });
  expect(byLabel(again.details).two.output).toBe(`${tag}-TWO`);
}

/** Removes the current install (the gateway hot-applies it), as a user switching install paths must. */
async function uninstall(g: Gateway) {
  const r = await cliOk(g, ["plugins", "uninstall", "parallel-agents", "--force"]);
  expect(`${r.stdout}${r.stderr}`).toMatch(/Uninstalled plugin "parallel-agents"/);
}

/** After an uninstall the id stays disabled in the config (see the header): re-enable, as a user must. */
async function enableAfterReinstall(g: Gateway) {
  await cliOk(g, ["plugins", "enable", "parallel-agents"]);
}

describe("install paths (real CLI, real gateway)", () => {
  it("--link <dir>: loaded from the linked dir, skill listed, tools work", async () => {
    const p = await loadedPlugin(gw());
    expect(p.rootDir).toBe(join(gw().root, "plugin")); // the fixture's staged copy of the package's files
    await expectSkillListed(gw());
    await expectToolsWork(gw(), "LINK");
  });

  it("copy at ~/.openclaw/skills/parallel-agents + `plugins install --link` it: loaded from there, skill listed, tools work", async () => {
    await uninstall(gw());
    // README path 3: the package copied (here: the tarball unpacked) to the seed's location.
    const dest = join(gw().dirs.home, ".openclaw", "skills", "parallel-agents");
    mkdirSync(dest, { recursive: true });
    execFileSync("tar", ["xzf", tgz, "-C", dest, "--strip-components=1"]);
    expect(readdirSync(dest)).toEqual(expect.arrayContaining(["dist", "openclaw.plugin.json", "package.json", "SKILL.md"]));
    // The one documented registration command.
    await cliOk(gw(), ["plugins", "install", "--link", "~/.openclaw/skills/parallel-agents".replace("~", gw().dirs.home), "--force", "--accept-capabilities"]);
    await enableAfterReinstall(gw());
    // Hot-applied: the running gateway already loads it from there and lists the skill.
    expect((await loadedPlugin(gw())).rootDir).toBe(dest);
    await expectSkillListed(gw());
    hotRuns = (await spawnTwo(gw(), "HOT")).details.runs;
    // From a cold start too.
    await gw().restart();
    expect((await loadedPlugin(gw())).rootDir).toBe(dest);
    await expectToolsWork(gw(), "COPY");
  });

  it("npm-pack:<tgz>: installed into the state dir from the tarball, skill listed, tools work", async () => {
    await uninstall(gw());
    const r = await cliOk(gw(), ["plugins", "install", `npm-pack:${tgz}`, "--force", "--accept-capabilities"], 180_000);
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/Install cancelled/i);
    await enableAfterReinstall(gw());
    await gw().restart();
    const p = await loadedPlugin(gw());
    // Installed as a managed copy (not the repo, not the earlier copy): under the isolated state/home.
    expect(p.rootDir.startsWith(gw().root)).toBe(true);
    expect(p.rootDir).not.toBe(join(gw().dirs.home, ".openclaw", "skills", "parallel-agents"));
    expect(p.rootDir).not.toBe(join(gw().root, "plugin"));
    expect(existsSync(join(p.rootDir, "dist", "index.js"))).toBe(true);
    await expectSkillListed(gw());
    await expectToolsWork(gw(), "PACK");
  });

  it("right after a hot re-install, without a restart, runs work on the new instance's runtime", () => {
    expect(hotRuns.map((r) => [r.label, r.state, r.output])).toEqual([["one", "ok", "HOT-ONE"], ["two", "ok", "HOT-TWO"]]);
  });

  it("never left loopback", () => {
    gw().assertNoEgress();
  });
});

