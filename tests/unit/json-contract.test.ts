import { Ajv } from "ajv";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  MAX_ERRORS,
  checkReply,
  compileContract,
  correctiveMessage,
  extractJson,
} from "../../src/orchestrator/json-contract.js";

const findingsSchema = {
  type: "object",
  required: ["findings"],
  additionalProperties: false,
  properties: {
    findings: {
      type: "array",
      items: {
        type: "object",
        required: ["claim", "sources"],
        properties: { claim: { type: "string" }, sources: { type: "array", items: { type: "string" } } },
      },
    },
  },
};

describe("extractJson: finding the JSON in a reply", () => {
  it("takes a reply that is JSON as a whole, unrepaired", () => {
    expect(extractJson('  {"a": 1}\n')).toEqual({ value: { a: 1 }, repaired: false });
    expect(extractJson("[1, 2]")).toEqual({ value: [1, 2], repaired: false });
  });

  it("takes the JSON out of a ```json fence surrounded by prose", () => {
    const reply = 'Here is my answer:\n```json\n{"a": 1}\n```\nHope this helps!';
    expect(extractJson(reply)).toEqual({ value: { a: 1 }, repaired: false });
  });

  it("takes a bare ``` fence too, but not a fence of another language", () => {
    expect(extractJson('Result:\n```\n{"a": 1}\n```')).toEqual({ value: { a: 1 }, repaired: false });
    const reply = '```python\nx = {"not": "it"}\n```\nAnswer:\n```json\n{"a": 2}\n```';
    expect(extractJson(reply)).toEqual({ value: { a: 2 }, repaired: false });
  });

  it("prefers the last fenced block that parses: drafts and examples come first", () => {
    const reply = 'Example:\n```json\n{"draft": true}\n```\nFinal:\n```json\n{"final": true}\n```\n```json\n{oops\n```';
    expect(extractJson(reply)).toEqual({ value: { final: true }, repaired: false });
  });

  it("prefers a fence that parses strictly over a later one that needs repair", () => {
    const reply = '```json\n{"a": 1}\n```\nor\n```json\n{"b": 2,}\n```';
    expect(extractJson(reply)).toEqual({ value: { a: 1 }, repaired: false });
  });

  it("finds an object inside prose", () => {
    const reply = 'After reading the docs, my result is {"a": {"b": [1, 2]}} and that is final.';
    expect(extractJson(reply)).toEqual({ value: { a: { b: [1, 2] } }, repaired: false });
  });

  it("finds an array inside prose", () => {
    expect(extractJson('The list: ["x", "y"].')).toEqual({ value: ["x", "y"], repaired: false });
  });

  it("prefers the largest span in prose over short citations like [1]", () => {
    const reply = 'As shown in [1], the answer is {"claim": "x", "sources": ["a"]}.';
    expect(extractJson(reply)).toEqual({ value: { claim: "x", sources: ["a"] }, repaired: false });
  });

  it("ignores brackets inside JSON strings when matching spans", () => {
    const reply = 'Answer: {"text": "a } tricky ] string", "n": 1} done';
    expect(extractJson(reply)).toEqual({ value: { text: "a } tricky ] string", n: 1 }, repaired: false });
  });

  it("reads an unclosed bracket as a truncated answer, not as prose around a complete inner span", () => {
    const reply = 'Result: {"a": [1, 2], "b": {"c": 3';
    expect(extractJson(reply)).toEqual({ value: { a: [1, 2], b: { c: 3 } }, repaired: true });
  });

  it("says clearly when there is nothing JSON-like", () => {
    expect(extractJson("I could not complete the task, sorry.")).toEqual({
      error: "no JSON object or array found in the reply",
    });
    expect(extractJson("   ")).toEqual({ error: "the reply is empty" });
  });

  it("does not count a bare string or number as the answer", () => {
    expect(extractJson("42")).toEqual({ error: "no JSON object or array found in the reply" });
  });
});

