// Handlebars for prompts: one isolated environment per registry, strict mode, no HTML escaping,
// prototype access left off (Handlebars' default). Only template files are ever compiled; user
// values (vars, task, schemas) enter as context data and so reach the child verbatim.
import { loadHandlebars } from "../lazy-deps.js";
import { RegistryError } from "./registry-schema.js";

export type Template = (context: Record<string, unknown>) => string;

const COMPILE_OPTIONS = { strict: true, noEscape: true } as const;

/** Helpers available to every template. `block`/`untrusted` delimit data; `eq` picks lens/style text. */
const HELPER_NAMES: readonly string[] = ["eq", "block", "untrusted"];
const BUILTIN_HELPERS = new Set(["if", "unless", "each", "with", "lookup", "log", ...HELPER_NAMES]);

const TAG = /^[a-z][a-z0-9-]{0,40}$/;

/** Neutralise a closing delimiter inside the data so it cannot end the block early. */
function guard(value: string, closing: string): string {
  const re = new RegExp(`</(${closing})`, "gi");
  return value.replace(re, "<\\/$1");
}

function text(value: unknown): string {
  return value === undefined || value === null ? "" : String(value);
}

/** `{{block "topic" topic}}` -> `<topic>\n...\n</topic>` */
function block(tag: unknown, value: unknown): string {
  const name = String(tag);
  if (!TAG.test(name)) throw new Error(`block: invalid tag name ${JSON.stringify(name)}`);
  return `<${name}>\n${guard(text(value), name)}\n</${name}>`;
}

/** `{{untrusted "lane-results" results}}` -> `<untrusted-data name="lane-results">\n...\n</untrusted-data>` */
function untrusted(label: unknown, value: unknown): string {
  const name = String(label);
  if (!TAG.test(name)) throw new Error(`untrusted: invalid label ${JSON.stringify(name)}`);
  return `<untrusted-data name="${name}">\n${guard(text(value), "untrusted-data")}\n</untrusted-data>`;
}

export class TemplateEngine {
  private readonly env = loadHandlebars().create();

  constructor() {
    // Helpers are called with a trailing `options` argument; take only the positional ones.
    this.env.registerHelper("eq", (a: unknown, b: unknown) => a === b);
    this.env.registerHelper("block", (tag: unknown, value: unknown) => block(tag, value));
    this.env.registerHelper("untrusted", (label: unknown, value: unknown) => untrusted(label, value));
  }

  private hasPartial(name: string): boolean {
    return Object.hasOwn(this.env.partials, name);
  }

  registerPartial(name: string, source: string, file: string): void {
    const ast = this.parse(source, file);
    this.check(ast, file, null);
    this.env.registerPartial(name, this.compileAst(ast));
  }

  /**
   * Parse + check a role template now (so registry errors surface at load) and compile it once.
   * `allowed` is the set of top-level names the template may reference.
   */
  compile(source: string, file: string, allowed: ReadonlySet<string>): Template {
    const ast = this.parse(source, file);
    this.check(ast, file, allowed);
    return this.compileAst(ast);
  }

  private compileAst(ast: hbs.AST.Program): Template {
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
      if (!allowed || p.data || p.depth > 0 || p.parts.length === 0) return;
      const head = p.parts[0] ?? "";
      if (!allowed.has(head)) {
        fail(p, `uses {{${p.original}}} but the role declares no variable '${head}' (declared: ${[...allowed].join(", ")})`);
      }
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
            if (!name || !this.hasPartial(name)) fail(p, `unknown partial '${String(name ?? "(dynamic)")}'`);
            p.params.forEach(expr);
            p.hash?.pairs.forEach((pair) => expr(pair.value));
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
