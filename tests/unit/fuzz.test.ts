// Property-based fuzzing of the four tools' inputs through the host-shaped fake (issue 7).
// Generated and mutated argument sets -> every call resolves with a well-formed result or rejects
// with a clear Error that starts with the tool name: no TypeError/RangeError from our code, no
// unhandled rejection, no prototype pollution. Bounded: FUZZ_RUNS (default small) sets the number
// of cases per property; `npm run fuzz` runs a large number.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fakeHost } from "../support/fake-host.js";
import type { StartRequest } from "../../src/runtime/port.js";

const RUNS = Math.max(1, Number(process.env.FUZZ_RUNS ?? 150));
/** Safety net: a property stops generating after this long (the run still counts as passed). */
const TIME_LIMIT_MS = Number(process.env.FUZZ_TIME_LIMIT_MS ?? (process.env.FUZZ_RUNS ? 30 * 60_000 : 3_000));
const params = (numRuns: number) => ({ numRuns: Math.max(1, Math.round(numRuns)), plugins: [fc.interruptAfterTimeLimit(TIME_LIMIT_MS)] });

type ToolName = "parallel_spawn" | "poll_until_complete" | "research_team" | "parallel_cancel";
const TOOLS: ToolName[] = ["parallel_spawn", "poll_until_complete", "research_team", "parallel_cancel"];
const RESERVED = ["status", "ok", "success", "error", "timedOut", "exitCode"];
/** Messages that mean our code crashed instead of refusing the input. */
const CRASH = /Cannot read propert|Cannot set propert|is not a function|is not iterable|Maximum call stack|Cannot convert|undefined is not|null is not|Invalid array length|Invalid string length/;

const RESEARCH_JSON = JSON.stringify({ topic: "t", summary: "s", findings: [], confidence: 0.5, openQuestions: [] });
const script = (req: StartRequest) => ({ reply: /JSON/.test(req.message) ? RESEARCH_JSON : "done", delayMs: 2 });

// ------------------------------------------------------------------------------------------------
// Poison and size payloads

/** An object whose `__proto__` / `constructor` / `prototype` keys are own properties, as JSON.parse makes them. */
const poison = () =>
  JSON.parse(
    '{"__proto__":{"polluted":"yes","type":"string"},"constructor":{"prototype":{"polluted":"yes"}},"prototype":{"polluted":"yes"},"toString":"x","hasOwnProperty":"x","valueOf":{"polluted":"yes"}}',
  ) as Record<string, unknown>;
const poisonArb = fc
  .constantFrom(
    JSON.stringify(poison()),
    '{"__proto__":"x"}',
    '{"constructor":"x"}',
    '{"prototype":"x"}',
    '{"__proto__":{"__proto__":{"polluted":"yes"}}}',
    '{"type":"object","properties":{"__proto__":{"type":"string"},"constructor":{"type":"string"}},"required":["__proto__","constructor"]}',
    '{"type":"object","__proto__":{"required":["polluted"]},"additionalProperties":{"__proto__":{}}}',
  )
  .map((text) => JSON.parse(text) as Record<string, unknown>); // a fresh object each time
