// `--since 7d`: how far back the stats look. A duration back from now (30m, 12h, 7d, 2w) or a date.
const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

export class SinceError extends Error {}

/** The epoch ms `since` names, or undefined for "all time" (absent or empty). */
export function parseSince(since: unknown, now = Date.now()): number | undefined {
  if (since === undefined || since === null || since === "") return undefined;
  if (typeof since === "number" && Number.isFinite(since) && since >= 0) return since;
  const text = String(since).trim();
  const span = /^(\d+(?:\.\d+)?)\s*([mhdw])$/i.exec(text);
  if (span) return now - Number(span[1]) * UNIT_MS[span[2].toLowerCase()];
  const date = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isFinite(date)) return date;
  throw new SinceError(`since: "${text.slice(0, 40)}" is not a duration or a date; use e.g. 30m, 12h, 7d, 2w or 2026-12-01`);
}
