import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { learnByteBpe, withSingleTokens } from "../../training/gguf/byte-bpe.js";
import { writeGguf } from "../../training/gguf/gguf-writer.js";
import { llamaMetadata, llamaTensorShapes, randomLlamaTensors, vocabularyOf, type LlamaShape } from "../../training/gguf/llama-gguf.js";

/** About 120M parameters: 12 layers of dimension 768 (GPT-2 small's), a 3,072-wide feed-forward, a 4,096-token vocabulary. */
export const RANDOM_SHAPE = { dim: 768, layers: 12, heads: 12, kvHeads: 12, ffn: 3072, context: 2048, ropeBase: 10_000, rmsEps: 1e-5 } as const;

/**
 * A llama-architecture classifier of realistic size with random weights, written by the project's own GGUF writer
 * (nothing downloaded), as `<repository>/<name>/1/`: its answers mean nothing, but every token costs what a trained
 * model of that size costs, so it measures the serving layers where the model is not trivially small.
 */
export async function writeRandomLlamaModel(repository: string, name: string, texts: string[], labels: string[]): Promise<{ dir: string; parameters: number }> {
  const bpe = withSingleTokens(learnByteBpe(texts, { vocabSize: 4094 }), labels.map((l) => ` ${l}`));
  const shape: LlamaShape = { vocab: vocabularyOf(bpe).length, ...RANDOM_SHAPE };
  const dir = join(repository, name, "1");
  await mkdir(join(dir, "prompts"), { recursive: true });
  await writeGguf(join(dir, "model.gguf"), llamaMetadata(shape, name, bpe), randomLlamaTensors(shape, 7));
  await writeFile(join(dir, "prompts", "classify.txt"), "Email:\n{{input}}\nLabel:");
  const manifest = { name, version: "1", format: "gguf", task: "text-classification", labels, limits: { maxTokens: 256 }, gguf: { contextSize: 512 } };
  await writeFile(join(dir, "model.json"), JSON.stringify(manifest, null, 2));
  const parameters = llamaTensorShapes(shape).reduce((sum, t) => sum + t.dims.reduce((a, b) => a * b, 1), 0);
  return { dir, parameters };
}
