// The per-topic JSON result a researcher returns (research_team validates it before synthesis).
// TypeBox objects are JSON Schema; skill.json refers to this one as "#research-result" so there is
// exactly one copy of it.
import { Type, type Static, type TSchema } from "@sinclair/typebox";

export const ResearchFinding = Type.Object(
  {
    claim: Type.String({ minLength: 1, description: "One specific, checkable statement." }),
    evidence: Type.String({ description: "What supports the claim: data, quotes, reasoning." }),
    sources: Type.Array(Type.String(), {
      description: "URLs or citations; use \"model knowledge\" when no source was consulted.",
    }),
  },
  { title: "ResearchFinding" },
);

/**
 * Confidence is a number from 0 (guess) to 1 (certain, well sourced) -- not low/medium/high -- so results
 * can be compared and averaged by the synthesis.
 */
export const ResearchResult = Type.Object(
  {
    topic: Type.String({ minLength: 1, description: "The topic researched, as given." }),
    summary: Type.String({ minLength: 1, description: "The answer for this topic in a few sentences." }),
    findings: Type.Array(ResearchFinding, { description: "Key findings, most important first." }),
    confidence: Type.Number({
      minimum: 0,
      maximum: 1,
      description: "Overall confidence from 0 (guess) to 1 (certain, well sourced).",
    }),
    openQuestions: Type.Array(Type.String(), {
      description: "What remains unknown or needs checking; empty if nothing.",
    }),
  },
  { title: "ResearchResult" },
);

export type ResearchResult = Static<typeof ResearchResult>;

/** Named schemas a registry entry may use as `"outputSchema": "#<name>"`. */
export const SCHEMA_REFS: Readonly<Record<string, TSchema>> = Object.freeze({
  "#research-result": ResearchResult,
});

/** Plain JSON copy (no TypeBox symbols), safe to hand to Ajv, store in the ledger or print. */
export function plainSchema(schema: object): Record<string, unknown> {
  return JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;
}
