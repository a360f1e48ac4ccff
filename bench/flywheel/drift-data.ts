import { loadSplits } from "../../training/data/load-splits.js";
import type { LabelledExample } from "../../server/evaluation/example.js";
import { stratifiedSplit } from "../../training/data/split.js";
import { createRng, shuffleInPlace } from "../../training/random.js";

/** `received`: the order the recipient's server got the messages; `shuffled`: a seeded random order of period 2. */
export type ArrivalOrder = "received" | "shuffled";

/** The email corpus's temporal shift, cut for the flywheel. */
export interface DriftData {
  /** Period 1 (the `*-1` folders): what version 1 is trained on, and a golden set it never sees. */
  period1: { train: LabelledExample[]; validation: LabelledExample[]; golden: LabelledExample[] };
  /** Period 2 (the `*-2` folders) in arrival order, cut in halves: the loop runs on the first, the second is held out. */
  period2: { first: LabelledExample[]; second: LabelledExample[] };
  duplicatesRemoved: number;
}

/**
 * Period 1 as 80% train / 10% validation / 10% golden (stratified, seeded); period 2 in arrival order. Duplicate
 * texts are removed across all of it, so nothing the loop is scored on was seen in training.
 */
export async function loadDriftData(seed: number, order: ArrivalOrder): Promise<DriftData> {
  const splits = await loadSplits({ kind: "email", protocol: "temporal" }, { seed, testFraction: 0, validationFraction: 0.1 });
  // The validation split is 10% of period 1; carving 1/9 of the rest makes the golden set another 10%.
  const { first: train, second: golden } = stratifiedSplit(splits.train, 8 / 9, seed + 2);
  const stream = order === "received" ? inArrivalOrder(splits.test) : shuffleInPlace([...splits.test], createRng(seed + 3));
  const half = Math.floor(stream.length / 2);
  return {
    period1: { train, validation: splits.validation, golden },
    period2: { first: stream.slice(0, half), second: stream.slice(half) },
    duplicatesRemoved: splits.duplicatesRemoved,
  };
}

/** Stable sort by arrival time; a message without one keeps its place after those that have one. */
function inArrivalOrder(examples: LabelledExample[]): LabelledExample[] {
  return examples
    .map((example, index) => ({ example, index }))
    .sort((a, b) => (a.example.receivedAt ?? Infinity) - (b.example.receivedAt ?? Infinity) || a.index - b.index)
    .map((x) => x.example);
}
