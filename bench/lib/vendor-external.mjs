// The diagnostic rebuilds (import-profile, import-whatif) bundle src/index.ts like build.mjs does:
// Ajv and Handlebars stay out of the entry as require("./vendor/<name>.cjs"), run on first use only.
export const VENDOR = ["ajv", "handlebars"];

export const vendorExternal = {
  name: "vendor-external",
  setup(b) {
    b.onResolve({ filter: new RegExp(`^(${VENDOR.join("|")})$`) }, (args) =>
      args.kind === "require-call" ? { path: `./vendor/${args.path}.cjs`, external: true } : undefined,
    );
  },
};
