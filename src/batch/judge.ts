// Judges one finished attempt from what the host said (wait result) and what the child wrote
// (transcript): the failure class that drives the retry policy, or the accepted output. Pure.
// Output is redacted here (it is stored as-is); reasons are redacted where every attempt ends.
import type { Transcript, WaitResult } from "../runtime/port.js";
import { checkReply, compileContract } from "./json-contract.js";
import { classifyHostError } from "./policy.js";
import type { Redactor } from "./redact.js";
import type { AttemptOutcome } from "./types.js";

export type Verdict =
  /** Final for this attempt: `output`/`json` are set when the child produced usable text. */
  | { kind: "done"; outcome: AttemptOutcome; reason?: string; output?: string; json?: unknown }
  /** The reply broke the JSON contract: worth one corrective follow-up before giving up on the attempt. */
  | { kind: "contract"; outcome: "invalid_json" | "schema_violation"; errors: string[]; output: string };

export function judgeAttempt(result: Exclude<WaitResult, { state: "pending" }>, transcript: Transcript | undefined, schema: object | undefined, redact: Redactor): Verdict {
  if (result.state === "error") {
    // The transcript holds the provider's own words ("429 ...") behind the host's summary.
    const failure = transcript?.failure;
    const reason = failure && !result.error.includes(failure) ? `${result.error} (${failure})` : result.error;
    return { kind: "done", outcome: classifyHostError(reason), reason };
  }
  if (result.state === "timeout") return { kind: "done", outcome: "timeout", reason: result.error ?? "the host timed the run out" };
  const raw = wholeReply(result.text, transcript?.finalText);
  const output = raw === undefined ? undefined : redact(raw);
  if (!result.visible || !output?.trim()) {
    return { kind: "done", outcome: "empty_output", reason: transcript?.failure ?? "the child returned no visible text" };
  }
  if (!schema) return { kind: "done", outcome: "ok", output };
  const check = checkReply(output, compileContract(schema));
  if (check.ok) return { kind: "done", outcome: "ok", output, json: check.value, ...(check.repaired ? { reason: "JSON repaired locally" } : {}) };
  return { kind: "contract", outcome: check.kind, errors: check.errors, output };
}

/** OpenClaw caps a run's terminal reply at 4,096 characters, ending in "…" (AGENT_RUN_TERMINAL_REPLY_MAX_CHARS). */
const HOST_REPLY_CAP = 4_096;

/** The child's whole answer: the host's terminal reply, unless the host cut it; then the transcript's longer last text. */
function wholeReply(hostText: string | undefined, transcriptText: string | undefined): string | undefined {
  if (hostText === undefined) return transcriptText;
  const cut = hostText.length >= HOST_REPLY_CAP && hostText.endsWith("…");
  const longer = transcriptText !== undefined && transcriptText.trim().length > hostText.length && transcriptText.includes(hostText.slice(0, 1_000));
  return cut && longer ? transcriptText.trim() : hostText;
}
