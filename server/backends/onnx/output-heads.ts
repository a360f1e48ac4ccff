import { ServingError } from "../../errors/registry.js";
import type { ModelManifest } from "../../models/manifest.js";
import { OnnxSettings } from "./onnx-settings.js";
import { normalizeVector } from "../vectors.js";
import type { ort } from "./session.js";

/** How one graph output becomes `width` numbers per input: a classifier's logits, or an embedding model's vector. */
export interface OutputHead {
  output: string;
  width: number;
  /** Row-major [batch × width] from the output tensor; `mask` is the batch's attention mask [batch × length]. */
  read(tensor: ort.Tensor, mask: BigInt64Array, batch: number, length: number): Float32Array;
}

function expectShape(tensor: ort.Tensor, name: string, expected: string, ok: boolean): void {
  if (tensor.type !== "float32" || !ok) {
    throw new ServingError("ERR_MODEL_LOAD_FAILED", `output '${name}' has type ${tensor.type} and shape [${tensor.dims.join(", ")}], expected float32 ${expected}`);
  }
}

function classificationHead(output: string, classes: number): OutputHead {
  return {
    output,
    width: classes,
    read(tensor, _mask, batch) {
      expectShape(tensor, output, `[${batch}, ${classes}]`, tensor.dims.length === 2 && tensor.dims[0] === batch && tensor.dims[1] === classes);
      return tensor.data as Float32Array;
    },
  };
}

/** sentence-transformers' Pooling (mean under the mask, or the first token) and Normalize modules, on token vectors. */
function embeddingHead(settings: NonNullable<ModelManifest["embedding"]>): OutputHead {
  const { output, pooling, normalize, dimensions } = settings;
  return {
    output,
    width: dimensions,
    read(tensor, mask, batch, length) {
      const data = tensor.data as Float32Array;
      const vectors = new Float32Array(batch * dimensions);
      if (pooling === "none") {
        expectShape(tensor, output, `[${batch}, ${dimensions}]`, tensor.dims.length === 2 && tensor.dims[0] === batch && tensor.dims[1] === dimensions);
        vectors.set(data.subarray(0, batch * dimensions));
      } else {
        expectShape(tensor, output, `[${batch}, ${length}, ${dimensions}] (token vectors)`, tensor.dims.length === 3 && tensor.dims[0] === batch && tensor.dims[1] === length && tensor.dims[2] === dimensions);
        for (let b = 0; b < batch; b++) {
          const vector = vectors.subarray(b * dimensions, (b + 1) * dimensions);
          const tokens = pooling === "cls" ? 1 : length;
          let counted = 0;
          for (let t = 0; t < tokens; t++) {
            if (pooling === "mean" && mask[b * length + t] === 0n) continue;
            const at = (b * length + t) * dimensions;
            for (let d = 0; d < dimensions; d++) vector[d]! += data[at + d]!;
            counted++;
          }
          for (let d = 0; d < dimensions; d++) vector[d]! /= Math.max(1, counted);
        }
      }
      if (normalize) {
        for (let b = 0; b < batch; b++) normalizeVector(vectors.subarray(b * dimensions, (b + 1) * dimensions));
      }
      return vectors;
    },
  };
}

export function outputHead(manifest: ModelManifest): OutputHead {
  if (manifest.task === "embeddings") return embeddingHead(manifest.embedding!);
  return classificationHead(OnnxSettings.parse(manifest.backend).outputName, manifest.labels.length);
}
