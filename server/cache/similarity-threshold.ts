/** One labelled pair: a query, its most similar stored text, and whether their true labels agree. */
export interface LabelledPair {
  similarity: number;
  sameLabel: boolean;
}

export interface SimilarityThreshold {
  /** The lowest similarity that counts as a hit. */
  similarity: number;
  /** Pairs at or above it, and how many of those disagree (false hits). */
  hits: number;
  falseHits: number;
  /** One-sided 95% upper bound (Wilson) of the false-hit rate among hits: what was held to the target. */
  falseHitUpperBound: number;
}

const Z = 1.6448536269514722;

/** Wilson score upper bound of a binomial rate: with few hits it stays high, so a few lucky pairs prove nothing. */
export function wilsonUpper(failures: number, trials: number): number {
  if (trials === 0) return 1;
  const p = failures / trials;
  const z2 = Z * Z;
  const centre = p + z2 / (2 * trials);
  const margin = Z * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials));
  return Math.min(1, (centre + margin) / (1 + z2 / trials));
}

/**
 * The lowest similarity threshold whose false-hit rate (a hit whose stored label differs from the query's true
 * label) is at most `target` with 95% confidence over the pairs at or above it. Undefined when no threshold gets
 * there: the pairs are too few or too often wrong, and the cache stays off rather than guess.
 */
export function chooseSimilarityThreshold(pairs: readonly LabelledPair[], target: number): SimilarityThreshold | undefined {
  const sorted = [...pairs].sort((a, b) => b.similarity - a.similarity);
  let best: SimilarityThreshold | undefined;
  let falseHits = 0;
  for (let i = 0; i < sorted.length; i++) {
    if (!sorted[i]!.sameLabel) falseHits++;
    // Only between distinct similarities: a threshold cannot split pairs of equal similarity.
    if (i + 1 < sorted.length && sorted[i + 1]!.similarity === sorted[i]!.similarity) continue;
    const upper = wilsonUpper(falseHits, i + 1);
    if (upper <= target) best = { similarity: sorted[i]!.similarity, hits: i + 1, falseHits, falseHitUpperBound: upper };
  }
  return best;
}