const poisonKey = fc.constantFrom("__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "__defineGetter__", "valueOf");

function nest(depth: number, kind: "object" | "array" | "schema"): unknown {
  let v: unknown = kind === "schema" ? { type: "string" } : "leaf";
  for (let i = 0; i < depth; i++) {
    if (kind === "object") v = { a: v };
    else if (kind === "array") v = [v];
    else v = { type: "object", properties: { a: v } };
  }
  // fast-check prints counterexamples recursively; give deep values a short name instead.
  Object.defineProperty(v as object, fc.toStringMethod, { value: () => `<${kind} nested ${depth} deep>`, enumerable: false });
  return v;
}
const deepArb = fc.tuple(fc.integer({ min: 20, max: 5000 }), fc.constantFrom("object" as const, "array" as const, "schema" as const)).map(([d, k]) => nest(d, k));
const hugeStringArb = fc.tuple(fc.integer({ min: 1, max: 300_000 }), fc.constantFrom("x", "{{constructor}}", "<<<end child-output>>>", "\u0000", "é", "🙂")).map(([n, s]) => s.repeat(Math.ceil(n / s.length)));
const hugeArrayArb = fc.integer({ min: 490, max: 5000 }).map((n) => Array.from({ length: n }, (_, i) => ({ task: `t${i}` })));
const weirdNumberArb = fc.constantFrom(NaN, Infinity, -Infinity, -0, 1e308, -1, 0.5, 2 ** 53, Number.MAX_SAFE_INTEGER + 2, 601, 7201, 600_001);

/** Anything a buggy model (or a hostile caller) might put in a field. */
const junkArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
  { weight: 2, arbitrary: fc.anything({ maxDepth: 3, withNullPrototype: true, withBoxedValues: true, withMap: true, withSet: true, withSparseArray: true, withTypedArray: true, withDate: true, withBigInt: true }) },
  { weight: 2, arbitrary: poisonArb },
  { weight: 1, arbitrary: deepArb },
  { weight: 1, arbitrary: hugeStringArb },
  { weight: 1, arbitrary: weirdNumberArb },
  { weight: 1, arbitrary: fc.constantFrom(undefined, null, "", [], {}, true, 0, "0", "null", "undefined") },
  { weight: 1, arbitrary: hugeArrayArb },
);

// ------------------------------------------------------------------------------------------------
// Valid calls (then mutated)

const ROLE_VARS: Record<string, string[]> = {
  researcher: ["topic", "lens", "brief"],
  "content-writer": ["topic", "style", "format", "audience", "length"],
  "code-reviewer": ["code", "focus", "language", "context"],
  architect: ["problem", "constraints", "context"],
  synthesizer: ["results", "failed", "brief"],
};
const TEMPLATE_PAYLOADS = ['{{constructor.constructor "return process"}}', "{{#with this}}{{lookup . 'constructor'}}{{/with}}", "{{> boundaries}}", "{{{task}}}", "</topic><<<end child-output>>>"];
const textArb = fc.oneof(fc.string({ minLength: 1, maxLength: 60 }), fc.constantFrom(...TEMPLATE_PAYLOADS));
const labelArb = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,12}$/);
const modelArb = fc.constantFrom("m/cheap", "anthropic/claude-haiku-4-5", "x/y:z@1");
const schemaArb = fc.oneof(
  fc.constant({ type: "object", properties: { answer: { type: "string" } }, required: ["answer"] }),
  fc.constant({ type: "array", items: { type: "number" } }),
  fc.constant({}),
  poisonArb,
);
const roleTaskArb = fc
  .constantFrom(...Object.keys(ROLE_VARS))
  .chain((role) =>
    fc.record(
      {
        role: fc.constant(role),
        vars: fc.record(Object.fromEntries(ROLE_VARS[role].map((v) => [v, textArb])), { requiredKeys: [ROLE_VARS[role][0]] }),
        task: textArb,
        label: labelArb,
        timeoutSeconds: fc.integer({ min: 1, max: 7200 }),
      },
      { requiredKeys: ["role", "vars"] },
    ),
  );
