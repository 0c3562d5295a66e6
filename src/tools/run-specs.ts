// Turns a parallel_spawn call (tasks and/or a team preset) into run specs: roles rendered,
// labels unique, output schemas compiled up front so a bad schema fails before anything starts.
import type { Static } from "@sinclair/typebox";
import type { PluginConfig } from "../config.js";
import { compileContract } from "../orchestrator/json-contract.js";
import type { RunSpec } from "../orchestrator/types.js";
import type { Registry } from "../roles/registry.js";
import type { SpawnSchema, TaskSchema } from "./schemas.js";
import { ToolInputError } from "../errors.js";

type TaskInput = Static<typeof TaskSchema>;

export function collectTasks(p: Static<typeof SpawnSchema>, registry: Registry): TaskInput[] {
  const team = p.team ? wrap("parallel_spawn", () => registry.expandTeam(p.team!, p.vars ?? {})) : [];
  if (!p.team && p.vars) throw new ToolInputError(`parallel_spawn: top-level "vars" go with "team"; put a task's vars inside that task`);
  const tasks = [...team, ...(p.tasks ?? [])];
  if (tasks.length === 0) {
    throw new ToolInputError(`parallel_spawn: give "tasks" (1 or more) or a "team" (one of: ${registry.teamNames().join(", ")})`);
  }
  return tasks;
}

export function buildRunSpecs(tool: string, tasks: TaskInput[], registry: Registry, config: PluginConfig, timeoutSeconds?: number): RunSpec[] {
  if (tasks.length > config.maxTasks) {
    throw new ToolInputError(`${tool}: ${tasks.length} tasks is more than maxTasks (${config.maxTasks}); split the work or raise plugins.entries.parallel-agents.config.maxTasks`);
  }
  const seen = new Set<string>();
  return tasks.map((t, i) => {
    const at = `${tool}: tasks.${i}`;
    const label = t.label ?? `agent-${i + 1}`;
    if (seen.has(label)) throw new ToolInputError(`${at}.label: "${label}" is used twice; labels must be unique in a batch`);
    seen.add(label);
    if (t.task !== undefined && !t.task.trim()) throw new ToolInputError(`${at}.task: is blank; give the instruction for this sub-agent, or drop "task" and use "role"`);
    if (!t.task && !t.role) throw new ToolInputError(`${at}: give "task" (an instruction) or "role" (one of: ${registry.roleNames().join(", ")})`);
    if (t.vars && !t.role) throw new ToolInputError(`${at}.vars: vars fill a role's template; add "role" or drop "vars"`);
    let prompt = t.task ?? "";
    let tier = 0;
    let outputSchema = t.outputSchema as object | undefined;
    // The caller's schema is checked once (size, depth, JSON Schema) before the renderer or the prompt
    // touch it; a role's own schema was checked when the registry loaded.
    if (outputSchema) wrap(`${at}.outputSchema`, () => compileContract(outputSchema!));
    if (t.role) {
      const rendered = wrap(at, () => registry.render(t.role!, { vars: t.vars ?? {}, task: t.task, outputSchema }));
      prompt = rendered.prompt;
      tier = rendered.tier;
      outputSchema ??= rendered.outputSchema;
    } else if (outputSchema) {
      prompt = `${prompt}\n\nReply with only a JSON value matching this JSON Schema, no prose:\n${JSON.stringify(outputSchema)}`;
    }
    return { label, prompt, role: t.role, model: t.model, tier, timeoutSeconds: t.timeoutSeconds ?? timeoutSeconds ?? config.defaultTimeoutSeconds, outputSchema };
  });
}

function wrap<T>(at: string, body: () => T): T {
  try {
    return body();
  } catch (err) {
    throw new ToolInputError(`${at}: ${err instanceof Error ? err.message : String(err)}`);
  }
}
