import type { DatasetSplits } from "./example.js";
import { loadEmailCorpus } from "./email-corpus.js";
import { readLabelledFile, type LabelledFileOptions } from "./labelled-file.js";
import { normaliseForDedup, randomSplits, removeDuplicates, stratifiedSplit, temporalSplits } from "./split.js";

export type DataSource =
  | { kind: "email"; protocol: "random" | "temporal"; limitPerGroup?: number }
  | ({ kind: "file"; train: string; test?: string } & LabelledFileOptions);

export interface SplitSettings {
  seed: number;
  testFraction: number;
  validationFraction: number;
}

/** Train/validation/test for a data source, deterministic for a seed. */
export async function loadSplits(source: DataSource, settings: SplitSettings): Promise<DatasetSplits> {
  if (source.kind === "email") {
    const examples = await loadEmailCorpus(source.limitPerGroup === undefined ? {} : { limitPerGroup: source.limitPerGroup });
    return source.protocol === "random"
      ? randomSplits(examples, settings)
      : temporalSplits(examples, (e) => e.category?.endsWith("-1") ?? false, settings);
  }
  const train = await readLabelledFile(source.train, source);
  if (!source.test) return { ...randomSplits(train, settings), protocol: "file-random" };
  // With a separate test file, training copies of test texts are dropped; the test file is used as it is.
  const test = await readLabelledFile(source.test, source);
  const testTexts = new Set(test.map((e) => normaliseForDedup(e.text)));
  const deduped = removeDuplicates(train);
  const trainOnly = deduped.kept.filter((e) => !testTexts.has(normaliseForDedup(e.text)));
  const removed = deduped.removed + deduped.kept.length - trainOnly.length;
  const { first, second } = stratifiedSplit(trainOnly, 1 - settings.validationFraction, settings.seed + 1);
  return { train: first, validation: second, test, duplicatesRemoved: removed, protocol: "file" };
}
