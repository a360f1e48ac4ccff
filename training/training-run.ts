import type { DatasetSplits } from "../server/evaluation/example.js";
import type { ThresholdTarget } from "./calibration/threshold.js";
import type { DataSource } from "./data/load-splits.js";

/** What every PyTorch-trained specialist is asked for: the folder to write, the data, the threshold's target. */
export interface TrainingRun {
  output: string;
  name: string;
  version: string;
  description: string;
  data: DataSource;
  testFraction: number;
  validationFraction: number;
  thresholdTarget: ThresholdTarget;
  /** Debian's Python with python3-torch. */
  python: string;
  onProgress?: (event: { stage: string; epoch?: number; epochs?: number; detail?: string }) => void;
}

/** The labels the training split has, sorted (their order is the model's output order); at least two. */
export function trainingLabels(splits: DatasetSplits): string[] {
  const labels = [...new Set(splits.train.map((e) => e.label))].sort();
  if (labels.length < 2) throw new Error(`training data has ${labels.length} label(s); at least two are needed`);
  return labels;
}
