import { readFile, writeFile } from "node:fs/promises";
import { getLlama, LlamaLogLevel } from "node-llama-cpp";
import { parseClassifyPrompt, promptTokens } from "../../server/backends/gguf/classify-prompt.js";
import type { DatasetSplits, LabelledExample } from "../../server/evaluation/example.js";
import { learnByteBpe, withSingleTokens, type ByteBpe } from "./byte-bpe.js";
import { writeGguf } from "./gguf-writer.js";
import { llamaMetadata, randomLlamaTensors, vocabularyOf, type LlamaShape } from "./llama-gguf.js";

export interface LlamaTrainingSettings {
  vocabularySize: number;
  dim: number;
  layers: number;
  heads: number;
  ffn: number;
  context: number;
  maxInputTokens: number;
  maxChars: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  weightDecay: number;
  seed: number;
  threads: number;
}

export interface PreparedData {
  bpe: ByteBpe;
  shape: LlamaShape;
  labelTexts: string[];
  labelTokens: number[];
  /** [prompt tokens, label index] per example, as llama.cpp tokenized them. */
  splits: Record<"train" | "validation" | "test", Array<[number[], number]>>;
}

/**
 * Learns the tokenizer, writes it in a GGUF with placeholder weights, and lets llama.cpp itself tokenize every
 * prompt: the model is then trained on exactly the tokens it will be served.
 */
export async function prepareLlamaData(
  splits: DatasetSplits,
  labels: string[],
  promptFile: string,
  settings: LlamaTrainingSettings,
  scratchGguf: string,
): Promise<PreparedData> {
  const labelTexts = labels.map((l) => ` ${l}`);
  const learnt = learnByteBpe(splits.train.map((e) => e.text), { vocabSize: settings.vocabularySize - 2 });
  const bpe = withSingleTokens(learnt, labelTexts);
  const shape: LlamaShape = {
    vocab: vocabularyOf(bpe).length,
    dim: settings.dim,
    layers: settings.layers,
    heads: settings.heads,
    kvHeads: settings.heads,
    ffn: settings.ffn,
    context: settings.context,
    ropeBase: 10_000,
    rmsEps: 1e-5,
  };
  await writeGguf(scratchGguf, llamaMetadata(shape, "tokenizer", bpe), randomLlamaTensors(shape, settings.seed));
  const llama = await getLlama({ gpu: false, build: "never", maxThreads: 1, logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath: scratchGguf, vocabOnly: true });
  try {
    const tokenize = (text: string) => Array.from(model.tokenize(text), Number);
    const labelTokens = labelTexts.map((text) => {
      const ids = tokenize(text);
      if (ids.length !== 1) throw new Error(`label text ${JSON.stringify(text)} is ${ids.length} tokens; training needs one`);
      return ids[0]!;
    });
    const prompt = parseClassifyPrompt(await readFile(promptFile, "utf8"), promptFile);
    const encode = (examples: LabelledExample[]): Array<[number[], number]> =>
      examples.map((e) => [promptTokens(tokenize, 0, prompt, e.text, settings).tokens, labels.indexOf(e.label)]);
    return {
      bpe,
      shape,
      labelTexts,
      labelTokens,
      splits: { train: encode(splits.train), validation: encode(splits.validation), test: encode(splits.test) },
    };
  } finally {
    await model.dispose();
  }
}

export async function writeTrainerInput(path: string, data: PreparedData, settings: LlamaTrainingSettings): Promise<void> {
  await writeFile(
    path,
    JSON.stringify({
      shape: data.shape,
      labelTokens: data.labelTokens,
      training: {
        epochs: settings.epochs,
        batchSize: settings.batchSize,
        learningRate: settings.learningRate,
        weightDecay: settings.weightDecay,
        seed: settings.seed,
        threads: settings.threads,
      },
      train: data.splits.train,
      validation: data.splits.validation,
    }),
  );
}
