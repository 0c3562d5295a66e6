// Reads the engine's "batch <id> ended: …" log line (the gateway's openclaw.log) into absolute times,
// so a notice's delay can be split: host lifecycle end -> host wait returned -> our commit -> notice
// handed to the host (then the turn starts, seen by the fake model).
import { existsSync, readFileSync } from "node:fs";

const LINE = /last child's lifecycle end (\S+), host wait returned (\S+), committed \+(\d+) ms, notice handed over \+(\d+) ms/;

export function noticeSplit(logFile, batchId) {
  if (!existsSync(logFile)) return undefined;
  const line = readFileSync(logFile, "utf8").split("\n").find((l) => l.includes(`batch ${batchId} ended:`));
  const m = line && LINE.exec(line);
  if (!m) return undefined;
  const at = (iso) => (iso === "-" ? NaN : Date.parse(iso));
  const waitReturned = at(m[2]);
  return { lifecycleEnd: at(m[1]), waitReturned, committed: waitReturned + Number(m[3]), handedOver: waitReturned + Number(m[4]) };
}
