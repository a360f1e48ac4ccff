import type { Token } from "node-llama-cpp";
import { llamaRuntime } from "../../server/backends/gguf/llama-runtime.js";
import type { ParityReport } from "../export/onnx-parity.js";
import type { GgufTensor } from "./gguf-writer.js";
import type { LlamaShape } from "./llama-gguf.js";
import { referenceLastLogits } from "./llama-reference.js";

/** llama.cpp works in float32 in its own order, the reference in float64. Applied to |Δp| per token. */
export const GGUF_PARITY_TOLERANCE = 1e-3;
/** And on |Δ log p| for the tokens the reference gives ≥ 0.1%: spread-out distributions hide errors in |Δp|. */
export const GGUF_LOG_PARITY_TOLERANCE = 1e-2;

/**
 * Loads the written GGUF with llama.cpp and compares its next-token probabilities over the whole vocabulary (the
 * binding gives probabilities, not logits) with the softmax of the reference forward pass: a wrong tensor layout,
 * RoPE pairing or tokenizer would show here, not as bad accuracy. The report's scaled figure is |Δ log p| over the
 * tokens the reference gives at least 0.1%.
 */
export async function checkGgufParity(path: string, shape: LlamaShape, tensors: GgufTensor[], prompts: number[][]): Promise<ParityReport> {
  const { llama } = await llamaRuntime("cpu", 1);
  const model = await llama.loadModel({ modelPath: path });
  // An F32 KV cache (serving keeps llama.cpp's F16 default): the comparison is then of the computation alone.
  const context = await model.createContext({
    contextSize: shape.context,
    sequences: 1,
    threads: 1,
    experimentalKvCacheKeyType: "F32",
    experimentalKvCacheValueType: "F32",
  });
  try {
    const sequence = context.getSequence();
    let maxAbsDifference = 0;
    let maxScaledDifference = 0;
    for (const ids of prompts) {
      await sequence.clearHistory();
      const last = ids.length - 1;
      const result = await sequence.controlledEvaluate([...(ids.slice(0, last) as Token[]), [ids[last] as Token, { generateNext: { probabilities: true } }]]);
      const probabilities = result[last]?.next.probabilities;
      if (!probabilities) throw new Error("llama.cpp returned no probabilities");
      const logits = referenceLastLogits(shape, tensors, ids);
      const max = Math.max(...logits);
      const weights = logits.map((z) => Math.exp(z - max));
      const total = weights.reduce((a, b) => a + b, 0);
      for (let token = 0; token < shape.vocab; token++) {
        const expected = weights[token]! / total;
        const got = probabilities.get(token as Token) ?? 0;
        maxAbsDifference = Math.max(maxAbsDifference, Math.abs(got - expected));
        if (expected >= 1e-3) maxScaledDifference = Math.max(maxScaledDifference, Math.abs(Math.log(got) - Math.log(expected)));
      }
    }
    const report = { samples: prompts.length, maxAbsDifference, maxScaledDifference, tolerance: GGUF_PARITY_TOLERANCE, passed: maxAbsDifference <= GGUF_PARITY_TOLERANCE && maxScaledDifference <= GGUF_LOG_PARITY_TOLERANCE };
    if (!report.passed) {
      throw new Error(
        `GGUF does not match the trained model: max |Δp| ${maxAbsDifference} (tolerance ${GGUF_PARITY_TOLERANCE}), max |Δ log p| ${maxScaledDifference} (tolerance ${GGUF_LOG_PARITY_TOLERANCE})`,
      );
    }
    return report;
  } finally {
    await context.dispose();
    await model.dispose();
  }
}
