/**
 * A text as a sparse, unit-length vector of hashed word unigrams and bigrams (sublinear term frequency), for
 * finding near-duplicates by cosine similarity. Digits are folded (a changed number or date is the same text),
 * case is folded, word order matters only through bigrams (reordered lines stay close).
 */
export interface LexicalVector {
  /** Feature ids, ascending. */
  ids: Uint32Array;
  /** Weights of `ids`, the vector's length 1. */
  weights: Float32Array;
}

const BUCKETS = 1 << 22;
const WORD = /[\p{L}\p{N}']+/gu;

/** FNV-1a over a string's UTF-16 code units: stable across processes and versions (the vectors may be stored). */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % BUCKETS;
}

export function words(text: string): string[] {
  return (text.toLowerCase().replace(/[‘’]/g, "'").match(WORD) ?? []).map((w) => w.replace(/\p{N}/gu, "0"));
}

export function lexicalVector(text: string): LexicalVector {
  const counts = new Map<number, number>();
  const tokens = words(text);
  const add = (feature: string) => {
    const id = hash(feature);
    counts.set(id, (counts.get(id) ?? 0) + 1);
  };
  for (let i = 0; i < tokens.length; i++) {
    add(tokens[i]!);
    if (i > 0) add(`${tokens[i - 1]} ${tokens[i]}`);
  }
  const ids = Uint32Array.from(counts.keys()).sort();
  const weights = Float32Array.from(ids, (id) => 1 + Math.log(counts.get(id)!));
  const norm = Math.hypot(...weights) || 1;
  for (let i = 0; i < weights.length; i++) weights[i]! /= norm;
  return { ids, weights };
}

/** Cosine similarity of two unit vectors (a merge over their sorted ids). */
export function cosine(a: LexicalVector, b: LexicalVector): number {
  let i = 0;
  let j = 0;
  let sum = 0;
  while (i < a.ids.length && j < b.ids.length) {
    const x = a.ids[i]!;
    const y = b.ids[j]!;
    if (x === y) sum += a.weights[i++]! * b.weights[j++]!;
    else if (x < y) i++;
    else j++;
  }
  return sum;
}
