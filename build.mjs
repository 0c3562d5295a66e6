// Bundles the plugin into one self-contained ESM file (dist/index.js): installing the plugin
// needs no npm install of runtime dependencies. Checks the manifest against the code first.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const manifest = JSON.parse(readFileSync("openclaw.plugin.json", "utf8"));
const tools = manifest.contracts?.tools ?? [];
for (const name of ["parallel_spawn", "poll_until_complete", "research_team", "parallel_cancel"]) {
  if (!tools.includes(name)) throw new Error(`openclaw.plugin.json contracts.tools must list ${name}`);
  if (!manifest.toolMetadata?.[name]?.profiles?.length) throw new Error(`openclaw.plugin.json toolMetadata.${name}.profiles is missing`);
}

// Ajv and Handlebars are the bulk of the bundle. esbuild wraps CommonJS modules in closures that run on
// first require(), so as long as src/lazy-deps.ts is the only place that require()s them, a gateway
// loading the plugin parses them but never initialises them until a tool needs them. Refuse imports.
const LAZY = ["ajv", "handlebars"];
const lazyOnly = {
  name: "lazy-only",
  setup(b) {
    b.onResolve({ filter: new RegExp(`^(${LAZY.join("|")})$`) }, (args) => {
      if (args.kind !== "require-call") throw new Error(`${args.importer}: import ${args.path} through src/lazy-deps.ts (loaded on first use)`);
      return undefined;
    });
  },
};

// `import text from "./x.html?raw"`: the file's text, as Vite (vitest) reads it too. The dashboard page ships this way.
const raw = {
  name: "raw-text",
  setup(b) {
    b.onResolve({ filter: /\?raw$/ }, (args) => ({ path: join(args.resolveDir, args.path.slice(0, -4)), namespace: "raw-text" }));
    b.onLoad({ filter: /.*/, namespace: "raw-text" }, (args) => ({ contents: readFileSync(args.path, "utf8"), loader: "text" }));
  },
};

await build({
  entryPoints: ["src/index.ts"],
  plugins: [lazyOnly, raw],
  outfile: "dist/index.js",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  minify: true,
  sourcemap: false,
  legalComments: "none",
  // Bundled CommonJS dependencies (ajv, handlebars) call require() for Node built-ins.
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
rmSync("dist/vendor", { recursive: true, force: true }); // left by older builds
console.log(`built dist/index.js (${(statSync("dist/index.js").size / 1024).toFixed(1)} KB)`);