const freeTaskArb = fc.record(
  { task: textArb, label: labelArb, model: modelArb, timeoutSeconds: fc.integer({ min: 1, max: 7200 }), outputSchema: schemaArb },
  { requiredKeys: ["task"] },
);
const batchOptsArb = {
  maxConcurrency: fc.integer({ min: 1, max: 64 }),
  retries: fc.integer({ min: 0, max: 5 }),
  escalate: fc.boolean(),
  ladder: fc.array(modelArb, { minLength: 1, maxLength: 3 }),
  timeoutSeconds: fc.integer({ min: 1, max: 7200 }),
  budget: fc.record({ maxTokens: fc.integer({ min: 1, max: 10_000_000 }), maxCostUsd: fc.double({ min: 0.001, max: 100, noNaN: true }) }, { requiredKeys: [] }),
  waitSeconds: fc.constant(0),
};
const spawnArb = fc.oneof(
  fc.record({ tasks: fc.array(fc.oneof(freeTaskArb, roleTaskArb), { minLength: 1, maxLength: 4 }), ...batchOptsArb }, { requiredKeys: ["tasks", "waitSeconds"] }),
  fc.record(
    { team: fc.constantFrom("code-review", "content-variations", "no-such-team"), vars: fc.dictionary(fc.constantFrom("code", "topic", "focus", "style"), textArb), ...batchOptsArb },
    { requiredKeys: ["team", "waitSeconds"] },
  ),
);
const researchArb = fc.record(
  {
    topics: fc.array(textArb, { minLength: 1, maxLength: 3 }),
    brief: textArb,
    lenses: fc.array(fc.constantFrom("breadth", "critical", "architect", "some lens", "__proto__"), { minLength: 1, maxLength: 2 }),
    synthesize: fc.boolean(),
    outputSchema: schemaArb,
    model: modelArb,
    ...batchOptsArb,
  },
  { requiredKeys: ["topics", "waitSeconds"] },
);

// ------------------------------------------------------------------------------------------------
// Mutation: one field (at any depth) replaced, removed, or an unknown/poison key added

type Path = (string | number)[];
function paths(value: unknown, at: Path = [], out: Path[] = []): Path[] {
  out.push(at);
  if (at.length < 4 && value !== null && typeof value === "object") {
    for (const k of Object.keys(value)) paths((value as Record<string, unknown>)[k], [...at, Array.isArray(value) ? Number(k) : k], out);
  }
  return out;
}
type Mutation = { kind: "set"; value: unknown } | { kind: "delete" } | { kind: "addKey"; key: string; value: unknown };
const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 6, arbitrary: junkArb.map((value) => ({ kind: "set" as const, value })) },
  { weight: 1, arbitrary: fc.constant({ kind: "delete" as const }) },
  { weight: 2, arbitrary: fc.tuple(fc.oneof(poisonKey, fc.string({ maxLength: 8 })), junkArb).map(([key, value]) => ({ kind: "addKey" as const, key, value })) },
);
function mutate(valid: unknown, pick: number, m: Mutation): unknown {
  const root = { v: structuredClone(valid) } as Record<string, unknown>;
  const all = paths(root.v, ["v"]);
  const path = all[pick % all.length];
  let parent: any = root;
  for (const k of path.slice(0, -1)) parent = parent[k];
  const last = path[path.length - 1];
  if (m.kind === "set") Object.defineProperty(parent, last, { value: m.value, enumerable: true, writable: true, configurable: true });
  else if (m.kind === "delete") delete parent[last];
  else {
    const target = parent[last];
    if (target !== null && typeof target === "object") Object.defineProperty(target, m.key, { value: m.value, enumerable: true, writable: true, configurable: true });
    else Object.defineProperty(parent, last, { value: { [m.key]: m.value }, enumerable: true, writable: true, configurable: true });
  }
  return root.v;
}

/** Keep calls bounded: waits that the schema would accept are forced to (almost) zero. */
function tame(tool: ToolName, p: unknown): unknown {
  if (p === null || typeof p !== "object" || Array.isArray(p)) return p;
  const o = p as Record<string, unknown>;
  const validInt = (v: unknown, max: number) => v === undefined || (Number.isInteger(v) && (v as number) >= 0 && (v as number) <= max);
  const put = (k: string, v: unknown) => Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  if ((tool === "parallel_spawn" || tool === "research_team") && validInt(o.waitSeconds, 600)) put("waitSeconds", 0);
  if (tool === "poll_until_complete" && validInt(o.timeoutSeconds, 600)) put("timeoutSeconds", 0);
  if (Object.hasOwn(o, "timeoutMs") && validInt(o.timeoutMs, 600_000)) put("timeoutMs", 1);
  return o;
}

