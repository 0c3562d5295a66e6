// The gateway-wide slots as a specification: caps per host, provider and model; a cap learned from
// rate limits (multiplicative decrease, additive increase, bounded); and a free slot going to the
// agent, then batch, with the fewest runs in flight.
import { describe, expect, it } from "vitest";
import { LearnedCap } from "../../src/scheduling/learned-cap.js";
import { type CapChange, ProviderSlots } from "../../src/scheduling/provider-slots.js";
import { capChangeLine, rateLimitedSession } from "../../src/scheduling/host-events.js";
import { type MetaStore, REMEMBER_FOR_MS, recallCaps, rememberCaps } from "../../src/scheduling/remembered-caps.js";

const A = { agentId: "a", batchId: "A" };
const B = { agentId: "b", batchId: "B" };
const noop = () => {};

function clock(start = 1000) {
  let t = start;
  return { now: () => t, tick: (ms = 1) => (t += ms) };
}

describe("caps", () => {
  it("a run needs room under the host's limit, its provider's cap and its model's cap", () => {
    const s = new ProviderSlots({ hostMax: 3, caps: { p: 2, "q/m": 1 } });
    expect(s.take(A, "p/x", "1", noop)).toBe(true);
    expect(s.take(A, "p/y", "2", noop)).toBe(true);
    expect(s.take(A, "p/z", "3", noop)).toBe(false); // provider p: 2
    expect(s.take(A, "q/m", "4", noop)).toBe(true);
    expect(s.take(A, "q/m", "5", noop)).toBe(false); // model q/m: 1
    expect(s.take(A, "r/n", "6", noop)).toBe(false); // host: 3
    s.release("1", "ok");
    expect(s.take(A, "r/n", "6", noop)).toBe(true);
    expect(s.snapshot().inFlight).toBe(3);
  });

  it("runs without a pinned model count against the agents' default model's provider", () => {
    const s = new ProviderSlots({ hostMax: 8, caps: { fake: 1 }, defaultModel: "fake/parent" });
    expect(s.take(A, undefined, "1", noop)).toBe(true);
    expect(s.take(A, "fake/cheap", "2", noop)).toBe(false);
  });

  it("taking the same attempt twice holds one slot; releasing an unknown one is a no-op", () => {
    const s = new ProviderSlots({ hostMax: 1 });
    expect(s.take(A, "p/x", "1", noop)).toBe(true);
    expect(s.take(A, "p/x", "1", noop)).toBe(true);
    s.release("nope", "ok");
    expect(s.snapshot().inFlight).toBe(1);
    s.release("1", "other");
    s.release("1", "other");
    expect(s.snapshot().inFlight).toBe(0);
  });
});

