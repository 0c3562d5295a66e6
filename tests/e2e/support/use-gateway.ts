// Vitest wiring for the gateway fixture: one gateway per test file, started in beforeAll, always stopped in
// afterAll (plus the fixture's process-exit handler), its temp root kept and printed when any test failed.
import { afterAll, beforeAll, beforeEach } from "vitest";
import { startGateway, type Gateway, type GatewayOptions } from "./gateway.mjs";

export type { Gateway, GatewayOptions } from "./gateway.mjs";
export type { FakeModel, FakeRequest, FakeRule } from "./fake-model.mjs";

/** Starts a gateway for this file. Use the returned getter inside tests: `const gw = useGateway(...); gw().chat(...)`. */
export function useGateway(options: GatewayOptions | (() => GatewayOptions)): () => Gateway {
  let gateway: Gateway | undefined;
  beforeAll(async () => {
    gateway = await startGateway(typeof options === "function" ? options() : options);
    const t = gateway.timings;
    process.stderr.write(`[e2e] gateway ready in ${t.readyMs} ms, warm-up turn ${t.warmupMs} ms (${gateway.root})\n`);
  });
  beforeEach(({ onTestFailed }) => onTestFailed(() => gateway?.markFailed()));
  afterAll(async () => {
    await gateway?.stop();
  });
  return () => {
    if (!gateway) throw new Error("gateway not started (beforeAll failed?)");
    return gateway;
  };
}

export function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}
