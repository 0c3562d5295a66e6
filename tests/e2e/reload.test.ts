// Batches keep running when the plugin is re-registered inside a running gateway: after
// `openclaw plugins reload parallel-agents`, and after an edit of the plugin's config (which the
// gateway hot-applies by reloading the plugin's runtime, see docs/gateway/configuration/hot-reload.md).
// A batch in flight across a config edit finishes ok; `plugins reload` is refused by the host while our children
// run (2026.9.6: "still has active retained work"), so it is done once idle. Either way a batch right after runs.
// (README once called reloads a known bug: "every run fails with 'runtime is no longer active' until
// a restart". Measured on 2026.9.6 it does not happen; these cases keep it so.)
import { describe, expect, it } from "vitest";
import { call, pluginGateway } from "./support/plugin-calls.js";
import { type Gateway, useGateway } from "./support/use-gateway.js";

const gw = useGateway({ ...pluginGateway("reload"), readyTimeoutMs: 240_000 }); // a shared 2-core machine boots slowly

async function cliOk(g: Gateway, args: string[]) {
  const t0 = Date.now();
  const r = await g.cli(args, { timeoutMs: 120_000 });
  process.stderr.write(`[reload] openclaw ${args.join(" ")} -> ${r.code} in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  expect(r.code, `openclaw ${args.join(" ")}\n${r.stdout}\n${r.stderr}`).toBe(0);
  return r;
}

/** A batch that is still running while the reload happens. */
async function inFlight(tag: string) {
  const tasks = [1, 2].map((i) => ({ label: `${tag}-live-${i}`, task: `${tag} live ${i} [[delay:4000]] [[reply:${tag}-LIVE-${i}]]` }));
  const { details } = await call(gw(), "parallel_spawn", { tasks, waitSeconds: 0 });
  expect(details.complete).toBe(false);
  return details.batchId;
}

/** The in-flight batch ended ok, and a new batch spawned now runs. */
async function expectBatchesRun(tag: string, liveId: string) {
  const t0 = Date.now();
  const args = { tasks: [{ label: `${tag}-after`, task: `${tag} after [[reply:${tag}-AFTER]]` }], waitSeconds: 120 };
  // While the host swaps the plugin's runtime it answers 404 "Tool not available" for a moment (host behaviour):
  // probe with an empty task list until the tool answers at all (our 400), then spawn.
  const probe = () => gw().invokeTool("parallel_spawn", { tasks: [] }, { timeoutMs: 10_000 }).catch(() => undefined);
  for (let r = await probe(); r?.status !== 400 && Date.now() - t0 < 30_000; r = await probe()) {
    process.stderr.write(`[reload] ${tag}: the host answered ${r?.status} (${r?.body?.error?.message}) ${Date.now() - t0} ms after the reload; asking again\n`);
    await new Promise((res) => setTimeout(res, 500));
  }
  const fresh = await call(gw(), "parallel_spawn", args);
  process.stderr.write(`[reload] ${tag}: a batch spawned after the reload finished in ${Date.now() - t0} ms\n`);
  expect(fresh.details.runs.map((r) => [r.state, r.output, r.error])).toEqual([["ok", `${tag}-AFTER`, undefined]]);
  const live = await call(gw(), "poll_until_complete", { batchId: liveId, timeoutSeconds: 120 });
  expect(live.details.complete).toBe(true);
  expect(live.details.runs.map((r) => [r.state, r.output])).toEqual([["ok", `${tag}-LIVE-1`], ["ok", `${tag}-LIVE-2`]]);
}

describe("batches survive a plugin re-registration in a running gateway", () => {
  it("`openclaw plugins reload parallel-agents`: refused by the host while our children run, the batch in flight finishes ok; once idle it reloads and a batch right after runs", async () => {
    const liveId = await inFlight("rl");
    const reload = ["plugins", "reload", "parallel-agents", "--accept-capabilities"];
    const during = await gw().cli(reload, { timeoutMs: 120_000 });
    const said = `${during.stdout}${during.stderr}`;
    process.stderr.write(`[reload] reload while a batch runs -> ${during.code}${during.code ? `: ${/Reason: (.*)/.exec(said)?.[1]}` : ""}\n`);
    // Measured on 2026.9.6: the host refuses to replace a plugin that has children in flight ("active retained work").
    if (during.code !== 0) expect(said).toMatch(/still has active retained work; retry after the work finishes/);
    const live = await call(gw(), "poll_until_complete", { batchId: liveId, timeoutSeconds: 120 });
    expect(live.details.runs.map((r) => [r.state, r.output])).toEqual([["ok", "rl-LIVE-1"], ["ok", "rl-LIVE-2"]]);
    // Idle now: the reload goes through (the host may still be releasing the finished children's sessions).
    let r = await gw().cli(reload, { timeoutMs: 120_000 });
    for (let i = 0; i < 5 && r.code !== 0 && /active retained work/.test(`${r.stdout}${r.stderr}`); i++) {
      await new Promise((res) => setTimeout(res, 3_000));
      r = await gw().cli(reload, { timeoutMs: 120_000 });
    }
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    process.stderr.write("[reload] reload once idle -> 0\n");
    await expectBatchesRun("rl", liveId);
  }, 400_000);

  it("an edit of the plugin's config (hot-applied): a batch in flight finishes ok, a batch right after runs", async () => {
    const liveId = await inFlight("cfg");
    const detected = () => gw().logs().gateway.split("config change detected; evaluating reload (plugins.entries.parallel-agents.config").length - 1;
    const before = detected();
    await cliOk(gw(), ["config", "set", "plugins.entries.parallel-agents.config.maxConcurrency", "5"]);
    // The gateway's file watcher applies the edit after a debounce: wait until it has seen it.
    const by = Date.now() + 60_000;
    while (Date.now() < by && detected() === before) await new Promise((r) => setTimeout(r, 250));
    expect(detected(), "the gateway never reported the config change").toBe(before + 1);
    await expectBatchesRun("cfg", liveId);
  }, 300_000);

  it("never left loopback", () => gw().assertNoEgress());
});
