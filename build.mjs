// Bundles the plugin into dist/: the ESM entry dist/index.js plus the two big CommonJS dependencies
// (Ajv, Handlebars) as dist/vendor/*.cjs, which the entry require()s on first use only, so a gateway
// loading the plugin does not parse ~230 KB it may never run. Self-contained: installing the plugin
// needs no npm install of runtime dependencies. Checks the manifest against the code first.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";

const manifest = JSON.parse(readFileSync("openclaw.plugin.json", "utf8"));
const tools = manifest.contracts?.tools ?? [];
for (const name of ["parallel_spawn", "poll_until_complete", "research_team", "parallel_cancel"]) {
  if (!tools.includes(name)) throw new Error(`openclaw.plugin.json contracts.tools must list ${name}`);
  if (!manifest.toolMetadata?.[name]?.profiles?.length) throw new Error(`openclaw.plugin.json toolMetadata.${name}.profiles is missing`);
}

// src/lazy-deps.ts is the only place that require()s these; the entry keeps a relative require.
const VENDOR = ["ajv", "handlebars"];
rmSync("dist/vendor", { recursive: true, force: true });
for (const name of VENDOR) {
  await build({
    stdin: { contents: `module.exports = require(${JSON.stringify(name)});`, resolveDir: process.cwd(), sourcefile: `vendor-${name}.cjs` },
    outfile: `dist/vendor/${name}.cjs`,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    minify: true,
    legalComments: "none",
    logLevel: "warning",
  });
}
const vendorPlugin = {
  name: "vendor",
  setup(b) {
    b.onResolve({ filter: new RegExp(`^(${VENDOR.join("|")})$`) }, (args) => {
      if (args.kind !== "require-call") throw new Error(`${args.importer}: import ${args.path} through src/lazy-deps.ts (loaded on first use)`);
      return { path: `./vendor/${args.path}.cjs`, external: true };
    });
  },
};

await build({
  entryPoints: ["src/index.ts"],
  plugins: [vendorPlugin],
  outfile: "dist/index.js",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  minify: true,
  sourcemap: false,
  legalComments: "none",
  // Bundled CommonJS code calls require() for Node built-ins, and the entry require()s dist/vendor/*.cjs.
  banner: { js: "import { createRequire as __paCreateRequire } from 'node:module'; const require = __paCreateRequire(import.meta.url);" },
  logLevel: "warning",
});

const bundle = await import(`./dist/index.js?${Date.now()}`);
if (!bundle.default?.register) throw new Error("dist/index.js has no plugin entry");
// A bad skill.json or template fails the build, not a user's call.
bundle.loadRegistry();

// The manifest's configSchema is generated from the TypeBox schema the code uses (one source).
const configSchema = JSON.parse(JSON.stringify(bundle.default.configSchema));
if (JSON.stringify(manifest.configSchema) !== JSON.stringify(configSchema)) {
  manifest.configSchema = configSchema;
  writeFileSync("openclaw.plugin.json", `${JSON.stringify(manifest, null, 2)}\n`);
  console.log("updated openclaw.plugin.json configSchema");
}

// The plugin ships SKILL.md as its skill (manifest "skills": ["./dist/skills"]).
mkdirSync("dist/skills/parallel-agents", { recursive: true });
copyFileSync("SKILL.md", "dist/skills/parallel-agents/SKILL.md");
const kb = (f) => (statSync(f).size / 1024).toFixed(1);
console.log(`built dist/index.js (${kb("dist/index.js")} KB) + ${VENDOR.map((n) => `dist/vendor/${n}.cjs (${kb(`dist/vendor/${n}.cjs`)} KB)`).join(" + ")}`);
