import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { encodeBatch } from "../../server/backends/onnx/encode-batch.js";
import { OnnxTextModel } from "../../server/backends/onnx/onnx-text-model.js";
import type { LabelledExample } from "../../server/evaluation/example.js";
import type { ModelManifestInput } from "../../server/models/manifest.js";
import { ModelManifest } from "../../server/models/manifest-validation.js";
import { calibrateAndReport } from "../calibration/calibrate-and-report.js";
import { calibrateSemanticCache } from "../calibration/semantic-calibration.js";
import { describeSource, loadSplits } from "../data/load-splits.js";
import { logitParity, type ParityReport } from "../export/onnx-parity.js";
import { writeModelCard } from "../model-folder/model-card.js";
import { copyFrontierPrompt, FRONTIER_PROMPT_FILE } from "../model-folder/frontier-prompt-file.js";
import { dataMetrics, type TrainingMetrics } from "../model-folder/training-metrics.js";
import { runPythonTrainer, trainingScript } from "../python-trainer.js";
import { trainingLabels, type TrainingRun } from "../training-run.js";
import { learnHfTokenizer } from "../tokenizer/hf-tokenizer-files.js";
import type { BertShape, BertTrainingSettings } from "./bert-settings.js";

export interface TrainBertOptions extends TrainingRun {
  settings: BertTrainingSettings;
  /** Template for escalations to the frontier (`{{labels}}`, `{{input}}`), copied into the model folder. */
  frontierPrompt?: string;
}

const TRAINER = trainingScript("bert/train_bert.py");
/** Test inputs PyTorch scores for the export check. */
const CHECKED = 16;
/**
 * |Δlogit| ≤ tol · (1 + |logit|) between PyTorch and ONNX Runtime: both float32, through four layers of
 * LayerNorm and softmax in different orders; an export that is wrong is off by whole units.
 */
const BERT_PARITY_TOLERANCE = 1e-3;

/** Logits of each text from ONNX Runtime through the serving code, in batches as the server sends them. */
async function onnxLogits(model: OnnxTextModel, texts: string[], classes: number): Promise<number[][]> {
  const rows: number[][] = [];
  for (let at = 0; at < texts.length; at += 32) {
    const { values } = await model.run(texts.slice(at, at + 32));
    for (let b = 0; b * classes < values.length; b++) rows.push(Array.from(values.slice(b * classes, (b + 1) * classes)));
  }
  return rows;
}

/** config.json as transformers writes it for a BertForSequenceClassification: what optimum's loaders read. */
function hfConfig(shape: BertShape, labels: string[]) {
  return {
    architectures: ["BertForSequenceClassification"],
    model_type: "bert",
    vocab_size: shape.vocab,
    hidden_size: shape.hidden,
    num_hidden_layers: shape.layers,
    num_attention_heads: shape.heads,
    intermediate_size: shape.intermediate,
    hidden_act: "gelu",
    max_position_embeddings: shape.positions,
    type_vocab_size: 2,
    layer_norm_eps: 1e-12,
    hidden_dropout_prob: shape.dropout,
    attention_probs_dropout_prob: shape.dropout,
    pad_token_id: 0,
    problem_type: "single_label_classification",
    id2label: Object.fromEntries(labels.map((label, i) => [String(i), label])),
    label2id: Object.fromEntries(labels.map((label, i) => [label, i])),
  };
}

/**
 * Data → WordPiece vocabulary and tokenizer files → token ids as the server encodes them → a BERT-style encoder
 * trained from scratch in PyTorch → ONNX in optimum's layout (checked against PyTorch through ONNX Runtime) →
 * temperature and threshold on validation logits from ONNX Runtime → a model folder served like any optimum export.
 */
