import { createRng, shuffleInPlace } from "../random.js";
import type { DatasetSplits, LabelledExample } from "../../server/evaluation/example.js";

/** Case and white space do not make a different message. */
export function normaliseForDedup(text: string): string {
  return text.toLowerCase().replace(/\s+/g, " ").trim();
}

/** Keeps the first of each group of examples with the same normalised text, so no copy can sit on both sides of a split. */
export function removeDuplicates(examples: LabelledExample[]): { kept: LabelledExample[]; removed: number } {
  const seen = new Set<string>();
  const kept: LabelledExample[] = [];
  for (const example of examples) {
    const key = normaliseForDedup(example.text);
    if (seen.has(key)) continue;
    seen.add(key);
    kept.push(example);
  }
  return { kept, removed: examples.length - kept.length };
}

/** Splits each label's examples by the same fraction, after a seeded shuffle, so class balance is kept on both sides. */
export function stratifiedSplit(
  examples: LabelledExample[],
  fraction: number,
  seed: number,
): { first: LabelledExample[]; second: LabelledExample[] } {
  const rng = createRng(seed);
  const byLabel = new Map<string, LabelledExample[]>();
  for (const example of examples) {
    const list = byLabel.get(example.label) ?? [];
    list.push(example);
    byLabel.set(example.label, list);
  }
  const first: LabelledExample[] = [];
  const second: LabelledExample[] = [];
  for (const label of [...byLabel.keys()].sort()) {
    const list = shuffleInPlace([...byLabel.get(label)!], rng);
    const cut = Math.round(list.length * fraction);
    first.push(...list.slice(0, cut));
    second.push(...list.slice(cut));
  }
  return { first: shuffleInPlace(first, rng), second: shuffleInPlace(second, rng) };
}

export interface SplitOptions {
  seed: number;
  testFraction: number;
  validationFraction: number;
}

/** `random`: stratified train/test split of all examples, then validation carved from train. */
export function randomSplits(examples: LabelledExample[], options: SplitOptions): DatasetSplits {
  const { kept, removed } = removeDuplicates(examples);
  const { first: rest, second: test } = stratifiedSplit(kept, 1 - options.testFraction, options.seed);
  const { first: train, second: validation } = stratifiedSplit(rest, 1 - options.validationFraction, options.seed + 1);
  return { train, validation, test, duplicatesRemoved: removed, protocol: "random" };
}

/** `temporal`: train on the examples `isEarly` accepts, test on the rest; a real distribution shift. */
export function temporalSplits(
  examples: LabelledExample[],
  isEarly: (example: LabelledExample) => boolean,
  options: Omit<SplitOptions, "testFraction">,
): DatasetSplits {
  const { kept, removed } = removeDuplicates(examples);
  const early = kept.filter(isEarly);
  const test = kept.filter((example) => !isEarly(example));
  const { first: train, second: validation } = stratifiedSplit(early, 1 - options.validationFraction, options.seed + 1);
  return { train, validation, test, duplicatesRemoved: removed, protocol: "temporal" };
}