// ------------------------------------------------------------------------------------------------
// The oracle

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => void unhandled.push(reason);
const protoBefore = {
  object: Object.getOwnPropertyNames(Object.prototype).sort(),
  array: Object.getOwnPropertyNames(Array.prototype).sort(),
  fn: Object.getOwnPropertyNames(Function.prototype).sort(),
};
const stats = { ok: 0, rejected: 0 };

let host: Awaited<ReturnType<typeof fakeHost>>;
const batchIds: string[] = [];

async function cleanup(details: any): Promise<void> {
  for (const id of [details?.batchId, details?.synthesisBatchId]) {
    if (typeof id !== "string") continue;
    if (!batchIds.includes(id)) batchIds.push(id);
    await host.call("parallel_cancel", { batchId: id });
  }
  if (batchIds.length > 40) batchIds.splice(0, batchIds.length - 40);
}

/** Runs one call and checks the contract of its outcome. */
async function check(tool: ToolName, raw: unknown, h = host): Promise<void> {
  const p = tame(tool, raw);
  let res: any;
  try {
    res = await h.call(tool, p);
  } catch (err) {
    assertPrototypesClean();
    stats.rejected++;
    const e = err as Error;
    const why = `${tool} rejected with ${(e as object)?.constructor?.name}: ${String(e?.message).slice(0, 300)}`;
    expect(e, why).toBeInstanceOf(Error);
    expect(e instanceof TypeError || e instanceof RangeError || e instanceof SyntaxError || e instanceof ReferenceError, why).toBe(false);
    expect(e.message.startsWith(`${tool}`), why).toBe(true);
    expect(e.message.length, why).toBeGreaterThan(tool.length + 10);
    expect(CRASH.test(e.message), why).toBe(false);
    return;
  }
  stats.ok++;
  assertPrototypesClean();
  expect(Array.isArray(res?.content)).toBe(true);
  expect(res.content.length).toBeGreaterThan(0);
  for (const c of res.content) {
    expect(c.type).toBe("text");
    expect(typeof c.text).toBe("string");
    expect(c.text.length).toBeGreaterThan(0);
  }
  expect(res.details).toBeTypeOf("object");
  expect(() => JSON.stringify(res.details)).not.toThrow();
  for (const k of RESERVED) expect(Object.hasOwn(res.details, k), `details.${k}`).toBe(false);
  if (h === host) await cleanup(res.details);
}

function assertPrototypesClean(): void {
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(protoBefore.object);
  expect(Object.getOwnPropertyNames(Array.prototype).sort()).toEqual(protoBefore.array);
  expect(Object.getOwnPropertyNames(Function.prototype).sort()).toEqual(protoBefore.fn);
  expect(({} as any).polluted).toBeUndefined();
  expect(({} as any).type).toBeUndefined();
  expect(Object.prototype.toString.call({})).toBe("[object Object]");
}

const batchIdArb = fc.oneof(
  { weight: 3, arbitrary: fc.nat().map((i) => batchIds[i % Math.max(1, batchIds.length)] ?? "pa-none-0000") },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{4,80}$/) },
  { weight: 1, arbitrary: fc.constantFrom("../../etc/passwd", "pa-x/../../y", "..", "a", "pa-\u0000-x", "CON", "__proto__", "constructor", " pa-1 ") },
);
const pollArb = fc.record({ batchId: batchIdArb, timeoutSeconds: fc.constant(0), timeoutMs: fc.integer({ min: 1, max: 600_000 }) }, { requiredKeys: ["batchId"] });
const cancelArb = fc.record({ batchId: batchIdArb, labels: fc.array(labelArb, { minLength: 1, maxLength: 3 }) }, { requiredKeys: ["batchId"] });
const VALID: Record<ToolName, fc.Arbitrary<unknown>> = { parallel_spawn: spawnArb, poll_until_complete: pollArb, research_team: researchArb, parallel_cancel: cancelArb };

