import { cosine, lexicalVector, type LexicalVector } from "./lexical-vector.js";
import { negationSignature } from "./negation-cues.js";

/** What the semantic cache compares: a text's lexical vector and its negation words. */
export interface SemanticKey {
  vector: LexicalVector;
  negations: string;
}

export function semanticKey(text: string): SemanticKey {
  return { vector: lexicalVector(text), negations: negationSignature(text) };
}

/**
 * How close a stored text is to the query, or undefined when it can never stand for it (its negations differ).
 * The one rule for serving and for calibration: a hit is a similarity at or above the model's calibrated threshold.
 */
export function similarity(query: SemanticKey, stored: SemanticKey): number | undefined {
  return query.negations === stored.negations ? cosine(query.vector, stored.vector) : undefined;
}

export function isSemanticHit(similarity: number | undefined, threshold: number): boolean {
  return similarity !== undefined && similarity >= threshold;
}
