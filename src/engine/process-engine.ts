// The one place with process-wide state. The gateway starts our service in one plugin instance
// (registered in `full` mode) while model-driven tool calls run in another (`discovery` mode), and
// `plugins reload` brings new instances into the same process: all of them must find the same
// engine, and the same owner id, which tells this process's attempts from a dead one's.
import { randomUUID } from "node:crypto";
import type { Engine } from "./engine.js";

interface ProcessState {
  owner: string;
  engine?: Engine;
  /** Why the service could not start its engine (no node:sqlite, a store error), until one starts. */
  startFailure?: string;
}

const KEY = Symbol.for("openclaw-parallel-agents.process");
const state: ProcessState = ((globalThis as Record<symbol, ProcessState>)[KEY] ??= { owner: `${process.pid}-${randomUUID().slice(0, 8)}` });

export const processOwner = (): string => state.owner;
export const currentEngine = (): Engine | undefined => state.engine;

export function setCurrentEngine(engine: Engine | undefined): void {
  state.engine = engine;
  if (engine) state.startFailure = undefined;
}

export const engineStartFailure = (): string | undefined => state.startFailure;

/** The service tried to start the engine and could not: tools say why instead of "start the gateway". */
export function setEngineStartFailure(reason: string | undefined): void {
  state.startFailure = reason;
}
