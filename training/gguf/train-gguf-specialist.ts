import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createGgufBackend } from "../../server/backends/gguf/gguf-backend.js";
import { ServingMetrics } from "../../server/metrics/serving-metrics.js";
import { ModelManifest } from "../../server/models/manifest-validation.js";
import { type ModelManifestInput } from "../../server/models/manifest.js";
import { calibrateAndReport } from "../calibration/calibrate-and-report.js";
import type { ThresholdTarget } from "../calibration/threshold.js";
import type { DatasetSplits, LabelledExample } from "../../server/evaluation/example.js";
import { describeSource, loadSplits } from "../data/load-splits.js";
import { calibrateSemanticCache } from "../calibration/semantic-calibration.js";
import { writeModelCard } from "../model-folder/model-card.js";
import { runPythonTrainer, trainingScript } from "../python-trainer.js";
import { trainingLabels, type TrainingRun } from "../training-run.js";
import { dataMetrics, type TrainingMetrics } from "../model-folder/training-metrics.js";
import { writeGguf } from "./gguf-writer.js";
import { llamaMetadata, type LlamaShape } from "./llama-gguf.js";
import { checkGgufParity } from "./gguf-parity.js";
import { readTrainedTensors } from "./llama-weights.js";
import { prepareLlamaData, writeTrainerInput, type LlamaTrainingSettings } from "./prepare-llama-data.js";

export interface TrainGgufOptions extends TrainingRun {
  settings: LlamaTrainingSettings;
  /** Classification prompt template with {{input}}; copied into the model folder. */
  prompt: string;
}

/** Label log-probabilities from llama.cpp through the serving backend: calibrated on what the server computes. */
export async function calibrateGguf(dir: string, manifest: ModelManifest, splits: DatasetSplits, labels: string[], target: ThresholdTarget) {
  const backend = await createGgufBackend({ dir, manifest, metrics: new ServingMetrics({ defaultMetrics: false }), workers: 1, log: () => {} });
  const score = async (examples: LabelledExample[]) => {
    const scored = [];
    for (const e of examples) scored.push({ logits: await backend.labelLogProbabilities(e.text), label: labels.indexOf(e.label) });
    return { scored, examples };
  };
  try {
    return calibrateAndReport(await score(splits.validation), await score(splits.test), labels, target);
  } finally {
    await backend.dispose();
  }
}

export function ggufCardText(metrics: TrainingMetrics): { model: string; exportCheck: string } {
  const shape = metrics.model.shape as LlamaShape;
  const settings = metrics.training as LlamaTrainingSettings;
  const parity = metrics.ggufParity!;
  return {
    model:
      `Llama-architecture transformer (${shape.layers} layers, dimension ${shape.dim}, ${shape.heads} heads, feed-forward ${shape.ffn}, ` +
      `byte-level BPE vocabulary of ${shape.vocab}), ${metrics.model.parameters.toLocaleString("en-US")} parameters, F32 GGUF served by llama.cpp. ` +
      `The label is the model's next token after the prompt in \`prompts/classify.txt\`; inputs are truncated to ${settings.maxInputTokens} tokens.`,
    exportCheck:
      `GGUF checked against the TypeScript reference forward pass on ${parity.samples} prompts: next-token probabilities over the whole vocabulary, ` +
      `max |Δp| ${parity.maxAbsDifference.toExponential(2)} (tolerance ${parity.tolerance}), max |Δ log p| ${parity.maxScaledDifference.toExponential(2)} where p ≥ 0.1%.`,
  };
}

export const DEFAULT_GGUF_SETTINGS: LlamaTrainingSettings = {
  vocabularySize: 4096,
  dim: 64,
  layers: 2,
  heads: 4,
  ffn: 192,
  context: 512,
  maxInputTokens: 256,
  maxChars: 100_000,
  epochs: 3,
  batchSize: 16,
  learningRate: 3e-3,
  weightDecay: 0.01,
  seed: 1,
  threads: 2,
};

const TRAINER = trainingScript("gguf/train_llama.py");

/**
 * Data → byte-level BPE → tokens by llama.cpp → a small llama trained in PyTorch → GGUF by our writer (checked
 * against the TypeScript reference forward pass) → calibrated through the serving backend → a model folder.
 */
