import { Ajv } from "ajv";
import { afterEach, describe, expect, it, vi } from "vitest";
import { checkReply, compileContract, correctiveMessage } from "../../src/batch/json-contract.js";

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

/** Any object or array satisfies this contract: what was read, and whether it needed repair. */
const read = (reply: string) => checkReply(reply, compileContract({}));
const found = (value: unknown, repaired = false) => ({ ok: true, value, repaired });

describe("checkReply: finding the JSON in a reply", () => {
  it("takes a reply that is JSON as a whole, unrepaired", () => {
    expect(read('  {"a": 1}\n')).toEqual(found({ a: 1 }));
    expect(read("[1, 2]")).toEqual(found([1, 2]));
  });

  it("takes the JSON out of a ```json fence surrounded by prose", () => {
    expect(read('Here is my answer:\n```json\n{"a": 1}\n```\nHope this helps!')).toEqual(found({ a: 1 }));
  });

  it("takes a bare ``` fence too, but not a fence of another language", () => {
    expect(read('Result:\n```\n{"a": 1}\n```')).toEqual(found({ a: 1 }));
    expect(read('```python\nx = {"not": "it"}\n```\nAnswer:\n```json\n{"a": 2}\n```')).toEqual(found({ a: 2 }));
    expect(read('```json\n{"a": 3}\n```\nUsage:\n```python\nprint({"not": "it"})\n```')).toEqual(found({ a: 3 }));
    expect(read('```JSON title="answer"\n{"a": 4}\n```\n```jsonl\n{"not": "it"}\n```')).toEqual(found({ a: 4 }));
  });

  it("takes the last fenced block: drafts and examples come first", () => {
    const reply = 'Example:\n```json\n{"draft": true}\n```\nFinal:\n```json\n{"final": true}\n```';
    expect(read(reply)).toEqual(found({ final: true }));
  });

  it("finds an object or an array inside prose", () => {
    expect(read('After reading the docs, my result is {"a": {"b": [1, 2]}} and that is final.')).toEqual(found({ a: { b: [1, 2] } }));
    expect(read('The list: ["x", "y"].')).toEqual(found(["x", "y"]));
  });

  it("is not misled by a short citation like [1] before the object", () => {
    const reply = 'As shown in [1], the answer is {"claim": "x", "sources": ["a"]}.';
    expect(read(reply)).toEqual(found({ claim: "x", sources: ["a"] }));
  });

  it("brackets inside JSON strings do not cut the object short", () => {
    const reply = 'Answer: {"text": "a } tricky ] string", "n": 1} done';
    expect(read(reply)).toEqual(found({ text: "a } tricky ] string", n: 1 }));
  });

  it("prefers a strict reading to a repaired one: prose after the JSON is not part of it", () => {
    expect(read('{"a": 1}\nHope this helps!')).toEqual(found({ a: 1 }));
  });

  it("does not mark valid JSON as repaired", () => {
    expect(read('{"a": "it\'s fine"}')).toEqual(found({ a: "it's fine" }));
  });

  it("says clearly when there is nothing JSON-like, or nothing at all", () => {
    const none = { ok: false, kind: "invalid_json", errors: ["no JSON object or array found in the reply"] };
    expect(read("I could not complete the task, sorry.")).toEqual(none);
    expect(read("I could not complete the task,\nsorry.")).toEqual(none);
    expect(read("   ")).toEqual({ ok: false, kind: "invalid_json", errors: ["the reply is empty"] });
  });

  it("does not count a bare string or number as the answer", () => {
    expect(read("42")).toMatchObject({ ok: false, kind: "invalid_json" });
    expect(read('"just a string"')).toMatchObject({ ok: false, kind: "invalid_json" });
  });
});

