// Batches keep running when the plugin is re-registered inside a running gateway: after
// `openclaw plugins reload parallel-agents`, and after an edit of the plugin's config (which the
// gateway hot-applies by reloading the plugin's runtime, see docs/gateway/configuration/hot-reload.md).
// In each case a batch in flight across the reload finishes ok, and a batch started right after runs.
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
  const fresh = await call(gw(), "parallel_spawn", { tasks: [{ label: `${tag}-after`, task: `${tag} after [[reply:${tag}-AFTER]]` }], waitSeconds: 120 });
  process.stderr.write(`[reload] ${tag}: a batch spawned after the reload finished in ${Date.now() - t0} ms\n`);
  expect(fresh.details.runs.map((r) => [r.state, r.output, r.error])).toEqual([["ok", `${tag}-AFTER`, undefined]]);
  const live = await call(gw(), "poll_until_complete", { batchId: liveId, timeoutSeconds: 120 });
  expect(live.details.complete).toBe(true);
  expect(live.details.runs.map((r) => [r.state, r.output])).toEqual([["ok", `${tag}-LIVE-1`], ["ok", `${tag}-LIVE-2`]]);
}

describe("batches survive a plugin re-registration in a running gateway", () => {
  it("`openclaw plugins reload parallel-agents`: a batch in flight finishes ok, a batch right after runs", async () => {
    const liveId = await inFlight("rl");
    await cliOk(gw(), ["plugins", "reload", "parallel-agents", "--accept-capabilities"]);
    await expectBatchesRun("rl", liveId);
  }, 300_000);

  it("an edit of the plugin's config (hot-applied): a batch in flight finishes ok, a batch right after runs", async () => {
    const liveId = await inFlight("cfg");
    await cliOk(gw(), ["config", "set", "plugins.entries.parallel-agents.config.maxConcurrency", "5"]);
    // The gateway's file watcher applies the edit after a debounce: give it that moment, then use it.
    const applied = Date.now() + 30_000;
    while (Date.now() < applied && !/config (hot )?reload|reload.*applied|plugins? .*reload/i.test(gw().logs().gateway)) await new Promise((r) => setTimeout(r, 250));
    process.stderr.write(`[reload] config edit: gateway log ${/reload/i.test(gw().logs().gateway) ? "reports a reload" : "shows no reload line"}\n`);
    await expectBatchesRun("cfg", liveId);
  }, 300_000);

  it("never left loopback", () => gw().assertNoEgress());
});
