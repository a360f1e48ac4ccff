import { chooseSimilarityThreshold } from "../../server/cache/similarity-threshold.js";
import type { LabelledExample } from "../../server/evaluation/example.js";
import type { SemanticCacheCalibration } from "../../server/models/manifest.js";
import { nearestNeighbourPairs } from "./semantic-pairs.js";
import type { z } from "zod";

export type SemanticCalibrationBlock = z.input<typeof SemanticCacheCalibration>;

/**
 * The `semanticCache` block of a model.json, chosen on `examples` (train and validation data, never test) for a
 * false-hit target; undefined with the pair count when no threshold meets it (the cache then stays off).
 */
export function calibrateSemanticCache(examples: readonly LabelledExample[], target: number, source: string): { block?: SemanticCalibrationBlock; pairs: number } {
  const pairs = nearestNeighbourPairs(examples);
  const chosen = chooseSimilarityThreshold(pairs, target);
  if (!chosen) return { pairs: pairs.length };
  return {
    pairs: pairs.length,
    block: {
      embedder: "lexical-v1",
      similarity: chosen.similarity,
      falseHitTarget: target,
      falseHitUpperBound: chosen.falseHitUpperBound,
      pairs: pairs.length,
      hits: chosen.hits,
      falseHits: chosen.falseHits,
      calibratedOn: source,
    },
  };
}
