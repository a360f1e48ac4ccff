import type { DatasetSplits, LabelledExample } from "../../server/evaluation/example.js";
import { loadEmailCorpus } from "./email-corpus.js";
import { readLabelledFile, type LabelledFileOptions } from "../../server/evaluation/labelled-file.js";
import { normaliseForDedup, randomSplits, removeDuplicates, stratifiedSplit, temporalSplits } from "./split.js";

export type DataSource =
  | { kind: "email"; protocol: "random" | "temporal"; limitPerGroup?: number }
  | ({ kind: "file"; train: string; test?: string; validation?: string } & LabelledFileOptions)
  /** Splits a caller already made (e.g. the flywheel's old data + frontier-labelled escalations); `name` is for the card. */
  | { kind: "splits"; splits: DatasetSplits; name: string };

export interface SplitSettings {
  seed: number;
  testFraction: number;
  validationFraction: number;
}

/** What a data source is, in words, for the model card and metrics. */
export function describeSource(source: DataSource): string {
  if (source.kind === "email") return `email corpus (${source.protocol})`;
  if (source.kind === "splits") return source.name;
  return `file ${[source.train, source.validation, source.test].filter(Boolean).join(" + ")}`;
}

/** Train/validation/test for a data source, deterministic for a seed. */
export async function loadSplits(source: DataSource, settings: SplitSettings): Promise<DatasetSplits> {
  if (source.kind === "splits") return source.splits;
  if (source.kind === "email") {
    const examples = await loadEmailCorpus(source.limitPerGroup === undefined ? {} : { limitPerGroup: source.limitPerGroup });
    return source.protocol === "random"
      ? randomSplits(examples, settings)
      : temporalSplits(examples, (e) => e.category?.endsWith("-1") ?? false, settings);
  }
  return fileSplits(source, settings);
}

/**
 * Splits from labelled files: a separate test or validation file is used as it is and training copies of its texts
 * are dropped; whatever is not given is carved from the training file (stratified, seeded).
 */
async function fileSplits(source: Extract<DataSource, { kind: "file" }>, settings: SplitSettings): Promise<DatasetSplits> {
  const train = await readLabelledFile(source.train, source);
  if (!source.test && !source.validation) return { ...randomSplits(train, settings), protocol: "file-random" };
  const test = source.test ? await readLabelledFile(source.test, source) : undefined;
  const validation = source.validation ? await readLabelledFile(source.validation, source) : undefined;
  const heldOut = new Set([...(test ?? []), ...(validation ?? [])].map((e) => normaliseForDedup(e.text)));
  const deduped = removeDuplicates(train);
  let rest = deduped.kept.filter((e) => !heldOut.has(normaliseForDedup(e.text)));
  const removed = deduped.removed + deduped.kept.length - rest.length;
  let carvedTest: LabelledExample[] | undefined;
  if (!test) ({ first: rest, second: carvedTest } = stratifiedSplit(rest, 1 - settings.testFraction, settings.seed));
  let carvedValidation: LabelledExample[] | undefined;
  if (!validation) ({ first: rest, second: carvedValidation } = stratifiedSplit(rest, 1 - settings.validationFraction, settings.seed + 1));
  return { train: rest, validation: validation ?? carvedValidation!, test: test ?? carvedTest!, duplicatesRemoved: removed, protocol: "file" };
}
