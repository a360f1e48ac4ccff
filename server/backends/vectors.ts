/** Scales a vector to unit length in place (a zero vector stays zero), as sentence-transformers' Normalize module. */
export function normalizeVector(vector: Float32Array): Float32Array {
  let norm = 0;
  for (const v of vector) norm += v * v;
  norm = Math.sqrt(norm);
  if (norm > 0) for (let i = 0; i < vector.length; i++) vector[i]! /= norm;
  return vector;
}
