// Child session keys carry their fan-out depth, so a child that calls parallel_spawn can be
// refused (or allowed, up to maxDepth) from its own session key alone.

/** `agent:<agentId>:subagent:pa<depth>-<batchId>-<run>-a<attempt>` */
export function childSessionKey(batch: { agentId: string; depth: number; batchId: string }, runIndex: number, attempt: number): string {
  return `agent:${batch.agentId}:subagent:pa${batch.depth + 1}-${batch.batchId}-${runIndex + 1}-a${attempt}`;
}

/** Fan-out depth of the session calling us: 0 for a top-level session. */
export function callerDepth(sessionKey: string | undefined): number {
  if (!sessionKey) return 0;
  const ours = /:subagent:pa(\d+)-/.exec(sessionKey);
  if (ours) return Number(ours[1]);
  return sessionKey.split(":subagent:").length - 1; // OpenClaw's own sub-agents, one level each
}
