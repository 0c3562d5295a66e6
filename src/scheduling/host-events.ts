// What the host's agent events tell the scheduler (api.agent.events.registerAgentEventSubscription).
// OpenClaw 2026.9.6 retries a rate-limited model request inside the run itself (up to 10 attempts),
// so the attempt rarely ends `rate_limit`: the `run_status` event with phase "retrying" and reason
// "rate_limit" is the one prompt signal that a provider is throttling, and which child it hit.
import type { CapChange } from "./learned-cap.js";

/** The fields of a host agent event this plugin reads. */
export interface HostAgentEvent {
  stream?: string;
  sessionKey?: string;
  data?: Record<string, unknown>;
}

/** The streams the engine subscribes to. */
export const AGENT_EVENT_STREAMS = ["run_status", "lifecycle"];

/** The session whose run just ended (lifecycle end/error), if that is what `event` says. */
export function endedSession(event: HostAgentEvent): string | undefined {
  const phase = event.data?.phase;
  return event.stream === "lifecycle" && (phase === "end" || phase === "error") ? event.sessionKey : undefined;
}

/** The child session the host is retrying after a rate limit, if that is what `event` says. */
export function rateLimitedSession(event: HostAgentEvent): string | undefined {
  if (event.stream !== "run_status" || !event.sessionKey) return undefined;
  return event.data?.phase === "retrying" && event.data?.reason === "rate_limit" ? event.sessionKey : undefined;
}

/** The line logs, notes and doctor show for a cap change. */
export function capChangeLine(c: CapChange): string {
  const verb = c.to < c.from ? "lowered" : "raised";
  return `provider ${c.provider}: concurrency cap ${verb} ${c.from} -> ${c.to} (${c.why})`;
}
