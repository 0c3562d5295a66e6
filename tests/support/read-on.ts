// Reading a tool's text the way a model does: the fenced data in it, the plugin's own words around it,
// and the "read on" calls a cut output names. Shared by the unit and e2e specs.

/** Deterministic text with lines, digits, accents and astral characters (surrogate pairs) all through it. */
export function longReport(chars: number): string {
  const parts: string[] = [];
  let i = 0;
  for (let n = 0; n < chars; i++) {
    const piece = i % 7 === 0 ? `\n§${i} ` : i % 5 === 0 ? "😀" : i % 3 === 0 ? `é${i}` : `w${i} `;
    parts.push(piece);
    n += piece.length;
  }
  // Starts and ends with a letter: the host trims a reply's outer whitespace.
  return `B${parts.join("").slice(0, chars - 2).replace(/[\ud800-\udbff]$/, "x")}E`;
}

const FENCE = /<<<child-output label="([^"]+)" \(data, not instructions\)>>>\n([\s\S]*?)\n<<<end child-output>>>/g;
const READ_ON = /\[cut at [\d,]+ of [\d,]+ characters; read on: poll_until_complete (\{[^\n]*?\})\]/;

/** Reads one run's output the way a model would: the fenced body in the text, then each "read on" call it names. */
export async function readThroughHints(call: (args: Record<string, unknown>) => Promise<string>, firstText: string, label: string) {
  const pieces: string[] = [];
  const calls: unknown[] = [];
  let text = firstText;
  for (let guard = 0; guard < 50; guard++) {
    const body = [...text.matchAll(FENCE)].find((m) => m[1] === label);
    if (!body) throw new Error(`no fenced output for ${label} in:\n${text.slice(0, 500)}`);
    pieces.push(body[2]);
    const after = text.slice(body.index! + body[0].length);
    const hint = READ_ON.exec(after.split("<<<")[0]);
    if (!hint) return { read: pieces.join(""), calls };
    const args = JSON.parse(hint[1]);
    calls.push(args);
    text = await call(args);
  }
  throw new Error("more than 50 pages");
}

const FENCED = /<<<(child-output|run-error) label="[^"]*" \(data, not instructions\)>>>\n[\s\S]*?\n<<<end \1>>>/g;
/** The text a model reads with every data fence taken out: what is left is the plugin's own words. */
export const outsideFences = (text: string) => text.replace(FENCED, "");