describe("checkReply: local repairs, only when strict parsing fails", () => {
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
      expect(read(reply)).toEqual(found(expected, true));
    });
  }

  it("repairs inside a fence", () => {
    expect(read("```json\n{'a': 1,}\n```")).toEqual(found({ a: 1 }, true));
  });

  it("repairs a truncated fence with no closing ```", () => {
    expect(read('Answer:\n```json\n{"a": [1, 2')).toEqual(found({ a: [1, 2] }, true));
  });

  it("repairs a truncated object in prose", () => {
    expect(read('My answer is {"a": "b", "c": [1')).toEqual(found({ a: "b", c: [1] }, true));
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
      expect(() => compileContract(bad as unknown as object)).toThrow("must be a JSON Schema object");
    }
  });

  it("refuses a schema larger than 64 KB", () => {
    const big = { type: "object", description: "x".repeat(64 * 1024) };
    expect(() => compileContract(big)).toThrow("is too large (max 64 KB serialized)");
  });

  it("refuses a schema nested deeper than 32 levels", () => {
    let deep: object = { type: "string" };
    for (let i = 0; i < 20; i++) deep = { type: "object", properties: { x: deep } };
    expect(() => compileContract(deep)).toThrow("is too deep (max 32 levels)");
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
    expect(() => compileContract(cyclic)).toThrow("is too deep");
  });

  it("refuses a schema Ajv cannot compile, with Ajv's reason", () => {
    expect(() => compileContract({ type: "strnig" })).toThrow(/is not a valid JSON Schema: .*type/);
    expect(() => compileContract({ $ref: "#/definitions/missing" })).toThrow(
      /is not a valid JSON Schema: .*can't resolve reference/,
    );
  });

  it("ignores $schema, so a newer draft URI is not a compile error", () => {
    const contract = compileContract({ $schema: "https://json-schema.org/draft/2020-12/schema", type: "array" });
    expect(contract.validate([])).toEqual([]);
  });

  it("schemas of different callers that reuse an $id do not clash", () => {
    expect(compileContract({ $id: "https://example.com/answer", type: "string" }).validate(1)).toEqual(["(root): must be string"]);
    expect(compileContract({ $id: "https://example.com/answer", type: "number" }).validate(1)).toEqual([]);
    const nested = (type: string) => ({ type: "object", properties: { x: { $id: "https://example.com/x", type } } });
    expect(compileContract(nested("string")).validate({ x: 1 })).toEqual(["/x: must be string"]);
    expect(compileContract(nested("number")).validate({ x: 1 })).toEqual([]);
  });

  it("a schema that claims the meta-schema's $id is refused and breaks no later schema", () => {
    expect(() => compileContract({ $id: "http://json-schema.org/draft-07/schema#", type: "object" })).toThrow(/is not a valid JSON Schema/);
    expect(() => compileContract({ properties: { x: { $id: "http://json-schema.org/draft-07/schema" } } })).toThrow(/not a valid JSON Schema/);
    expect(() => compileContract({ type: "strnig", minLength: 3 })).toThrow(/not a valid JSON Schema/);
    expect(compileContract({ type: "string", minLength: 3 }).validate("ab")).toEqual(["(root): must NOT have fewer than 3 characters"]);
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

  it("tries the readings in turn until one satisfies the schema", () => {
    const c = compileContract({ type: "object", required: ["a"] });
    // Strictly, only "[1, 2]" parses; the schema says the truncated object around it is meant.
    expect(checkReply('Result: {"a": [1, 2], "b": {"c": 3', c)).toEqual(found({ a: [1, 2], b: { c: 3 } }, true));
    expect(checkReply('Note [unclosed aside. Result: {"a": 1}', c)).toEqual(found({ a: 1 }));
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
    const started = performance.now();
    expect(checkReply("[{ ".repeat(50_000) + 'and finally {"a": 1}', c)).toMatchObject({ ok: false });
    expect(checkReply("{".repeat(200_000), c)).toMatchObject({ ok: false, kind: "invalid_json" });
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it("caps the errors at 10 lines, saying how many were left out", () => {
    const c = compileContract({ type: "array", items: { type: "string" } });
    const result = checkReply(JSON.stringify(Array.from({ length: 25 }, (_, i) => i)), c);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toHaveLength(10);
    expect(result.errors[0]).toBe("/0: must be string");
    expect(result.errors[9]).toBe("…and 16 more errors");
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
    expect(message.split("\n").filter((l) => l.startsWith("- "))).toHaveLength(10);
    expect(message).toContain("- …and 21 more errors");
  });
});
