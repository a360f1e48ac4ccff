import { createRng } from "../random.js";

/**
 * A fastText-style classifier: the mean of the embeddings of the tokens and of their hashed bigrams, then one
 * linear layer. Bigram ids live after the vocabulary in the same table: id = vocab + (a·P + b) mod buckets.
 * The ONNX export computes exactly this graph, so the constants are part of the model.
 */
export interface FastTextShape {
  vocabSize: number;
  buckets: number;
  dim: number;
  classes: number;
  hashMultiplier: number;
  /** `mean`: sum / n (fastText); `sqrt`: sum / √n, which keeps long texts from washing out their strongest tokens. */
  pooling: "mean" | "sqrt";
}

export interface FastTextModel extends FastTextShape {
  /** (vocabSize + buckets) × dim, row-major. */
  embeddings: Float32Array;
  /** dim × classes, row-major. */
  weights: Float32Array;
  bias: Float32Array;
}

export const DEFAULT_HASH_MULTIPLIER = 1_000_003;

export function createFastText(shape: FastTextShape, seed: number): FastTextModel {
  const rng = createRng(seed);
  const rows = shape.vocabSize + shape.buckets;
  const embeddings = new Float32Array(rows * shape.dim);
  const scale = 1 / shape.dim;
  for (let i = 0; i < embeddings.length; i++) embeddings[i] = (rng() * 2 - 1) * scale;
  return {
    ...shape,
    embeddings,
    weights: new Float32Array(shape.dim * shape.classes),
    bias: new Float32Array(shape.classes),
  };
}

/** Token ids (unpadded) → the embedding rows the model averages: unigrams then hashed bigrams. */
export function featureRows(ids: ArrayLike<number>, shape: FastTextShape): Int32Array {
  const n = ids.length;
  const rows = new Int32Array(n + Math.max(0, n - 1));
  for (let i = 0; i < n; i++) rows[i] = ids[i]!;
  for (let i = 0; i + 1 < n; i++) {
    rows[n + i] = shape.vocabSize + ((ids[i]! * shape.hashMultiplier + ids[i + 1]!) % shape.buckets);
  }
  return rows;
}

/**
 * Pooled embedding of the feature rows, written into `out` (length dim). The sum is kept in float64: with thousands
 * of rows a float32 running sum drifts by more than the export parity tolerance, and this is the reference.
 */
export function pool(model: FastTextModel, rows: Int32Array, out: Float32Array): void {
  const { dim, embeddings } = model;
  const sum = new Float64Array(dim);
  for (let r = 0; r < rows.length; r++) {
    const offset = rows[r]! * dim;
    for (let d = 0; d < dim; d++) sum[d]! += embeddings[offset + d]!;
  }
  const inv = poolingScale(model, rows.length);
  for (let d = 0; d < dim; d++) out[d] = sum[d]! * inv;
}

export function poolingScale(shape: FastTextShape, count: number): number {
  const n = Math.max(1, count);
  return shape.pooling === "mean" ? 1 / n : 1 / Math.sqrt(n);
}

/** Logits for pooled features, written into `out` (length classes). */
export function linear(model: FastTextModel, pooled: Float32Array, out: Float32Array): void {
  const { dim, classes, weights, bias } = model;
  for (let c = 0; c < classes; c++) {
    let sum = bias[c]!;
    for (let d = 0; d < dim; d++) sum += pooled[d]! * weights[d * classes + c]!;
    out[c] = sum;
  }
}

export function logitsOf(model: FastTextModel, rows: Int32Array): Float32Array {
  const pooled = new Float32Array(model.dim);
  const logits = new Float32Array(model.classes);
  pool(model, rows, pooled);
  linear(model, pooled, logits);
  return logits;
}
