import type { PreTrainedTokenizer } from "@huggingface/transformers";
import { OnnxTextClassifier } from "../../server/backends/onnx/onnx-classifier.js";
import { encodeBatch } from "../../server/backends/onnx/encode-batch.js";
import type { ModelManifest } from "../../server/models/manifest.js";
import { featureRows, logitsOf, type FastTextModel, type FastTextShape } from "../fasttext/model.js";

export interface ParityReport {
  samples: number;
  maxAbsDifference: number;
  tolerance: number;
  passed: boolean;
}

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
  const classifier = await OnnxTextClassifier.load(dir, { ...manifest, device: "cpu" }, { device: "cpu", intraOpThreads: 1 });
  try {
    const onnx = await classifier.classify(texts);
    let maxAbsDifference = 0;
    texts.forEach((text, b) => {
      const ids = Array.from(encodeBatch(tokenizer, [text], limits).inputIds, Number);
      const expected = logitsOf(model, featureRows(ids, shape));
      for (let c = 0; c < shape.classes; c++) {
        maxAbsDifference = Math.max(maxAbsDifference, Math.abs(expected[c]! - onnx.logits[b * shape.classes + c]!));
      }
    });
    const report = { samples: texts.length, maxAbsDifference, tolerance: PARITY_TOLERANCE, passed: maxAbsDifference <= PARITY_TOLERANCE };
    if (!report.passed) {
      throw new Error(`ONNX export does not match the trained model: max |Δlogit| ${maxAbsDifference} > ${PARITY_TOLERANCE}`);
    }
    return report;
  } finally {
    await classifier.dispose();
  }
}
