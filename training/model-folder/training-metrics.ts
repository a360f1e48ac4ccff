import type { ThresholdChoice } from "../calibration/threshold.js";
import type { DriftReference } from "../../server/monitoring/drift-statistics.js";
import type { ClassificationReport } from "../../server/evaluation/classification-metrics.js";
import type { ParityReport } from "../export/onnx-parity.js";
import type { FastTextShape } from "../fasttext/model.js";
import type { TrainOptions } from "../fasttext/train.js";
import type { LlamaShape } from "../gguf/llama-gguf.js";
import type { LlamaTrainingSettings } from "../gguf/prepare-llama-data.js";

/** What `metrics.json` holds: enough to reproduce the model and to gate the next one against it. */
export interface TrainingMetrics {
  model: { name: string; version: string; labels: string[]; shape: FastTextShape | LlamaShape; vocabulary: number; parameters: number };
  data: {
    source: string;
    protocol: string;
    sizes: { train: number; validation: number; test: number };
    duplicatesRemoved: number;
    hashes: { train: string; validation: string; test: string };
  };
  training: (Omit<TrainOptions, "onEpoch"> | LlamaTrainingSettings) & { seed: number; epochsRun: number; bestEpoch: number; bestValidationLoss: number; trainSeconds: number; totalSeconds: number };
  calibration: {
    temperature: number;
    validationEce: { before: number; after: number };
    testEce: { before: number; after: number };
  };
  threshold: ThresholdChoice & { test: { keptAccuracy: number; escalationRate: number } };
  test: ClassificationReport;
  /** What serving compares live answers with (drift): the validation split's predicted labels and confidences. */
  reference?: DriftReference;
  /** ONNX models: the exported graph against the TypeScript model, through ONNX Runtime. */
  onnxParity?: ParityReport;
  /** GGUF models: llama.cpp's logits against the TypeScript reference forward pass. */
  ggufParity?: ParityReport;
}
