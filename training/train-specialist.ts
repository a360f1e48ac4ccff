import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { ModelManifestInput } from "../server/models/manifest.js";
import { ModelManifest } from "../server/models/manifest-validation.js";
import { calibrateAndReport } from "./calibration/calibrate-and-report.js";
import type { ThresholdTarget } from "./calibration/threshold.js";
import { calibrateSemanticCache } from "./calibration/semantic-calibration.js";
import { describeSource, loadSplits, type DataSource } from "./data/load-splits.js";
import { fastTextToOnnx } from "./export/fasttext-onnx.js";
import { checkOnnxParity, type ParityReport } from "./export/onnx-parity.js";
import { featurize } from "./fasttext/featurize.js";
import { DEFAULT_HASH_MULTIPLIER, logitsOf, type FastTextModel, type FastTextShape } from "./fasttext/model.js";
import { trainFastText, type TrainOptions, type TrainingExample } from "./fasttext/train.js";
import { writeModelCard } from "./model-folder/model-card.js";
import { copyFrontierPrompt, FRONTIER_PROMPT_FILE } from "./model-folder/frontier-prompt-file.js";
import { dataMetrics, type TrainingMetrics } from "./model-folder/training-metrics.js";
import { learnHfTokenizer } from "./tokenizer/hf-tokenizer-files.js";
import { trainingLabels } from "./training-run.js";

export interface TrainSpecialistOptions {
  output: string;
  name: string;
  version: string;
  description: string;
  data: DataSource;
  seed: number;
  testFraction: number;
  validationFraction: number;
  vocabularySize: number;
  minDocuments: number;
  buckets: number;
  dim: number;
  pooling: FastTextShape["pooling"];
  maxTokens: number;
  training: Omit<TrainOptions, "seed" | "onEpoch">;
  thresholdTarget: ThresholdTarget;
  /** Template for escalations to the frontier (`{{labels}}`, `{{input}}`), copied into the model folder. */
  frontierPrompt?: string;
  onProgress?: (event: { stage: string; epoch?: number; epochs?: number; detail?: string }) => void;
}

export const DEFAULT_TRAIN_OPTIONS = {
  seed: 1,
  testFraction: 0.2,
  validationFraction: 0.1,
  vocabularySize: 20_000,
  minDocuments: 2,
  buckets: 65_536,
  dim: 16,
  pooling: "sqrt",
  // Long emails carry their evidence late: 512 → 2048 tokens measured +0.3 points of accuracy (5 seeds).
  maxTokens: 2048,
  training: { epochs: 30, batchSize: 32, learningRate: 0.01, patience: 4, weightDecay: 0, classWeights: "none" },
  // At 99.5% a few hundred near-perfect validation items often set the threshold to 0 (nothing escalates).
  thresholdTarget: { kind: "kept-accuracy", value: 0.998 },
} as const satisfies Partial<TrainSpecialistOptions>;

const MAX_CHARS = 100_000;

function scoreAll(model: FastTextModel, examples: TrainingExample[]) {
  return examples.map((e) => ({ logits: logitsOf(model, e.rows), label: e.label }));
}

