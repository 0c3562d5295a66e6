// Ajv and Handlebars are large CommonJS packages: parsing and initialising them cost more than the rest
// of the plugin's cold import() together (bench/: plugin-cost profile). They are required on first use,
// so a gateway that loads the plugin for discovery, or never calls a tool, pays nothing for them.
// In the bundle esbuild wraps them in closures that run on the first require() below; under vitest
// they resolve from node_modules. Import them nowhere else (the build refuses it).
import type * as AjvModule from "ajv";
import type HandlebarsModule from "handlebars";

let ajv: typeof AjvModule | undefined;
let handlebars: typeof HandlebarsModule | undefined;

/** The Ajv class, loaded on first call. */
export const AjvClass = (): typeof AjvModule.Ajv => (ajv ??= require("ajv") as typeof AjvModule).Ajv;

/** The Handlebars namespace, loaded on first call. */
export const loadHandlebars = (): typeof HandlebarsModule => (handlebars ??= require("handlebars") as typeof HandlebarsModule);
