import type { Token } from "node-llama-cpp";
import { llamaRuntime } from "../../server/backends/gguf/llama-runtime.js";
import type { ParityReport } from "../export/onnx-parity.js";
import type { GgufTensor } from "./gguf-writer.js";
import type { LlamaShape } from "./llama-gguf.js";
import { referenceLastLogits } from "./llama-reference.js";

/** llama.cpp sums in float32 in its own order; the reference in float64. Applied to |Δ| / (1 + |logit|). */
export const GGUF_PARITY_TOLERANCE = 1e-3;

/**
 * Loads the written GGUF with llama.cpp and compares its next-token logits over the whole vocabulary with the
 * reference forward pass: a wrong tensor layout, RoPE pairing or tokenizer would show here, not as bad accuracy.
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
      const result = await sequence.controlledEvaluate([...(ids.slice(0, last) as Token[]), [ids[last] as Token, { generateNext: { logits: true } }]]);
      const logits = result[last]?.next.logits;
      if (!logits) throw new Error("llama.cpp returned no logits");
      const reference = referenceLastLogits(shape, tensors, ids);
      for (let token = 0; token < shape.vocab; token++) {
        const got = logits instanceof Map ? logits.get(token as Token) : (logits as ArrayLike<number>)[token];
        if (got === undefined) throw new Error(`llama.cpp returned no logit for token ${token}`);
        const difference = Math.abs(got - reference[token]!);
        maxAbsDifference = Math.max(maxAbsDifference, difference);
        maxScaledDifference = Math.max(maxScaledDifference, difference / (1 + Math.abs(reference[token]!)));
      }
    }
    const report = { samples: prompts.length, maxAbsDifference, maxScaledDifference, tolerance: GGUF_PARITY_TOLERANCE, passed: maxScaledDifference <= GGUF_PARITY_TOLERANCE };
    if (!report.passed) throw new Error(`GGUF does not match the trained model: max |Δlogit|/(1+|logit|) ${maxScaledDifference} > ${GGUF_PARITY_TOLERANCE}`);
    return report;
  } finally {
    await context.dispose();
    await model.dispose();
  }
}