/** Data → vocabulary → fastText → temperature → threshold → ONNX (checked against ORT) → a model folder. */
export async function trainSpecialist(options: TrainSpecialistOptions): Promise<TrainingMetrics> {
  const progress = options.onProgress ?? (() => {});
  const started = performance.now();
  progress({ stage: "data" });
  const splits = await loadSplits(options.data, options);
  const labels = trainingLabels(splits);

  progress({ stage: "tokenizer" });
  const { vocabulary, tokenizer } = await learnHfTokenizer(
    options.output,
    splits.train.map((e) => e.text),
    { maxSize: options.vocabularySize, minDocuments: options.minDocuments, maxTokens: options.maxTokens },
  );
  const shape: FastTextShape = {
    vocabSize: vocabulary.length,
    buckets: options.buckets,
    dim: options.dim,
    classes: labels.length,
    hashMultiplier: DEFAULT_HASH_MULTIPLIER,
    pooling: options.pooling,
  };
  const limits = { maxTokens: options.maxTokens, maxChars: MAX_CHARS };
  const train = featurize(tokenizer, splits.train, labels, shape, limits);
  const validation = featurize(tokenizer, splits.validation, labels, shape, limits);
  const test = featurize(tokenizer, splits.test, labels, shape, limits);

  const trainStarted = performance.now();
  const result = trainFastText(shape, train, validation, {
    ...options.training,
    seed: options.seed,
    onEpoch: (p) => progress({ stage: "train", epoch: p.epoch, epochs: options.training.epochs, detail: `loss ${p.trainLoss.toFixed(4)} val ${p.validationLoss.toFixed(4)}` }),
  });
  const trainSeconds = (performance.now() - trainStarted) / 1000;

  progress({ stage: "calibrate" });
  const quality = calibrateAndReport(
    { scored: scoreAll(result.model, validation), examples: splits.validation },
    { scored: scoreAll(result.model, test), examples: splits.test },
    labels,
    options.thresholdTarget,
  );
  const temperature = quality.calibration.temperature;
  const threshold = quality.threshold;
  // Chosen where the escalation threshold is: on data the test split never joins.
  const semantic = calibrateSemanticCache([...splits.train, ...splits.validation], 0.005, `${describeSource(options.data)} train+validation splits (seed ${options.seed})`);

  const manifestInput: ModelManifestInput = {
    name: options.name,
    version: options.version,
    format: "onnx",
    task: "text-classification",
    description: options.description,
    labels,
    artifacts: { model: "model.onnx", tokenizer: "." },
    onnx: { outputName: "logits" },
    limits: { maxTokens: options.maxTokens, maxChars: MAX_CHARS, maxInputsPerRequest: 256 },
    batching: { maxBatchSize: 32, maxQueueDelayMs: 0, maxQueueSize: 4096, workers: "auto", intraOpThreads: 1 },
    calibration: { temperature },
    threshold: threshold.threshold,
    escalation: { onLowConfidence: "escalate", ...(options.frontierPrompt ? { prompt: FRONTIER_PROMPT_FILE } : {}) },
    device: "auto",
    ...(semantic.block ? { semanticCache: semantic.block } : {}),
  };
  if (options.frontierPrompt) await copyFrontierPrompt(options.output, options.frontierPrompt, labels);
  const manifest = ModelManifest.parse(manifestInput);
  await writeFile(join(options.output, "model.onnx"), fastTextToOnnx(result.model));
  await writeFile(join(options.output, "model.json"), JSON.stringify(manifestInput, null, 2) + "\n");
  const parity: ParityReport = await checkOnnxParity(options.output, manifest, result.model, splits.test.slice(0, 64).map((e) => e.text), tokenizer, shape, limits);

  const metrics: TrainingMetrics = {
    model: { name: options.name, version: options.version, labels, shape, vocabulary: vocabulary.length, parameters: result.model.embeddings.length + result.model.weights.length + result.model.bias.length },
    data: dataMetrics(options.data, splits),
    training: { ...options.training, seed: options.seed, epochsRun: result.epochsRun, bestEpoch: result.bestEpoch, bestValidationLoss: result.bestValidationLoss, trainSeconds, totalSeconds: 0 },
    calibration: quality.calibration,
    threshold: quality.threshold,
    test: quality.test,
    reference: quality.reference,
    onnxParity: parity,
  };
  metrics.training.totalSeconds = (performance.now() - started) / 1000;
  await writeFile(join(options.output, "metrics.json"), JSON.stringify(metrics, null, 2) + "\n");
  await writeModelCard(options.output, manifest, metrics, {
    model:
      `fastText-style classifier (embedding bag over WordPiece word tokens and hashed bigrams, ${shape.pooling === "sqrt" ? "sum / √n" : "mean"} pooling, one linear layer), ` +
      `vocabulary ${vocabulary.length}, ${shape.buckets} bigram buckets, dimension ${shape.dim}, ${metrics.model.parameters.toLocaleString("en-US")} parameters. ` +
      `Labels: ${manifest.labels.join(", ")}. Inputs are truncated to ${manifest.limits.maxTokens} tokens.`,
    exportCheck: `ONNX export checked against the TypeScript model on ${parity.samples} inputs: max |Δlogit| ${parity.maxAbsDifference.toExponential(2)}, max |Δ|/(1+|logit|) ${parity.maxScaledDifference.toExponential(2)} (tolerance ${parity.tolerance}).`,
  });
  return metrics;
}