export async function trainBertSpecialist(options: TrainBertOptions): Promise<TrainingMetrics> {
  const progress = options.onProgress ?? (() => {});
  const started = performance.now();
  const { settings } = options;
  progress({ stage: "data" });
  const splits = await loadSplits(options.data, { seed: settings.seed, testFraction: options.testFraction, validationFraction: options.validationFraction });
  const labels = trainingLabels(splits);

  progress({ stage: "tokenizer" });
  const { vocabulary, tokenizer } = await learnHfTokenizer(
    options.output,
    splits.train.map((e) => e.text),
    { maxSize: settings.vocabularySize, minDocuments: settings.minDocuments, maxTokens: settings.maxTokens },
  );
  const limits = { maxTokens: settings.maxTokens, maxChars: settings.maxChars };
  const ids = (text: string) => Array.from(encodeBatch(tokenizer, [text], limits).inputIds, Number);
  const encode = (examples: LabelledExample[]) => examples.map((e) => [ids(e.text), labels.indexOf(e.label)] as const);
  const shape: BertShape = { vocab: vocabulary.length, hidden: settings.hidden, layers: settings.layers, heads: settings.heads, intermediate: settings.intermediate, positions: settings.maxTokens, dropout: settings.dropout };
  const checked = splits.test.slice(0, CHECKED).map((e) => e.text);

  const scratch = await mkdtemp(join(tmpdir(), "train-bert-"));
  try {
    await writeFile(
      join(scratch, "input.json"),
      JSON.stringify({
        shape,
        labels,
        training: { epochs: settings.epochs, patience: settings.patience, batchSize: settings.batchSize, learningRate: settings.learningRate, weightDecay: settings.weightDecay, seed: settings.seed, threads: settings.threads },
        train: encode(splits.train),
        validation: encode(splits.validation),
        check: checked.map(ids),
      }),
    );
    progress({ stage: "train", epoch: 0, epochs: settings.epochs });
    const trainStarted = performance.now();
    const lines = await runPythonTrainer(options.python, TRAINER, [join(scratch, "input.json"), scratch], (line) =>
      progress({ stage: "train", epoch: line.epoch, epochs: settings.epochs, detail: `val loss ${line.validationLoss?.toFixed(4)} acc ${((line.validationAccuracy ?? 0) * 100).toFixed(2)}%` }),
    );
    const trainSeconds = (performance.now() - trainStarted) / 1000;
    const epochs = lines.filter((l) => l.epoch);
    const best = epochs.reduce((a, b) => ((b.validationLoss ?? Infinity) < (a.validationLoss ?? Infinity) ? b : a), epochs[0]!);
    const parameters = lines.find((l) => l.done)?.parameters ?? 0;

    progress({ stage: "export" });
    await copyFile(join(scratch, "model.onnx"), join(options.output, "model.onnx"));
    await writeFile(join(options.output, "config.json"), JSON.stringify(hfConfig(shape, labels), null, 2) + "\n");
    if (options.frontierPrompt) await copyFrontierPrompt(options.output, options.frontierPrompt, labels);
    const semantic = calibrateSemanticCache([...splits.train, ...splits.validation], 0.005, `${describeSource(options.data)} train+validation splits (seed ${settings.seed})`);
    const manifestInput = (temperature: number, threshold: number): ModelManifestInput => ({
      name: options.name,
      version: options.version,
      format: "onnx",
      task: "text-classification",
      description: options.description,
      labels,
      artifacts: { model: "model.onnx", tokenizer: "." },
      onnx: { outputName: "logits" },
      limits: { maxTokens: settings.maxTokens, maxChars: settings.maxChars, maxInputsPerRequest: 256 },
      batching: { maxBatchSize: 32, maxQueueDelayMs: 0, maxQueueSize: 4096, workers: "auto", intraOpThreads: 1 },
      calibration: { temperature },
      threshold,
      escalation: { onLowConfidence: "escalate", ...(options.frontierPrompt ? { prompt: FRONTIER_PROMPT_FILE } : {}) },
      device: "auto",
      ...(semantic.block ? { semanticCache: semantic.block } : {}),
    });

    progress({ stage: "calibrate" });
    // Calibrated on what serving computes: ONNX Runtime through the server's own tokenizer and batching code.
    const model = await OnnxTextModel.load(options.output, ModelManifest.parse({ ...manifestInput(1, 0.5), device: "cpu" }), { device: "cpu", intraOpThreads: settings.threads });
    let exportCheck: ParityReport;
    let quality: ReturnType<typeof calibrateAndReport>;
    try {
      const reference = JSON.parse(await readFile(join(scratch, "reference.json"), "utf8")) as number[][];
      exportCheck = logitParity(reference, await onnxLogits(model, checked, labels.length), BERT_PARITY_TOLERANCE, "PyTorch");
      const scored = async (examples: LabelledExample[]) => {
        const logits = await onnxLogits(model, examples.map((e) => e.text), labels.length);
        return { scored: logits.map((z, i) => ({ logits: z, label: labels.indexOf(examples[i]!.label) })), examples };
      };
      quality = calibrateAndReport(await scored(splits.validation), await scored(splits.test), labels, options.thresholdTarget);
    } finally {
      await model.dispose();
    }
    const input = manifestInput(quality.calibration.temperature, quality.threshold.threshold);
    const manifest = ModelManifest.parse(input);
    await writeFile(join(options.output, "model.json"), JSON.stringify(input, null, 2) + "\n");

    const metrics: TrainingMetrics = {
      model: { name: options.name, version: options.version, labels, shape, vocabulary: vocabulary.length, parameters },
      data: dataMetrics(options.data, splits),
      training: { ...settings, epochsRun: epochs.length, bestEpoch: best.epoch ?? 0, bestValidationLoss: best.validationLoss ?? NaN, trainSeconds, totalSeconds: 0 },
      ...quality,
      onnxParity: exportCheck,
    };
    metrics.training.totalSeconds = (performance.now() - started) / 1000;
    await writeFile(join(options.output, "metrics.json"), JSON.stringify(metrics, null, 2) + "\n");
    await writeModelCard(options.output, manifest, metrics, {
      model:
        `BERT-style encoder trained from scratch (${shape.layers} layers, width ${shape.hidden}, ${shape.heads} heads, feed-forward ${shape.intermediate}, ` +
        `WordPiece vocabulary of ${shape.vocab}), ${parameters.toLocaleString("en-US")} parameters, float32 ONNX in Hugging Face optimum's layout ` +
        `(config.json with id2label, input_ids / attention_mask / token_type_ids → logits). Inputs are truncated to ${settings.maxTokens} tokens.`,
      exportCheck:
        `ONNX export checked against PyTorch through ONNX Runtime on ${exportCheck.samples} test inputs: max |Δlogit| ${exportCheck.maxAbsDifference.toExponential(2)}, ` +
        `max |Δ|/(1+|logit|) ${exportCheck.maxScaledDifference.toExponential(2)} (tolerance ${exportCheck.tolerance}).`,
    });
    return metrics;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
