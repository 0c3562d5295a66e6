// Every plugin instance in one gateway process (full and discovery mode, and instances brought in
// by `plugins reload`) must find the same engine and the same owner id: the state lives on
// globalThis under a registry symbol, not in module scope.
import { describe, expect, it } from "vitest";
import type { Engine } from "../../src/engine/engine.js";
import { currentEngine, processOwner, setCurrentEngine } from "../../src/engine/process-engine.js";

const shared = () => (globalThis as Record<symbol, { owner: string; engine?: Engine }>)[Symbol.for("openclaw-parallel-agents.process")];

describe("process-wide engine state", () => {
  it("names this process by its pid and a short random tag, the same on every call", () => {
    expect(processOwner()).toMatch(new RegExp(`^${process.pid}-[0-9a-f]{8}$`));
    expect(processOwner()).toBe(processOwner());
  });

  it("is kept where another copy of the module finds it (a registry symbol on globalThis)", () => {
    expect(shared()?.owner).toBe(processOwner());
    const engine = { running: true } as unknown as Engine;
    const before = currentEngine();
    setCurrentEngine(engine);
    try {
      expect(shared()?.engine).toBe(engine);
      expect(currentEngine()).toBe(engine);
    } finally {
      setCurrentEngine(before);
    }
    expect(currentEngine()).toBe(before);
  });
});