describe("extractJson: local repairs, only when strict parsing fails", () => {
  const cases: Array<[string, string, unknown]> = [
    ["trailing commas", '{"a": [1, 2,], "b": 3,}', { a: [1, 2], b: 3 }],
    ["single quotes", "{'a': 'b'}", { a: "b" }],
    ["unquoted keys", '{a: 1, b: "x"}', { a: 1, b: "x" }],
    ["comments", '{\n  // why\n  "a": 1 /* note */\n}', { a: 1 }],
    ["truncated closing braces", '{"a": {"b": [1, 2', { a: { b: [1, 2] } }],
    ["smart quotes", "{\u201ca\u201d: \u201cb\u201d}", { a: "b" }],
    ["Python True/False/None", '{"a": True, "b": False, "c": None}', { a: true, b: false, c: null }],
  ];

  for (const [defect, reply, expected] of cases) {
    it(`repairs ${defect}`, () => {
      expect(extractJson(reply)).toEqual({ value: expected, repaired: true });
    });
  }

  it("repairs inside a fence", () => {
    expect(extractJson("```json\n{'a': 1,}\n```")).toEqual({ value: { a: 1 }, repaired: true });
  });

  it("repairs a truncated fence with no closing ```", () => {
    expect(extractJson('Answer:\n```json\n{"a": [1, 2')).toEqual({ value: { a: [1, 2] }, repaired: true });
  });

  it("repairs a truncated object in prose", () => {
    expect(extractJson('My answer is {"a": "b", "c": [1')).toEqual({ value: { a: "b", c: [1] }, repaired: true });
  });

  it("does not mark valid JSON as repaired", () => {
    expect(extractJson('{"a": "it\'s fine"}')).toEqual({ value: { a: "it's fine" }, repaired: false });
  });
});

describe("compileContract", () => {
  afterEach(() => vi.restoreAllMocks());

  it("compiles the same schema once, whatever its key order", () => {
    const compile = vi.spyOn(Ajv.prototype, "compile");
    const schema = { type: "object", properties: { unique1: { type: "string" } }, required: ["unique1"] };
    const reordered = { required: ["unique1"], properties: { unique1: { type: "string" } }, type: "object" };
    const first = compileContract(schema);
    expect(compileContract(schema)).toBe(first);
    expect(compileContract(reordered)).toBe(first);
    expect(compile).toHaveBeenCalledTimes(1);
    compileContract({ ...schema, minProperties: 1 });
    expect(compile).toHaveBeenCalledTimes(2);
  });

  it("refuses a schema that is not an object", () => {
    for (const bad of [null, [], "string", 3, true]) {
      expect(() => compileContract(bad as unknown as object)).toThrow("outputSchema must be a JSON Schema object");
    }
  });

  it("refuses a schema larger than 64 KB", () => {
    const big = { type: "object", description: "x".repeat(64 * 1024) };
    expect(() => compileContract(big)).toThrow("outputSchema is too large (max 64 KB serialized)");
  });

  it("refuses a schema nested deeper than 32 levels", () => {
    let deep: object = { type: "string" };
    for (let i = 0; i < 20; i++) deep = { type: "object", properties: { x: deep } };
    expect(() => compileContract(deep)).toThrow("outputSchema is too deep (max 32 levels)");
  });

  it("accepts a schema exactly 32 levels deep", () => {
    let deep: object = {};
    for (let i = 1; i < 32; i++) deep = { not: deep };
    expect(() => compileContract(deep)).not.toThrow();
    expect(() => compileContract({ not: deep })).toThrow("too deep");
  });

  it("refuses a cyclic schema as too deep instead of hanging", () => {
    const cyclic: Record<string, unknown> = { type: "object" };
    cyclic.properties = { self: cyclic };
    expect(() => compileContract(cyclic)).toThrow("outputSchema is too deep");
  });

  it("refuses a schema Ajv cannot compile, with Ajv's reason", () => {
    expect(() => compileContract({ type: "strnig" })).toThrow(/outputSchema is not a valid JSON Schema: .*type/);
    expect(() => compileContract({ $ref: "#/definitions/missing" })).toThrow(
      /outputSchema is not a valid JSON Schema: .*can't resolve reference/,
    );
  });

  it("ignores $schema, so a newer draft URI is not a compile error", () => {
    const contract = compileContract({ $schema: "https://json-schema.org/draft/2020-12/schema", type: "array" });
    expect(contract.validate([])).toEqual([]);
  });

  describe("prototype-pollution keys are harmless", () => {
    it("__proto__ in a schema neither pollutes Object.prototype nor changes the contract", () => {
      const plain = { type: "object", properties: { n: { type: "number" } } };
      const hostile = JSON.parse(
        '{"type":"object","__proto__":{"polluted":true,"type":"string"},"properties":{"n":{"type":"number"},"__proto__":{"polluted":true}}}',
      );
      const contract = compileContract(hostile);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.prototype).not.toHaveProperty("type");
      expect(contract).toBe(compileContract(plain));
      expect(contract.validate({ n: 1 })).toEqual([]);
    });

    it("constructor and prototype are ordinary property names, checked as own properties", () => {
      const contract = compileContract({
        type: "object",
        required: ["constructor", "prototype"],
        properties: { constructor: { type: "number" }, prototype: { type: "string" } },
      });
      expect(contract.validate({})).toEqual([
        "(root): must have required property 'constructor'",
        "(root): must have required property 'prototype'",
      ]);
      expect(contract.validate({ constructor: 1, prototype: "p" })).toEqual([]);
      expect(contract.validate({ constructor: "no", prototype: "p" })).toEqual(["/constructor: must be number"]);
    });

    it("a reply with __proto__ keys does not pollute anything", () => {
      const contract = compileContract({ type: "object" });
      const result = checkReply('{"__proto__": {"polluted": true}, "a": 1}', contract);
      expect(result.ok).toBe(true);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      const repaired = checkReply("{'__proto__': {'polluted': true},}", contract);
      expect(repaired).toMatchObject({ ok: true, repaired: true });
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });
  });
});

