// Plain-text tables for the terminal and Markdown tables for README.md, from one shape:
// { title, columns: [string], rows: [[cell]] }. Numbers are right-aligned.

const text = (cell) => (cell === undefined || cell === null ? "" : String(cell));
const isNum = (cell) => typeof cell === "number" || /^[-+]?[\d.,]+\s*(%|x|ms|KB|MB|s|µs)?$/.test(text(cell));

export function formatTable({ title, columns, rows }) {
  const widths = columns.map((c, i) => Math.max(text(c).length, ...rows.map((r) => text(r[i]).length)));
  const line = (cells) =>
    cells.map((cell, i) => (isNum(cell) && i > 0 ? text(cell).padStart(widths[i]) : text(cell).padEnd(widths[i]))).join("  ");
  const out = [];
  if (title) out.push(title);
  out.push(line(columns), widths.map((w) => "-".repeat(w)).join("  "));
  for (const row of rows) out.push(line(row));
  return out.join("\n");
}

export function markdownTable({ columns, rows }) {
  const esc = (cell) => text(cell).replace(/\|/g, "\\|");
  return [
    `| ${columns.map(esc).join(" | ")} |`,
    `|${columns.map((_, i) => (i === 0 ? " --- " : " ---: ")).join("|")}|`,
    ...rows.map((r) => `| ${r.map(esc).join(" | ")} |`),
  ].join("\n");
}