export async function trainGgufSpecialist(options: TrainGgufOptions): Promise<TrainingMetrics> {
  const progress = options.onProgress ?? (() => {});
  const started = performance.now();
  const { settings } = options;
  progress({ stage: "data" });
  const splits = await loadSplits(options.data, { seed: settings.seed, testFraction: options.testFraction, validationFraction: options.validationFraction });
  const labels = trainingLabels(splits);
  const scratch = await mkdtemp(join(tmpdir(), "train-gguf-"));
  try {
    progress({ stage: "tokenizer" });
    const data = await prepareLlamaData(splits, labels, options.prompt, settings, join(scratch, "tokenizer.gguf"));
    await writeTrainerInput(join(scratch, "input.json"), data, settings);

    progress({ stage: "train", epoch: 0, epochs: settings.epochs });
    const trainStarted = performance.now();
    const lines = await runPythonTrainer(options.python, TRAINER, [join(scratch, "input.json"), join(scratch, "weights.bin")], (line) =>
      progress({ stage: "train", epoch: line.epoch, epochs: settings.epochs, detail: `val loss ${line.validationLoss?.toFixed(4)} acc ${((line.validationAccuracy ?? 0) * 100).toFixed(2)}%` }),
    );
    const trainSeconds = (performance.now() - trainStarted) / 1000;
    const epochs = lines.filter((l) => l.epoch);
    const best = epochs.reduce((a, b) => ((b.validationLoss ?? Infinity) < (a.validationLoss ?? Infinity) ? b : a), epochs[0]!);

    progress({ stage: "export" });
    await mkdir(join(options.output, "prompts"), { recursive: true });
    const tensors = await readTrainedTensors(join(scratch, "weights.bin"), data.shape);
    await writeGguf(join(options.output, "model.gguf"), llamaMetadata(data.shape, options.name, data.bpe), tensors);
    await copyFile(options.prompt, join(options.output, "prompts", "classify.txt"));
    const semantic = calibrateSemanticCache([...splits.train, ...splits.validation], 0.005, `${describeSource(options.data)} train+validation splits (seed ${settings.seed})`);
    const manifestInput = (temperature: number, threshold: number): ModelManifestInput => ({
      name: options.name,
      version: options.version,
      format: "gguf",
      task: "text-classification",
      description: options.description,
      labels,
      artifacts: { model: "model.gguf", tokenizer: "." },
      limits: { maxTokens: settings.maxInputTokens, maxChars: settings.maxChars, maxInputsPerRequest: 256 },
      batching: { maxQueueSize: 4096 },
      calibration: { temperature },
      threshold,
      escalation: { onLowConfidence: "escalate" },
      device: "auto",
      gguf: { prompt: "prompts/classify.txt", contextSize: settings.context, sequences: 4, threads: "auto", gpuLayers: "auto" },
      ...(semantic.block ? { semanticCache: semantic.block } : {}),
    });
    const parity = await checkGgufParity(join(options.output, "model.gguf"), data.shape, tensors, data.splits.test.slice(0, 3).map(([ids]) => ids));

    progress({ stage: "calibrate" });
    const quality = await calibrateGguf(options.output, ModelManifest.parse(manifestInput(1, 0.5)), splits, labels, options.thresholdTarget);
    const manifest = ModelManifest.parse(manifestInput(quality.calibration.temperature, quality.threshold.threshold));
    await writeFile(join(options.output, "model.json"), JSON.stringify(manifestInput(quality.calibration.temperature, quality.threshold.threshold), null, 2) + "\n");

    const parameters = tensors.reduce((sum, t) => sum + t.data.length, 0);
    const metrics: TrainingMetrics = {
      model: { name: options.name, version: options.version, labels, shape: data.shape, vocabulary: data.shape.vocab, parameters },
      data: dataMetrics(options.data, splits),
      training: { ...settings, epochsRun: epochs.length, bestEpoch: best.epoch ?? 0, bestValidationLoss: best.validationLoss ?? NaN, trainSeconds, totalSeconds: 0 },
      ...quality,
      ggufParity: parity,
    };
    metrics.training.totalSeconds = (performance.now() - started) / 1000;
    await writeFile(join(options.output, "metrics.json"), JSON.stringify(metrics, null, 2) + "\n");
    await writeModelCard(options.output, manifest, metrics, ggufCardText(metrics));
    return metrics;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
