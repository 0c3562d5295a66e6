import { describe, expect, it } from "vitest";
import { MAX_HOST_REFUSALS, MAX_RATE_LIMITS, afterRefusal, backoffMs, classifyHostError, decide, firstModel, refusalDelayMs, refusedReason, strongerModel } from "../../src/batch/policy.js";
import type { AttemptOutcome, RunRecord } from "../../src/batch/types.js";
import { options, spec } from "../support/batch.js";

const ladder = ["m/cheap", "m/mid", "m/strong"];

function runWith(models: (string | undefined)[], tier = 0): RunRecord {
  return {
    spec: spec("x", { tier }),
    state: "running",
    attempts: models.map((model, i) => ({
      n: i + 1, model, sessionKey: "k", owner: "o", startedAt: 0, tokens: 0, usage: { inputTokens: 0, outputTokens: 0 }, costUsd: 0, reason: "why",
    })),
  };
}

describe("failure classes decide the next step", () => {
  const table: [AttemptOutcome, string][] = [
    ["ok", "succeed"],
    ["rate_limit", "retry same model"],
    ["provider_error", "retry same model"],
    ["empty_output", "escalate"],
    ["invalid_json", "escalate"],
    ["schema_violation", "escalate"],
    ["interrupted", "retry same model"],
    ["timeout", "fail timed_out"],
    ["cancelled", "fail cancelled"],
    ["budget", "fail failed"],
  ];
  it.each(table)("%s -> %s", (outcome, expected) => {
    const d = decide(runWith(["m/cheap"]), outcome, options(), () => 0.5);
    const got =
      d.kind === "succeed" ? "succeed" : d.kind === "fail" ? `fail ${d.state}` : d.escalated ? "escalate" : "retry same model";
    expect(got).toBe(expected);
  });

  it("an erroring model is retried once, then escalated", () => {
    expect(decide(runWith(["m/cheap"]), "provider_error", options())).toMatchObject({ kind: "retry", model: "m/cheap" });
    expect(decide(runWith(["m/cheap", "m/cheap"]), "provider_error", options())).toMatchObject({ kind: "retry", model: "m/mid", escalated: true });
  });

  it("climbs the ladder one rung at a time and retries the top rung in place", () => {
    expect(decide(runWith(["m/mid"]), "invalid_json", options())).toMatchObject({ model: "m/strong" });
    expect(decide(runWith(["m/strong"]), "invalid_json", options())).toMatchObject({ model: "m/strong", escalated: false });
  });

  it("retries bound the attempts per run", () => {
    const d = decide(runWith(["m/cheap", "m/mid", "m/strong"]), "invalid_json", options({ retries: 2 }));
    expect(d).toMatchObject({ kind: "fail", state: "failed" });
    expect(d.kind === "fail" && d.error).toMatch(/after 3 attempts/);
    expect(decide(runWith(["m/cheap"]), "provider_error", options({ retries: 0 }))).toMatchObject({ kind: "fail" });
  });

  it("rate limits consume no retries and never escalate, but are bounded on their own", () => {
    const limited = (n: number) => {
      const run = runWith(Array(n).fill("m/cheap"));
      run.attempts.forEach((a) => (a.outcome = "rate_limit"));
      return run;
    };
    expect(decide(limited(3), "rate_limit", options({ retries: 0 }), () => 0.5)).toEqual({ kind: "retry", model: "m/cheap", delayMs: 8000, escalated: false });
    expect(decide(limited(MAX_RATE_LIMITS + 1), "rate_limit", options())).toMatchObject({ kind: "fail", state: "failed", error: `why (rate limited ${MAX_RATE_LIMITS + 1} times)` });
    const after = limited(2);
    after.attempts.push({ ...after.attempts[0], n: 3, outcome: "provider_error" });
    expect(decide(after, "provider_error", options({ retries: 1 }))).toMatchObject({ kind: "retry" }); // 1 try, not 3
  });

  it("without escalation or without the operator's override the model never changes", () => {
    expect(decide(runWith(["m/cheap"]), "invalid_json", options({ escalate: false }))).toMatchObject({ model: "m/cheap", escalated: false });
    expect(decide(runWith([undefined]), "invalid_json", options({ modelOverride: false }))).toMatchObject({ model: undefined, escalated: false });
  });
});

describe("models", () => {
  it("the first model is the caller's pin, else the role's starting rung, else none without override", () => {
    expect(firstModel(runWith([], 1), options())).toBe("m/mid");
    expect(firstModel(runWith([], 9), options())).toBe("m/strong");
    expect(firstModel({ ...runWith([]), spec: spec("x", { model: "p/pinned" }) }, options())).toBe("p/pinned");
    expect(firstModel(runWith([], 1), options({ modelOverride: false }))).toBeUndefined();
  });

  it("escalation never goes down: a model off the ladder (a pin) escalates to the strongest rung, the top has nowhere to go", () => {
    expect(strongerModel("p/pinned", ladder)).toBe("m/strong");
    expect(strongerModel("m/strong", ladder)).toBeUndefined();
  });

  it("a host that is not ready (gateway starting) interrupts the attempt: retried after a pause, no retry used", () => {
    const reason = "start failed: agent unavailable during gateway startup";
    expect(classifyHostError(reason)).toBe("interrupted");
    const run = runWith(["m/cheap"]);
    Object.assign(run.attempts[0], { outcome: "interrupted", reason });
    expect(decide(run, "interrupted", options({ retries: 0 }))).toMatchObject({ kind: "retry", delayMs: 1000 });
  });

  it("classifies host errors into rate limits and provider errors", () => {
    expect(classifyHostError("429 Too Many Requests")).toBe("rate_limit");
    expect(classifyHostError("rate limit reached for model")).toBe("rate_limit");
    expect(classifyHostError("400 invalid_request_error")).toBe("provider_error");
  });

  it("backs off with jitter, longer for rate limits, none after an interruption", () => {
    expect(backoffMs("provider_error", 1, () => 0)).toBe(250);
    expect(backoffMs("provider_error", 1, () => 1)).toBe(750);
    expect(backoffMs("rate_limit", 1, () => 0.5)).toBe(2000);
    expect(backoffMs("provider_error", 20, () => 0.5)).toBe(15000);
    expect(backoffMs("interrupted", 3)).toBe(0);
  });
});

describe("a host that refuses starts for now", () => {
  it("is asked again after 1, 2, 4, 8 s, then every 10 s", () => {
    expect([1, 2, 3, 4, 5, 9].map(refusalDelayMs)).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000]);
  });

  it("is given up on at the count bound, or when the next try would fall past the run's deadline", () => {
    expect(afterRefusal(1, 0, 60_000)).toEqual({ retryAt: 1000 });
    expect(afterRefusal(MAX_HOST_REFUSALS - 1, 0, 10_000_000)).toEqual({ retryAt: 10_000 });
    expect(afterRefusal(MAX_HOST_REFUSALS, 0, 10_000_000)).toEqual({ giveUp: true });
    expect(afterRefusal(3, 0, 4_000)).toEqual({ giveUp: true }); // the next try (4 s) would be at the deadline
    expect(afterRefusal(3, 0, 4_001)).toEqual({ retryAt: 4_000 });
  });

  it("says what happened and what the operator can do", () => {
    expect(refusedReason({ count: 1, last: "gateway is draining" }, 30)).toBe(
      "the gateway refused to start this run 1 time over 30s (last: gateway is draining). It was starting, draining or shutting down the plugin's runtime: " +
        "check `openclaw gateway status` and the gateway log, restart the gateway if it stays that way (`openclaw gateway restart`), then run these labels again",
    );
  });
});
