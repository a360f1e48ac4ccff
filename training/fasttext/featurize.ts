import type { PreTrainedTokenizer } from "@huggingface/transformers";
import { encodeBatch } from "../../server/backends/onnx/encode-batch.js";
import type { LabelledExample } from "../../server/evaluation/example.js";
import { featureRows, type FastTextShape } from "./model.js";
import type { TrainingExample } from "./train.js";

/**
 * Token ids come from the real tokenizer, through the same truncation code the server uses, so the model is
 * trained on exactly what it will be served.
 */
export function featurize(
  tokenizer: PreTrainedTokenizer,
  examples: LabelledExample[],
  labels: string[],
  shape: FastTextShape,
  limits: { maxTokens: number; maxChars: number },
): TrainingExample[] {
  return examples.map((example) => {
    const encoded = encodeBatch(tokenizer, [example.text], limits);
    const label = labels.indexOf(example.label);
    if (label < 0) throw new Error(`label '${example.label}' of ${example.id} is not in the label set`);
    return { rows: featureRows(Array.from(encoded.inputIds, Number), shape), label };
  });
}
