import type { ThresholdChoice } from "../calibration/threshold.js";
import type { ClassificationReport } from "../evaluation/classification-metrics.js";
import type { ParityReport } from "../export/onnx-parity.js";
import type { FastTextShape } from "../fasttext/model.js";
import type { TrainOptions } from "../fasttext/train.js";

/** What `metrics.json` holds: enough to reproduce the model and to gate the next one against it. */
export interface TrainingMetrics {
  model: { name: string; version: string; labels: string[]; shape: FastTextShape; vocabulary: number; parameters: number };
  data: {
    source: string;
    protocol: string;
    sizes: { train: number; validation: number; test: number };
    duplicatesRemoved: number;
    hashes: { train: string; validation: string; test: string };
  };
  training: Omit<TrainOptions, "onEpoch"> & { epochsRun: number; bestEpoch: number; bestValidationLoss: number; trainSeconds: number; totalSeconds: number };
  calibration: {
    temperature: number;
    validationEce: { before: number; after: number };
    testEce: { before: number; after: number };
  };
  threshold: ThresholdChoice & { test: { keptAccuracy: number; escalationRate: number } };
  test: ClassificationReport;
  onnxParity: ParityReport;
}
