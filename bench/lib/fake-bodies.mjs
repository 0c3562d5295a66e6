// Incremental reader of the fake model's full request bodies (JSONL, tests/e2e/support/fake-model.mjs
// bodyLog): seq -> the request's non-system messages as { role, text }.
import { existsSync, readFileSync } from "node:fs";

export const textOf = (c) => (typeof c === "string" ? c : Array.isArray(c) ? c.map((p) => (typeof p === "string" ? p : p?.text ?? "")).join("") : "");

export function bodyReader(file) {
  let offset = 0;
  const bySeq = new Map();
  return () => {
    if (!existsSync(file)) return bySeq;
    const buf = readFileSync(file);
    const chunk = buf.subarray(offset).toString("utf8");
    const end = chunk.lastIndexOf("\n");
    if (end < 0) return bySeq;
    offset += Buffer.byteLength(chunk.slice(0, end + 1));
    for (const line of chunk.slice(0, end).split("\n")) {
      if (!line) continue;
      const { seq, body } = JSON.parse(line);
      bySeq.set(seq, (body.messages ?? []).filter((m) => m.role !== "system").map((m) => ({ role: m.role, text: textOf(m.content) })));
    }
    return bySeq;
  };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