describe("the learned cap", () => {
  it("cuts to the runs that were getting through, and climbs one step per cap's worth of successes up to its bound", () => {
    const c = clock();
    const changes: CapChange[] = [];
    const s = new ProviderSlots({ hostMax: 8, now: c.now, onChange: (ch) => changes.push(ch) });
    for (let i = 0; i < 8; i++) s.take(A, "p/x", `r${i}`, noop);
    c.tick();
    s.throttled("r0"); // 8 out, 7 getting through
    s.throttled("r1"); // 6 getting through
    s.throttled("r1"); // the same run again: nothing new
    expect(s.capOf("p")).toBe(6);
    for (let i = 2; i < 6; i++) s.release(`r${i}`, "rate_limit"); // each leaves one fewer getting through
    expect(s.capOf("p")).toBe(2);
    for (const id of ["r0", "r1", "r6", "r7"]) s.release(id, "ok"); // started before the cut: no credit
    expect(s.capOf("p")).toBe(2);
    c.tick();
    for (let round = 0; round < 2; round++) {
      expect(s.take(A, "p/x", `t${round}a`, noop)).toBe(true);
      expect(s.take(A, "p/x", `t${round}b`, noop)).toBe(true);
      if (round === 0) expect(s.take(A, "p/x", "t0c", noop)).toBe(false);
      c.tick();
      s.release(`t${round}a`, "ok");
      s.release(`t${round}b`, "ok");
    }
    expect(s.capOf("p")).toBe(3); // 2 successes at cap 2 -> 3
    expect(changes.map((ch) => ch.to)).toEqual([7, 6, 5, 4, 3, 2, 3]);
    expect(capChangeLine(changes[0])).toBe("provider p: concurrency cap lowered 8 -> 7 (rate limited (429) with 8 in flight, 7 getting through)");
    expect(capChangeLine(changes[6])).toBe("provider p: concurrency cap raised 2 -> 3 (2 runs in a row without a rate limit)");
  });

  it("never goes below 1 nor above its bound (the configured cap or the host's limit)", () => {
    const cap = new LearnedCap("p", 3);
    expect(cap.rateLimited(2, 3, 1)?.to).toBe(2);
    expect(cap.rateLimited(0, 2, 3)?.to).toBe(1);
    expect(cap.rateLimited(0, 1, 5)).toBeUndefined();
    expect(cap.cap).toBe(1);
    let t = 10;
    for (let i = 0; i < 20; i++) cap.succeeded(t, ++t);
    expect(cap.cap).toBe(3);
    const late = new LearnedCap("p", 8);
    late.rateLimited(2, 3, 1);
    expect(late.rateLimited(5, 6, 2)?.to).toBe(1); // runs started before the cut still out: a new limit cuts one step at least
    expect(new ProviderSlots({ hostMax: 5, caps: { p: 2 } }).capOf("p")).toBe(2);
    expect(new ProviderSlots({ hostMax: 5, caps: { p: 9 } }).capOf("p")).toBe(5);
  });

  it("a host-side rate-limit retry over the cap is taken back from its batch; within the cap it is left to the host", () => {
    const c = clock();
    const s = new ProviderSlots({ hostMax: 8, now: c.now });
    for (let i = 0; i < 4; i++) s.take(i < 2 ? A : B, "p/x", `k${i}`, noop);
    c.tick();
    const event = { stream: "run_status", sessionKey: "k0", data: { phase: "retrying", reason: "rate_limit" } };
    expect(s.throttled(rateLimitedSession(event)!)).toBe("A"); // cap 3, 4 held: take k0 back
    expect(s.throttled("k0")).toBeUndefined(); // already being taken back
    expect(s.capOf("p")).toBe(3);
    expect(s.throttled("k3")).toBe("B"); // cap 2 (k1, k2 getting through), 3 held
    expect(s.capOf("p")).toBe(2);
    s.release("k0", "rate_limit"); // its end changes nothing more
    s.release("k3", "rate_limit");
    expect(s.capOf("p")).toBe(2);
    expect(s.throttled("k1")).toBe("A"); // k2 alone gets through: cap 1, 2 held
    expect(s.capOf("p")).toBe(1);
    expect(rateLimitedSession({ ...event, data: { phase: "retrying", reason: "timeout" } })).toBeUndefined();
    expect(rateLimitedSession({ ...event, stream: "lifecycle" })).toBeUndefined();
  });

  it("tells onChange which batches had runs on the provider", () => {
    const seen: string[][] = [];
    const s = new ProviderSlots({ hostMax: 4, onChange: (_c, ids) => seen.push(ids) });
    s.take(A, "p/x", "1", noop);
    s.take(B, "p/x", "2", noop);
    s.take(B, "q/x", "3", noop);
    s.release("1", "rate_limit");
    expect(seen).toEqual([["A", "B"]]);
  });
});

