// Section "plugin cost": what installing and loading the plugin costs the gateway: bundle size,
// cold import() of dist/index.js and register(), medians over fresh `node` processes.
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runProbe } from "../lib/child.mjs";
import { profileColdImport } from "../lib/import-profile.mjs";
import { lazyLoadWhatIf } from "../lib/import-whatif.mjs";
import { median, round, summary } from "../lib/stats.mjs";

const PROBE = fileURLToPath(new URL("../probes/cold-import.mjs", import.meta.url));
const TARGET_BUNDLE_KB = 400;
const TARGET_IMPORT_MS = 50;

export default {
  id: "plugin-cost",
  title: "Plugin cost (dist/index.js)",
  async run({ root, quick, log }) {
    const dist = join(root, "dist/index.js");
    if (!existsSync(dist)) throw new Error(`${dist} is missing: run npm run build first`);
    // What ships: the entry, plus any dist/vendor/*.cjs an older layout had (none since the single-file build).
    const vendorDir = join(root, "dist/vendor");
    const vendor = existsSync(vendorDir) ? readdirSync(vendorDir).filter((f) => f.endsWith(".cjs")).map((f) => ({ file: `dist/vendor/${f}`, bytes: statSync(join(vendorDir, f)).size })) : [];
    const entryKB = statSync(dist).size / 1024;
    const bundleKB = entryKB + vendor.reduce((s, v) => s + v.bytes, 0) / 1024;
    const repeats = quick ? 7 : 15;
    const samples = { plugin: [], baseline: [] };
    // Interleave plugin and baseline processes so machine noise hits both alike.
    for (let i = 0; i < repeats; i++) {
      log(`  cold start ${i + 1}/${repeats}`);
      samples.plugin.push(await runProbe(PROBE, [dist]));
      samples.baseline.push(await runProbe(PROBE, [dist, "--baseline"]));
    }
    const imp = summary(samples.plugin.map((s) => s.importMs));
    const reg = summary(samples.plugin.map((s) => s.registerMs));
    const base = summary(samples.baseline.map((s) => s.importMs));
    const ownImport = median(samples.plugin.map((s, i) => s.importMs - samples.baseline[i].importMs));
    const tools = samples.plugin[0].tools;
    const fmt = (s) => [round(s.median), round(s.p10), round(s.p90)];
    const tables = [];
    const diagnosis = {};
    // A missed import target gets its diagnosis in the same run: who runs during import(),
    // and what lazy-loading each CommonJS dependency would take off.
    if (imp.median > TARGET_IMPORT_MS) {
      log("  cold import over target: profiling");
      diagnosis.selfTimeByModule = await profileColdImport(root, quick ? 3 : 5);
      diagnosis.lazyLoadWhatIf = await lazyLoadWhatIf(root, quick ? 3 : 7, log);
      tables.push(
        {
          title: "Cold import profile: median self time during import() by module (unminified bundle, --cpu-prof)",
          columns: ["module", "ms"],
          rows: diagnosis.selfTimeByModule.map((r) => [r.module, round(r.ms, 1)]),
        },
        {
          title: "Lazy-load what-if: cold import() with dependencies stubbed out (median ms; saved = pairwise vs real bundle)",
          columns: ["stubbed", "import ms", "saved ms"],
          rows: diagnosis.lazyLoadWhatIf.map((r) => [r.stubbed, round(r.importMs, 1), round(r.savedMs, 1)]),
        },
      );
    }
    return {
      tables: [
        {
          title:
            `Plugin cost: shipped JS ${round(bundleKB, 1)} KB = dist/index.js ${round(entryKB, 1)} KB (parsed at import)` +
            (vendor.length ? ` + ${vendor.map((v) => `${v.file} ${round(v.bytes / 1024, 1)} KB`).join(" + ")} (on first use)` : "") +
            `; cold starts: median of ${repeats} fresh node processes (ms)`,
          columns: ["measure", "median", "p10", "p90"],
          rows: [
            ["import() dist/index.js", ...fmt(imp)],
            ["import() empty module (Node baseline)", ...fmt(base)],
            ["import() minus baseline, pairwise", round(ownImport), "", ""],
            [`register() (${tools} tools)`, ...fmt(reg)],
          ],
        },
        ...tables,
      ],
      targets: [
        { name: "bundle size", target: `<= ${TARGET_BUNDLE_KB} KB`, value: round(bundleKB, 1), unit: "KB", met: bundleKB <= TARGET_BUNDLE_KB },
        { name: "cold import()", target: `<= ${TARGET_IMPORT_MS} ms`, value: round(imp.median), unit: "ms", met: imp.median <= TARGET_IMPORT_MS },
      ],
      data: { bundleBytes: Math.round(bundleKB * 1024), entryBytes: statSync(dist).size, vendor, repeats, importMs: imp, registerMs: reg, baselineImportMs: base, importMinusBaselineMs: ownImport, tools, diagnosis },
    };
  },
};