describe("fuzz: tool inputs", () => {
  beforeAll(async () => {
    process.on("unhandledRejection", onUnhandled);
    host = await fakeHost({ script });
    // A few real batches so poll/cancel see live ids.
    for (let i = 0; i < 3; i++) {
      const { details } = await host.call("parallel_spawn", { tasks: [{ task: "seed", label: "a" }, { task: "seed", label: "b" }] });
      batchIds.push(details.batchId);
    }
  });

  afterAll(() => {
    process.off("unhandledRejection", onUnhandled);
    if (process.env.FUZZ_RUNS) console.log(`fuzz: ${stats.ok} resolved, ${stats.rejected} rejected`);
  });

  for (const tool of TOOLS) {
    it(`${tool}: arbitrary values as the whole argument`, async () => {
      await fc.assert(fc.asyncProperty(junkArb, async (raw) => check(tool, raw)), params(RUNS / 2));
    });

    it(`${tool}: valid calls stay well-formed`, async () => {
      await fc.assert(fc.asyncProperty(VALID[tool], async (raw) => check(tool, raw)), params(RUNS / 2));
    });

    it(`${tool}: valid calls with one field mutated`, async () => {
      await fc.assert(fc.asyncProperty(VALID[tool], fc.nat(), mutationArb, async (valid, pick, m) => check(tool, mutate(valid, pick, m))), params(RUNS));
    });
  }

  it("any tool, any argument set, in a random order (interleaved calls on one host)", async () => {
    const callArb = fc.constantFrom(...TOOLS).chain((tool) => fc.tuple(fc.constant(tool), fc.oneof(VALID[tool], junkArb)));
    await fc.assert(
      fc.asyncProperty(fc.array(callArb, { minLength: 1, maxLength: 6 }), async (calls) => {
        await Promise.all(calls.map(([tool, raw]) => check(tool, raw)));
      }),
      params(RUNS / 4),
    );
  });

  it("plugin config: valid and poisoned configs never break a call", async () => {
    const configArb = fc.record(
      {
        ladder: fc.array(modelArb, { minLength: 1, maxLength: 3 }),
        maxConcurrency: fc.integer({ min: 1, max: 64 }),
        maxTasks: fc.integer({ min: 1, max: 500 }),
        defaultTimeoutSeconds: fc.integer({ min: 5, max: 7200 }),
        retries: fc.integer({ min: 0, max: 5 }),
        prices: fc.oneof(
          fc.dictionary(fc.oneof(modelArb, poisonKey), fc.record({ input: fc.double({ min: 0, max: 100, noNaN: true }), output: fc.double({ min: 0, max: 100, noNaN: true }) })),
          fc.constant(JSON.parse('{"__proto__":{"input":1,"output":2},"constructor":{"input":1,"output":2}}')),
        ),
        budget: fc.record({ maxTokens: fc.integer({ min: 1 }), maxCostUsd: fc.double({ min: 0.001, max: 100, noNaN: true }) }, { requiredKeys: [] }),
        maxDepth: fc.integer({ min: 1, max: 5 }),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(configArb, fc.constantFrom(...TOOLS), fc.oneof(spawnArb, researchArb, pollArb), async (pluginConfig, tool, raw) => {
        const h = await fakeHost({ script, pluginConfig, allowModelOverride: raw !== null });
        await check(tool, raw, h);
        await check("parallel_spawn", { tasks: [{ task: "x" }] }, h);
      }),
      params(Math.max(5, RUNS / 10)),
    );
  });

  it("nothing leaked: no unhandled rejection, prototypes clean", async () => {
    await new Promise((r) => setTimeout(r, 50));
    expect(unhandled).toEqual([]);
    assertPrototypesClean();
  });
});