describe("a learned cap across a restart", () => {
  it("starts where it was learned, within its bound, and still climbs after successes", () => {
    const c = clock();
    const before = new ProviderSlots({ hostMax: 8, now: c.now });
    for (let i = 0; i < 3; i++) before.take(A, "p/x", `r${i}`, noop);
    c.tick();
    before.release("r0", "rate_limit"); // 3 out, 2 getting through: cap 2
    expect(before.learnedCaps()).toEqual({ p: { cap: 2, at: c.now() } });

    const after = new ProviderSlots({ hostMax: 8, now: c.now });
    const [change] = after.recall({ ...before.learnedCaps(), q: { cap: 50, at: 1 } }); // q: nothing to start below its bound
    expect(after.capOf("p")).toBe(2);
    expect(after.capOf("q")).toBe(8);
    expect(capChangeLine(change)).toBe(`provider p: concurrency cap lowered 8 -> 2 (remembered from before the restart, learned ${new Date(1001).toISOString()})`);
    expect(after.snapshot().changes).toEqual([change]);
    expect(after.learnedCaps()).toEqual({ p: { cap: 2, at: 1001 } }); // saved again, it keeps the time it was learned
    c.tick();
    for (const id of ["a", "b"]) after.take(A, "p/x", id, noop);
    for (const id of ["a", "b"]) after.release(id, "ok");
    expect(after.capOf("p")).toBe(3);
    expect(after.learnedCaps()).toEqual({ p: { cap: 3, at: c.now() } });
    expect(new ProviderSlots({ hostMax: 2 }).recall({ p: { cap: 0, at: 1 } }).map((ch) => ch.to)).toEqual([1]); // never below 1
  });

  it("is kept in the store for a day; anything unreadable is forgotten, never an error", () => {
    const meta = new Map<string, string>();
    const store: MetaStore = { getMeta: (k) => meta.get(k), setMeta: (k, v) => void meta.set(k, v) };
    expect(recallCaps(store)).toEqual({});
    rememberCaps(store, { p: { cap: 2, at: 1_000 }, q: { cap: 3, at: 5_000 } });
    expect([...meta.keys()]).toEqual(["learned_provider_caps"]); // the stored name: renaming it forgets every cap on upgrade
    expect(REMEMBER_FOR_MS).toBe(24 * 60 * 60 * 1000);
    expect(recallCaps(store, 1_000 + REMEMBER_FOR_MS)).toEqual({ q: { cap: 3, at: 5_000 } });
    expect(recallCaps(store, 1_000 + REMEMBER_FOR_MS - 1)).toEqual({ p: { cap: 2, at: 1_000 }, q: { cap: 3, at: 5_000 } });
    meta.set("learned_provider_caps", '{"one":{"cap":1,"at":1},"zero":{"cap":0,"at":1},"when":{"cap":2,"at":"1"}}');
    expect(recallCaps(store, 2)).toEqual({ one: { cap: 1, at: 1 } });
    for (const junk of ["not json", "null", "[1]", '{"p":{"cap":"2","at":1}}', '{"p":{"cap":1.5,"at":1}}', '{"p":null}']) {
      meta.set([...meta.keys()][0], junk);
      expect(recallCaps(store, 2), junk).toEqual({});
    }
  });
});

describe("fairness", () => {
  it("a freed slot goes to the waiting agent with fewer runs in flight, even when the busier one asks first", () => {
    const s = new ProviderSlots({ hostMax: 2 });
    let woken = 0;
    s.take(A, "p/x", "a1", noop);
    s.take(A, "p/x", "a2", noop);
    expect(s.take(B, "p/x", "b1", () => woken++)).toBe(false);
    s.release("a1", "ok");
    expect(woken).toBe(1); // B is told a slot is free
    s.beginAdmit(A);
    expect(s.take(A, "p/x", "a3", noop)).toBe(false); // A has 1 in flight, B 0 and waiting
    s.beginAdmit(B);
    expect(s.take(B, "p/x", "b1", noop)).toBe(true);
    s.release("a2", "ok");
    // Both at 1 in flight: the one that waited longer (A, refused above) goes first.
    s.beginAdmit(B);
    expect(s.take(B, "p/x", "b2", noop)).toBe(false);
    expect(s.take(A, "p/x", "a3", noop)).toBe(true);
  });

  it("a waiting batch that stopped asking holds nobody back after the TTL", () => {
    const c = clock();
    const s = new ProviderSlots({ hostMax: 1, waiterTtlMs: 30, now: c.now });
    s.take(A, "p/x", "a1", noop);
    s.take(B, "p/x", "b1", noop); // B waits, then never asks again (its loop ended)
    c.tick(10);
    s.release("a1", "ok");
    expect(s.take(A, "p/x", "a2", noop)).toBe(false);
    c.tick(30);
    expect(s.take(A, "p/x", "a2", noop)).toBe(true);
  });

  it("a waiter that has no room for what it wants does not block another model's run", () => {
    const s = new ProviderSlots({ hostMax: 4, caps: { p: 1 } });
    s.take(A, "p/x", "a1", noop);
    expect(s.take(B, "p/x", "b1", noop)).toBe(false); // waits for p
    expect(s.take(A, "q/x", "a2", noop)).toBe(true); // q has room; B could not use it
  });

  it("a withdrawn batch is no longer waited for", () => {
    const s = new ProviderSlots({ hostMax: 1 });
    s.take(A, "p/x", "a1", noop);
    s.take(B, "p/x", "b1", noop);
    s.release("a1", "ok");
    s.withdraw("B");
    expect(s.take(A, "p/x", "a2", noop)).toBe(true);
  });
});
