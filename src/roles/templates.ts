// Handlebars for prompts: one isolated environment per registry, strict mode, no HTML escaping,
// prototype access left off (Handlebars' default). Only template files are ever compiled; user
// values (vars, task, schemas) enter as context data and so reach the child verbatim.
import { loadHandlebars } from "../lazy-deps.js";
import { RegistryError } from "./registry-schema.js";

export type Template = (context: Record<string, unknown>) => string;

const COMPILE_OPTIONS = { strict: true, noEscape: true } as const;
const TAG = /^[a-z][a-z0-9-]{0,40}$/;

/** A helper that puts data between delimiters; a closing delimiter inside the data is neutralised so it cannot end the block early. */
const delimiter = (helper: string, what: string, open: (name: string) => string, close: (name: string) => string) =>
  (label: unknown, value: unknown): string => {
    const name = String(label);
    if (!TAG.test(name)) throw new Error(`${helper}: invalid ${what} ${JSON.stringify(name)}`);
    const closing = close(name);
    return `<${open(name)}>\n${String(value ?? "").replace(new RegExp(`</(${closing})`, "gi"), "<\\/$1")}\n</${closing}>`;
  };

/** Helpers available to every template. `block`/`untrusted` delimit data; `eq` picks lens/style text. */
const HELPERS: Record<string, (a: unknown, b: unknown) => unknown> = {
  eq: (a, b) => a === b,
  /** `{{block "topic" topic}}` -> `<topic>\n...\n</topic>` */
  block: delimiter("block", "tag name", (n) => n, (n) => n),
  /** `{{untrusted "lane-results" results}}` -> `<untrusted-data name="lane-results">\n...\n</untrusted-data>` */
  untrusted: delimiter("untrusted", "label", (n) => `untrusted-data name="${n}"`, () => "untrusted-data"),
};
const BUILTIN_HELPERS = new Set(["if", "unless", "each", "with", "lookup", "log", ...Object.keys(HELPERS)]);

export class TemplateEngine {
  private readonly env = loadHandlebars().create();

  constructor() {
    // Helpers are called with a trailing `options` argument; they take only the positional ones.
    for (const [name, helper] of Object.entries(HELPERS)) this.env.registerHelper(name, (a: unknown, b: unknown) => helper(a, b));
  }

  registerPartial(name: string, source: string, file: string): void {
    this.env.registerPartial(name, this.compile(source, file, null));
  }

  /**
   * Parse + check a role template now (so registry errors surface at load) and compile it once.
   * `allowed` is the set of top-level names the template may reference.
   */
  compile(source: string, file: string, allowed: ReadonlySet<string> | null): Template {
    const ast = this.parse(source, file);
    this.check(ast, file, allowed);
    const fn = this.env.compile(ast, COMPILE_OPTIONS);
    return (context) => fn(context);
  }

  private parse(source: string, file: string): hbs.AST.Program {
    try {
      return this.env.parse(source);
    } catch (err) {
      throw new RegistryError(`${file}: template does not parse: ${(err as Error).message}`);
    }
  }

  /** Static check: known helpers and partials, and (for role templates) only declared variables. */
  private check(ast: hbs.AST.Program, file: string, allowed: ReadonlySet<string> | null): void {
    const fail = (node: hbs.AST.Node, what: string): never => {
      const line = node.loc?.start?.line;
      throw new RegistryError(`${file}${line ? `:${line}` : ""}: ${what}`);
    };
    const checkPath = (p: hbs.AST.PathExpression) => {
      if (!allowed || p.data || p.depth > 0 || p.parts.length === 0 || allowed.has(p.parts[0])) return;
      fail(p, `uses {{${p.original}}} but the role declares no variable '${p.parts[0]}' (declared: ${[...allowed].join(", ")})`);
    };
    const expr = (e: hbs.AST.Expression) => {
      if (e.type === "PathExpression") checkPath(e as hbs.AST.PathExpression);
      else if (e.type === "SubExpression") call(e as hbs.AST.SubExpression, true);
    };
    const call = (n: { path: hbs.AST.Expression; params: hbs.AST.Expression[]; hash?: hbs.AST.Hash }, isCall: boolean) => {
      const path = n.path as hbs.AST.PathExpression;
      const name = path.original;
      if (isCall || n.params.length > 0 || n.hash) {
        if (path.type !== "PathExpression" || !BUILTIN_HELPERS.has(name)) fail(n.path, `unknown helper '${String(name)}' (known: ${[...BUILTIN_HELPERS].join(", ")})`);
      } else if (!BUILTIN_HELPERS.has(name)) {
        expr(n.path);
      }
      args(n);
    };
    const args = (n: { params: hbs.AST.Expression[]; hash?: hbs.AST.Hash }) => {
      n.params.forEach(expr);
      n.hash?.pairs.forEach((pair) => expr(pair.value));
    };
    const walk = (program: hbs.AST.Program | undefined) => {
      for (const node of program?.body ?? []) {
        switch (node.type) {
          case "MustacheStatement":
            call(node as hbs.AST.MustacheStatement, false);
            break;
          case "BlockStatement": {
            const b = node as hbs.AST.BlockStatement;
            call(b, true);
            const name = (b.path as hbs.AST.PathExpression).original;
            if (name !== "each" && name !== "with") walk(b.program); // those change the context
            walk(b.inverse);
            break;
          }
          case "PartialStatement":
          case "PartialBlockStatement": {
            const p = node as hbs.AST.PartialStatement;
            const name = p.name.type === "PathExpression" ? (p.name as hbs.AST.PathExpression).original : undefined;
            if (!name || !Object.hasOwn(this.env.partials, name)) fail(p, `unknown partial '${String(name ?? "(dynamic)")}'`);
            args(p);
            break;
          }
          case "DecoratorBlock":
          case "Decorator":
            fail(node, "decorators are not allowed in prompt templates");
        }
      }
    };
    walk(ast);
  }
}
