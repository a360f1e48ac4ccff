import type { FastTextModel } from "../fasttext/model.js";
import { ELEM_FLOAT, ELEM_INT64, GraphBuilder, encodeModel, tensorValueInfo } from "./onnx-builder.js";

export const FASTTEXT_OPSET = 13;
const INT64_MAX = Number.MAX_SAFE_INTEGER;

/**
 * The fastText classifier as an ONNX graph with the Hugging Face interface: `input_ids` and `attention_mask`
 * [batch, sequence] int64 in, `logits` [batch, classes] out. Bigrams are hashed inside the graph with the same
 * arithmetic as `featureRows`, and pairs that touch padding are masked out.
 */
export function fastTextToOnnx(model: FastTextModel): Uint8Array {
  const g = new GraphBuilder();
  const I = GraphBuilder.intAttribute;
  const table = g.floatTensor("embeddings", [model.vocabSize + model.buckets, model.dim], model.embeddings);
  const weights = g.floatTensor("classifier.weight", [model.dim, model.classes], model.weights);
  const bias = g.floatTensor("classifier.bias", [model.classes], model.bias);
  const zero = g.int64Tensor("const.zero", [1], [0]);
  const one = g.int64Tensor("const.one", [1], [1]);
  const minusOne = g.int64Tensor("const.minus_one", [1], [-1]);
  const end = g.int64Tensor("const.end", [1], [INT64_MAX]);
  const axis1 = g.int64Tensor("const.axis1", [1], [1]);
  const axis2 = g.int64Tensor("const.axis2", [1], [2]);
  const multiplier = g.int64Tensor("const.hash_multiplier", [], [model.hashMultiplier]);
  const buckets = g.int64Tensor("const.buckets", [], [model.buckets]);
  const vocab = g.int64Tensor("const.vocab", [], [model.vocabSize]);
  const oneFloat = g.floatTensor("const.one_float", [], new Float32Array([1]));

  const left = (x: string) => g.op("Slice", [x, zero, minusOne, axis1]);
  const right = (x: string) => g.op("Slice", [x, one, end, axis1]);

  const hashed = g.op("Mod", [g.op("Add", [g.op("Mul", [left("input_ids"), multiplier]), right("input_ids")]), buckets], [I("fmod", 0)]);
  const bigramIds = g.op("Add", [hashed, vocab]);
  const bigramMask = g.op("Mul", [left("attention_mask"), right("attention_mask")]);
  const ids = g.op("Concat", ["input_ids", bigramIds], [I("axis", 1)]);
  const mask = g.op("Cast", [g.op("Concat", ["attention_mask", bigramMask], [I("axis", 1)])], [I("to", ELEM_FLOAT)]);
  const embedded = g.op("Gather", [table, ids], [I("axis", 0)]);
  const masked = g.op("Mul", [embedded, g.op("Unsqueeze", [mask, axis2])]);
  const summed = g.op("ReduceSum", [masked, axis1], [I("keepdims", 0)]);
  const count = g.op("Max", [g.op("ReduceSum", [mask, axis1], [I("keepdims", 1)]), oneFloat]);
  const pooled = g.op("Div", [summed, model.pooling === "mean" ? count : g.op("Sqrt", [count])]);
  g.op("Add", [g.op("MatMul", [pooled, weights]), bias], [], "logits");

  return encodeModel(
    {
      name: "fasttext_classifier",
      node: g.nodes,
      initializer: g.initializers,
      input: [
        tensorValueInfo("input_ids", ELEM_INT64, ["batch", "sequence"]),
        tensorValueInfo("attention_mask", ELEM_INT64, ["batch", "sequence"]),
      ],
      output: [tensorValueInfo("logits", ELEM_FLOAT, ["batch", model.classes])],
    },
    FASTTEXT_OPSET,
    `fastText-style classifier: vocab ${model.vocabSize}, buckets ${model.buckets}, dim ${model.dim}`,
  );
}
