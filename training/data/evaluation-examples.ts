import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { InvalidArgumentError } from "commander";
import type { TrainingMetrics } from "../model-folder/training-metrics.js";
import { DEFAULT_TRAIN_OPTIONS } from "../train-specialist.js";
import type { DatasetSplits, LabelledExample } from "../../server/evaluation/example.js";
import { readLabelledFile } from "../../server/evaluation/labelled-file.js";
import { loadSplits } from "./load-splits.js";

/** Where labelled data for evaluating a model comes from: a file, or a split of the built-in corpus. */
export interface EvaluationDataFlags {
  data?: string;
  corpus?: string;
  split: "test" | "validation" | "train";
  textField: string;
  labelField: string;
  categoryField?: string;
  seed?: number;
}

async function readMetrics(path: string): Promise<TrainingMetrics | undefined> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as TrainingMetrics;
  } catch {
    return undefined;
  }
}

/**
 * The built-in corpus's splits as `modelDir` was trained on them (`corpus` is email:random or email:temporal): the
 * held-out split depends on the seed, so the model's own seed unless one is given.
 */
export async function loadModelCorpusSplits(corpus: string | undefined, modelDir: string, seed?: number): Promise<{ splits: DatasetSplits; seed: number }> {
  const match = /^email:(random|temporal)$/.exec(corpus ?? "");
  if (!match) throw new InvalidArgumentError("give --data <file> or --corpus email:random|email:temporal");
  const used = seed ?? (await readMetrics(join(modelDir, "metrics.json")))?.training.seed ?? DEFAULT_TRAIN_OPTIONS.seed;
  return { splits: await loadSplits({ kind: "email", protocol: match[1] as "random" | "temporal" }, { ...DEFAULT_TRAIN_OPTIONS, seed: used }), seed: used };
}

/** The examples to evaluate `modelDir` on; with the corpus, the split of the seed the model was trained with. */
export async function loadEvaluationExamples(flags: EvaluationDataFlags, modelDir: string): Promise<{ examples: LabelledExample[]; name: string }> {
  if (flags.data) {
    const examples = await readLabelledFile(flags.data, { textField: flags.textField, labelField: flags.labelField, ...(flags.categoryField ? { categoryField: flags.categoryField } : {}) });
    return { examples, name: flags.data };
  }
  const { splits, seed } = await loadModelCorpusSplits(flags.corpus, modelDir, flags.seed);
  return { examples: splits[flags.split], name: `${flags.corpus} ${flags.split} split (seed ${seed})` };
}
