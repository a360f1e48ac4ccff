import { readFile } from "node:fs/promises";
import type { GgufTensor } from "./gguf-writer.js";
import { llamaTensorShapes, type LlamaShape } from "./llama-gguf.js";

/** Reads the trainer's output: float32 tensors back to back, in llamaTensorShapes order. */
export async function readTrainedTensors(path: string, shape: LlamaShape): Promise<GgufTensor[]> {
  const bytes = await readFile(path);
  const floats = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  let offset = 0;
  const tensors = llamaTensorShapes(shape).map(({ name, dims }) => {
    const count = dims.reduce((a, b) => a * b, 1);
    const data = floats.slice(offset, offset + count);
    offset += count;
    return { name, dims, data };
  });
  if (offset !== floats.length) throw new Error(`${path}: ${floats.length} floats, the model needs ${offset}`);
  for (const t of tensors) {
    if (t.data.some((v) => !Number.isFinite(v))) throw new Error(`${path}: tensor ${t.name} holds NaN or infinite values`);
  }
  return tensors;
}
