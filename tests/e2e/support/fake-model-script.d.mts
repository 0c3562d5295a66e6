// Types for fake-model-script.mjs.
export type Directive = { name: string; model?: string; arg?: string; tool?: { name: string; args: unknown } };
export const INVALID_JSON_TEXT: string;
export function parseDirectives(text: string): Directive[];
export function modelMatches(filter: string | RegExp | undefined, model: string): boolean;
export function withBatchId<T extends { name: string; args: any }>(tool: T, toolTexts: string[]): T;
/** The concurrency limit this request breaks ({ model, maxOpen }), or null; `openFor` counts a limit's open requests. */
export function brokenLimit<L extends { model: string | RegExp; maxOpen: number }>(req: { model: string }, limits: L[], openFor: (l: L) => number): L | null;
