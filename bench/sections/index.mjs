// The benchmark sections, in run order. A section is a module whose default export is
//   { id, title, async run(ctx) -> { tables: [{ title, columns, rows }], notes?: [string], targets: [{ name, target, value, unit, met }], data } }
// with ctx = { root, quick, log }. Add a section (e.g. the real-gateway comparison) by
// writing bench/sections/<id>.mjs and listing it here; `--only <id>` then selects it.
import continueSection from "./continue.mjs";
import cost from "./cost.mjs";
import engineScale from "./engine-scale.mjs";
import floor from "./floor.mjs";
import gateway from "./gateway.mjs";
import pluginCost from "./plugin-cost.mjs";
import rateLimit from "./rate-limit.mjs";
import templates from "./templates.mjs";

export const SECTIONS = [pluginCost, engineScale, templates, gateway, floor, continueSection, rateLimit, cost];