describe("checkReply", () => {
  const contract = compileContract(findingsSchema);

  it("accepts a conforming reply and returns the parsed value", () => {
    const reply = 'Done.\n```json\n{"findings": [{"claim": "c", "sources": ["s"]}]}\n```';
    expect(checkReply(reply, contract)).toEqual({
      ok: true,
      value: { findings: [{ claim: "c", sources: ["s"] }] },
      repaired: false,
    });
  });

  it("accepts a reply that needed local repair and says so", () => {
    expect(checkReply("{findings: [],}", contract)).toEqual({ ok: true, value: { findings: [] }, repaired: true });
  });

  it("reports a reply without JSON as invalid_json", () => {
    expect(checkReply("I found nothing.", contract)).toEqual({
      ok: false,
      kind: "invalid_json",
      errors: ["no JSON object or array found in the reply"],
    });
  });

  it("reports schema violations with JSON-pointer paths", () => {
    const reply = '{"findings": [{"claim": "c", "sources": "one"}, {"sources": []}], "extra": 1}';
    expect(checkReply(reply, contract)).toEqual({
      ok: false,
      kind: "schema_violation",
      errors: [
        "(root): must NOT have additional properties ('extra')",
        "/findings/0/sources: must be array",
        "/findings/1: must have required property 'claim'",
      ],
    });
  });

  it("names the allowed values of enum and const", () => {
    const c = compileContract({
      type: "object",
      properties: { level: { enum: ["low", "high"] }, kind: { const: "review" } },
    });
    expect(checkReply('{"level": "mid", "kind": "x"}', c)).toMatchObject({
      errors: ['/kind: must be equal to constant: "review"', '/level: must be equal to one of the allowed values: "low", "high"'],
    });
  });

  it("tries the other readings of a reply until one satisfies the schema", () => {
    const c = compileContract({ type: "object", required: ["a"] });
    // Read alone, the unclosed "[" looks like a truncated array; the schema says the object is meant.
    const reply = 'Note [unclosed aside. Result: {"a": 1}';
    expect(extractJson(reply)).toMatchObject({ value: ["unclosed aside. Result:", { a: 1 }], repaired: true });
    expect(checkReply(reply, c)).toEqual({ ok: true, value: { a: 1 }, repaired: false });
  });

  it("reports the errors of the most likely reading when none fits", () => {
    const c = compileContract({ type: "object", required: ["z"], additionalProperties: false });
    const reply = 'Example:\n```json\n{"x": 1}\n```\nFinal:\n```json\n{"y": 2}\n```';
    expect(checkReply(reply, c)).toEqual({
      ok: false,
      kind: "schema_violation",
      errors: ["(root): must have required property 'z'", "(root): must NOT have additional properties ('y')"],
    });
  });

  it("stays fast on a long reply full of unmatched brackets", () => {
    const c = compileContract({ type: "object", required: ["a"] });
    const reply = "[{ ".repeat(50_000) + 'and finally {"a": 1}';
    const started = performance.now();
    expect(checkReply(reply, c)).toEqual({ ok: true, value: { a: 1 }, repaired: false });
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it(`caps the errors at ${MAX_ERRORS} lines, saying how many were left out`, () => {
    const c = compileContract({ type: "array", items: { type: "string" } });
    const result = checkReply(JSON.stringify(Array.from({ length: 25 }, (_, i) => i)), c);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toHaveLength(MAX_ERRORS);
    expect(result.errors[0]).toBe("/0: must be string");
    expect(result.errors[MAX_ERRORS - 1]).toBe("…and 16 more errors");
  });
});

describe("correctiveMessage", () => {
  it("lists the errors, repeats the schema and asks for only the JSON", () => {
    const message = correctiveMessage(["/findings/0/sources: must be array"], findingsSchema);
    expect(message).toContain("- /findings/0/sources: must be array");
    expect(message).toContain(JSON.stringify(findingsSchema, null, 2));
    expect(message).toMatch(/only the corrected JSON/);
  });

  it("keeps a long error list short", () => {
    const errors = Array.from({ length: 30 }, (_, i) => `/${i}: must be string`);
    const message = correctiveMessage(errors, { type: "array" });
    expect(message.split("\n").filter((l) => l.startsWith("- "))).toHaveLength(MAX_ERRORS);
    expect(message).toContain("- …and 21 more errors");
  });
});
