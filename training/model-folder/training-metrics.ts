import type { ThresholdChoice } from "../calibration/threshold.js";
import { hashExamples } from "../data/hash.js";
import { describeSource, type DataSource } from "../data/load-splits.js";
import type { DatasetSplits } from "../../server/evaluation/example.js";
import type { DriftReference } from "../../server/monitoring/drift-statistics.js";
import type { ClassificationReport } from "../../server/evaluation/classification-metrics.js";
import type { ParityReport } from "../export/onnx-parity.js";
import type { FastTextShape } from "../fasttext/model.js";
import type { TrainOptions } from "../fasttext/train.js";
import type { LlamaShape } from "../gguf/llama-gguf.js";
import type { LlamaTrainingSettings } from "../gguf/prepare-llama-data.js";
import type { BertShape, BertTrainingSettings } from "../bert/bert-settings.js";

/** What `metrics.json` holds: enough to reproduce the model and to gate the next one against it. */
export interface TrainingMetrics {
  model: { name: string; version: string; labels: string[]; shape: FastTextShape | LlamaShape | BertShape; vocabulary: number; parameters: number };
  data: {
    source: string;
    protocol: string;
    sizes: { train: number; validation: number; test: number };
    duplicatesRemoved: number;
    hashes: { train: string; validation: string; test: string };
  };
  training: (Omit<TrainOptions, "onEpoch"> | LlamaTrainingSettings | BertTrainingSettings) & { seed: number; epochsRun: number; bestEpoch: number; bestValidationLoss: number; trainSeconds: number; totalSeconds: number };
  calibration: {
    temperature: number;
    validationEce: { before: number; after: number };
    testEce: { before: number; after: number };
  };
  threshold: ThresholdChoice & { test: { keptAccuracy: number; escalationRate: number } };
  test: ClassificationReport;
  /** What serving compares live answers with (drift): the validation split's predicted labels and confidences. */
  reference?: DriftReference;
  /** ONNX models: the exported graph against the model as trained (TypeScript or PyTorch), through ONNX Runtime. */
  onnxParity?: ParityReport;
  /** GGUF models: llama.cpp's logits against the TypeScript reference forward pass. */
  ggufParity?: ParityReport;
}

/** metrics.json's `data`: where the examples came from, how they were split, and hashes to tell the splits again. */
export function dataMetrics(source: DataSource, splits: DatasetSplits): TrainingMetrics["data"] {
  return {
    source: describeSource(source),
    protocol: splits.protocol,
    sizes: { train: splits.train.length, validation: splits.validation.length, test: splits.test.length },
    duplicatesRemoved: splits.duplicatesRemoved,
    hashes: { train: hashExamples(splits.train), validation: hashExamples(splits.validation), test: hashExamples(splits.test) },
  };
}
