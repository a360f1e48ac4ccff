import { semanticKey, similarity, type SemanticKey } from "../../server/cache/semantic-match.js";
import type { LabelledPair } from "../../server/cache/similarity-threshold.js";
import type { LabelledExample } from "../../server/evaluation/example.js";

/** Feature → (document, weight) lists in flat typed arrays: the calibration sums millions of products. */
function invertedIndex(keys: readonly SemanticKey[]) {
  const counts = new Map<number, number>();
  for (const key of keys) for (const id of key.vector.ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  const start = new Map<number, number>();
  let total = 0;
  for (const [id, n] of counts) {
    start.set(id, total);
    total += n;
  }
  const docs = new Int32Array(total);
  const weights = new Float32Array(total);
  const filled = new Map<number, number>();
  keys.forEach((key, doc) => {
    key.vector.ids.forEach((id, k) => {
      const at = start.get(id)! + (filled.get(id) ?? 0);
      filled.set(id, (filled.get(id) ?? 0) + 1);
      docs[at] = doc;
      weights[at] = key.vector.weights[k]!;
    });
  });
  return { docs, weights, start, counts };
}

/**
 * Each example paired with its most similar other example (by the serving rule: same negation words, then cosine),
 * and whether their labels agree: what the semantic cache would have done had the other one been answered first.
 * Examples with no other of the same negation words make no pair.
 */
export function nearestNeighbourPairs(examples: readonly LabelledExample[]): LabelledPair[] {
  const keys: SemanticKey[] = examples.map((e) => semanticKey(e.text));
  const index = invertedIndex(keys);
  const dots = new Float64Array(examples.length);
  const pairs: LabelledPair[] = [];
  keys.forEach((key, doc) => {
    dots.fill(0);
    key.vector.ids.forEach((id, k) => {
      const w = key.vector.weights[k]!;
      const from = index.start.get(id)!;
      const to = from + index.counts.get(id)!;
      for (let p = from; p < to; p++) dots[index.docs[p]!]! += w * index.weights[p]!;
    });
    let best = -1;
    for (let j = 0; j < dots.length; j++) {
      if (j !== doc && dots[j]! > 0 && keys[j]!.negations === key.negations && (best < 0 || dots[j]! > dots[best]!)) best = j;
    }
    if (best < 0) return;
    // The serving rule decides; the index only found the candidate.
    const s = similarity(key, keys[best]!);
    if (s !== undefined) pairs.push({ similarity: s, sameLabel: examples[best]!.label === examples[doc]!.label });
  });
  return pairs;
}
