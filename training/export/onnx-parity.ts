import type { PreTrainedTokenizer } from "@huggingface/transformers";
import { OnnxTextModel } from "../../server/backends/onnx/onnx-text-model.js";
import { encodeBatch } from "../../server/backends/onnx/encode-batch.js";
import type { ModelManifest } from "../../server/models/manifest.js";
import { featureRows, logitsOf, type FastTextModel, type FastTextShape } from "../fasttext/model.js";

export interface ParityReport {
  samples: number;
  maxAbsDifference: number;
  /** Largest |Δ| / (1 + |expected logit|): the figure the tolerance applies to. */
  maxScaledDifference: number;
  tolerance: number;
  passed: boolean;
}

/**
 * Applied as |Δ| ≤ tol · (1 + |logit|): absolute for small logits, relative for large ones, since ORT sums thousands
 * of float32 embeddings in its own order and a logit of 30 cannot agree to 1e-4 absolutely at float32 precision.
 */
export const PARITY_TOLERANCE = 1e-4;

/**
 * Loads the exported file with onnxruntime-node through the serving code and compares its logits, for a padded
 * batch, with the TypeScript model's on each unpadded input. A mismatch means the export is wrong: fail loudly.
 */
export async function checkOnnxParity(
  dir: string,
  manifest: ModelManifest,
  model: FastTextModel,
  texts: string[],
  tokenizer: PreTrainedTokenizer,
  shape: FastTextShape,
  limits: { maxTokens: number; maxChars: number },
): Promise<ParityReport> {
  const classifier = await OnnxTextModel.load(dir, { ...manifest, device: "cpu" }, { device: "cpu", intraOpThreads: 1 });
  try {
    const onnx = await classifier.run(texts);
    const expected = texts.map((text) => logitsOf(model, featureRows(Array.from(encodeBatch(tokenizer, [text], limits).inputIds, Number), shape)));
    const got = texts.map((_, b) => onnx.values.slice(b * shape.classes, (b + 1) * shape.classes));
    return logitParity(expected, got, PARITY_TOLERANCE, "the trained model");
  } finally {
    await classifier.dispose();
  }
}

/**
 * The largest differences between expected logits and the exported graph's, row by row, with |Δ| / (1 + |logit|) the
 * figure `tolerance` applies to. Throws when it is over: an export that does not match must fail loudly.
 */
export function logitParity(expected: ArrayLike<number>[], got: ArrayLike<number>[], tolerance: number, against: string): ParityReport {
  let maxAbsDifference = 0;
  let maxScaledDifference = 0;
  expected.forEach((row, i) => {
    for (let c = 0; c < row.length; c++) {
      const difference = Math.abs(row[c]! - got[i]![c]!);
      maxAbsDifference = Math.max(maxAbsDifference, difference);
      maxScaledDifference = Math.max(maxScaledDifference, difference / (1 + Math.abs(row[c]!)));
    }
  });
  if (maxScaledDifference > tolerance) {
    throw new Error(`ONNX export does not match ${against}: max |Δlogit|/(1+|logit|) ${maxScaledDifference} > ${tolerance}`);
  }
  return { samples: expected.length, maxAbsDifference, maxScaledDifference, tolerance, passed: true };
}
