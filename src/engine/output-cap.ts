// A run's stored output is capped (1 MB of UTF-8 by default): one runaway child must not fill the
// store or the memory of whoever reads the batch. What is cut says so, in the output itself.

export const MAX_STORED_OUTPUT_BYTES = 1_000_000;

export interface Capped {
  output: string;
  /** The output's full size in bytes, when it was cut. */
  cutFrom?: number;
}

export function capOutput(output: string, maxBytes = MAX_STORED_OUTPUT_BYTES): Capped {
  if (output.length * 3 <= maxBytes) return { output }; // no UTF-16 unit takes more than 3 UTF-8 bytes
  const bytes = Buffer.from(output, "utf8");
  if (bytes.length <= maxBytes) return { output };
  // A character split at the cut decodes to U+FFFD: drop it rather than store half a character.
  const kept = bytes.subarray(0, maxBytes).toString("utf8").replace(/\uFFFD+$/, "");
  return { output: `${kept}\n\n${cutNote(maxBytes, bytes.length)}`, cutFrom: bytes.length };
}

export const cutNote = (maxBytes: number, total: number): string =>
  `[parallel-agents: output cut at ${maxBytes.toLocaleString("en-US")} of ${total.toLocaleString("en-US")} bytes; a run's stored output is capped at ${(maxBytes / 1_000_000).toLocaleString("en-US")} MB]`;
