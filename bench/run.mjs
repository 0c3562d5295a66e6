#!/usr/bin/env node
// `npm run bench`: runs the benchmark sections, prints one table per section and a summary
// of the targets, and writes bench/results/latest.json (machine-readable) and latest.md
// (Markdown tables for README.md).
//   node bench/run.mjs [--only <id>[,<id>...]] [--quick] [--list]
//   BENCH_ONLY=<id>[,<id>...] node bench/run.mjs   (same as --only; e.g. BENCH_ONLY=floor,continue)
import { mkdirSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { ROOT } from "./lib/bundle-internals.mjs";
import { describeMachine, machine } from "./lib/machine.mjs";
import { formatTable, markdownTable } from "./lib/table.mjs";
import { SECTIONS } from "./sections/index.mjs";

const { values: flags } = parseArgs({
  options: { only: { type: "string" }, quick: { type: "boolean", default: false }, list: { type: "boolean", default: false } },
});

if (flags.list) {
  for (const s of SECTIONS) console.log(`${s.id.padEnd(16)} ${s.title}`);
  process.exit(0);
}

const wanted = (flags.only ?? process.env.BENCH_ONLY)?.split(",").map((s) => s.trim()).filter(Boolean);
const unknown = wanted?.filter((id) => !SECTIONS.some((s) => s.id === id)) ?? [];
if (unknown.length) {
  console.error(`unknown section(s): ${unknown.join(", ")}; known: ${SECTIONS.map((s) => s.id).join(", ")}`);
  process.exit(2);
}
const selected = SECTIONS.filter((s) => !wanted || wanted.includes(s.id));

const host = machine();
const startedAt = new Date();
console.log(`openclaw-parallel-agents benchmarks${flags.quick ? " (--quick)" : ""}`);
console.log(`machine: ${describeMachine(host)}`);
console.log(`started: ${startedAt.toISOString()}\n`);

const log = (line) => process.stderr.write(`${line}\n`);
const results = [];
for (const section of selected) {
  console.log(`== ${section.title} ==`);
  const t0 = performance.now();
  try {
    const out = await section.run({ root: ROOT, quick: flags.quick, log });
    const seconds = (performance.now() - t0) / 1000;
    for (const table of out.tables) console.log(`${formatTable(table)}\n`);
    for (const note of out.notes ?? []) console.log(`note: ${note}`);
    if (out.notes?.length) console.log("");
    results.push({ id: section.id, title: section.title, seconds, ...out });
  } catch (err) {
    const seconds = (performance.now() - t0) / 1000;
    console.log(`section failed: ${err?.stack ?? err}\n`);
    results.push({ id: section.id, title: section.title, seconds, error: String(err?.message ?? err), tables: [], targets: [], data: null });
  }
}

const targets = results.flatMap((r) => r.targets.map((t) => ({ section: r.id, ...t })));
const summary = {
  title: "Targets",
  columns: ["section", "target", "goal", "measured", "verdict"],
  rows: targets.map((t) => [t.section, t.name, t.target, `${t.value} ${t.unit}`, t.met ? "met" : "MISSED"]),
};
console.log(`== Summary ==\n${formatTable(summary)}`);
const failed = results.filter((r) => r.error);
for (const r of failed) console.log(`section ${r.id} FAILED: ${r.error}`);

const outDir = join(ROOT, "bench/results");
mkdirSync(outDir, { recursive: true });
const json = join(outDir, "latest.json");
const md = join(outDir, "latest.md");
const finishedAt = new Date();
writeFileSync(
  json,
  `${JSON.stringify({ startedAt, finishedAt, command: `node bench/run.mjs ${process.argv.slice(2).join(" ")}`.trim(), quick: flags.quick, machine: host, sections: results, targets }, null, 2)}\n`,
);
const mdText = [
  `Measured ${finishedAt.toISOString().slice(0, 10)} on ${describeMachine(host)} with \`npm run bench\`${flags.quick ? " (--quick)" : ""}.`,
  ...results.flatMap((r) => [...r.tables.map((t) => `**${t.title}**\n\n${markdownTable(t)}`), ...(r.notes?.length ? [r.notes.map((n) => `- ${n}`).join("\n")] : [])]),
  `**Targets**\n\n${markdownTable(summary)}`,
].join("\n\n");
writeFileSync(md, `${mdText}\n`);
console.log(`\nwrote ${relative(process.cwd(), json) || json} and ${relative(process.cwd(), md)} (${((finishedAt - startedAt) / 1000).toFixed(0)} s)`);
process.exit(failed.length ? 1 : 0);
