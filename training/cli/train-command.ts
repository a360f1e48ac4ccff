import { resolve } from "node:path";
import cliProgress from "cli-progress";
import { InvalidArgumentError, type Command } from "commander";
import type { DataSource } from "../data/load-splits.js";
import { DEFAULT_TRAIN_OPTIONS, trainSpecialist } from "../train-specialist.js";
import type { ThresholdTarget } from "../calibration/threshold.js";

interface TrainFlags {
  name: string;
  version: string;
  output?: string;
  corpus?: string;
  data?: string;
  testData?: string;
  textField: string;
  labelField: string;
  frontierPrompt?: string;
  categoryField?: string;
  seed: number;
  validationFraction: number;
  dim: number;
  buckets: number;
  vocabulary: number;
  maxTokens: number;
  epochs: number;
  learningRate: number;
  pooling: "mean" | "sqrt";
  classWeights: "none" | "balanced";
  targetAccuracy?: number;
  maxEscalation?: number;
  description?: string;
  progress: boolean;
}

const int = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError("must be an integer");
  return n;
};
const num = (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new InvalidArgumentError("must be a number");
  return n;
};
const fraction = (value: string) => {
  const n = num(value);
  if (n <= 0 || n > 1) throw new InvalidArgumentError("must be in (0, 1]");
  return n;
};

function dataSource(flags: TrainFlags): DataSource {
  if (flags.data && flags.corpus) throw new InvalidArgumentError("give either --data or --corpus, not both");
  if (flags.data) {
    return {
      kind: "file",
      train: flags.data,
      ...(flags.testData ? { test: flags.testData } : {}),
      textField: flags.textField,
      labelField: flags.labelField,
      ...(flags.categoryField ? { categoryField: flags.categoryField } : {}),
    };
  }
  const corpus = flags.corpus ?? "email:random";
  const match = /^email:(random|temporal)$/.exec(corpus);
  if (!match) throw new InvalidArgumentError(`--corpus must be email:random or email:temporal (got '${corpus}')`);
  return { kind: "email", protocol: match[1] as "random" | "temporal" };
}

type ProgressEvent = Parameters<NonNullable<Parameters<typeof trainSpecialist>[0]["onProgress"]>>[0];

/** A bar for the epochs on a terminal, one line per stage otherwise; nothing with --no-progress. */
function progressReporter(enabled: boolean): { update: (event: ProgressEvent) => void; stop: () => void } {
  if (!enabled) return { update: () => {}, stop: () => {} };
  const bar = process.stderr.isTTY
    ? new cliProgress.SingleBar({ format: "train [{bar}] epoch {value}/{total} {detail}", stream: process.stderr }, cliProgress.Presets.shades_classic)
    : undefined;
  let barStarted = false;
  const stop = () => {
    if (barStarted) bar?.stop();
    barStarted = false;
  };
  return {
    update: (event) => {
      if (event.stage !== "train") {
        stop();
        console.error(`${event.stage}…`);
      } else if (bar) {
        if (!barStarted) bar.start(event.epochs ?? 0, 0, { detail: "" });
        barStarted = true;
        bar.update(event.epoch ?? 0, { detail: event.detail ?? "" });
      } else {
        console.error(`epoch ${event.epoch}/${event.epochs} ${event.detail ?? ""}`);
      }
    },
    stop,
  };
}

export function registerTrain(program: Command): void {
  program
    .command("train")
    .description("Train a calibrated text-classification specialist and write it as a model folder (ONNX + tokenizer + manifest + card).")
    .requiredOption("-n, --name <name>", "model name (folder name unless --output is given)")
    .option("--version <version>", "model version written to the manifest", "1")
    .option("-o, --output <dir>", "model folder to write (default: models/<name>)")
    .option("--corpus <protocol>", "built-in data: email:random (stratified 80/20) or email:temporal (train *-1, test *-2)")
    .option("--data <file>", "labelled JSONL or CSV file (instead of --corpus)")
    .option("--test-data <file>", "separate labelled test file (default: 20% of --data)")
    .option("--text-field <name>", "text field in --data", "text")
    .option("--label-field <name>", "label field in --data", "label")
    .option("--category-field <name>", "optional field for per-category scores")
    .option("--seed <n>", "seed for splits, initialisation and shuffling", int, DEFAULT_TRAIN_OPTIONS.seed)
    .option("--validation-fraction <x>", "share of the training split held out for early stopping, calibration and the threshold", fraction, DEFAULT_TRAIN_OPTIONS.validationFraction)
    .option("--dim <n>", "embedding dimension", int, DEFAULT_TRAIN_OPTIONS.dim)
    .option("--buckets <n>", "hashed bigram buckets", int, DEFAULT_TRAIN_OPTIONS.buckets)
    .option("--vocabulary <n>", "largest vocabulary (special tokens included)", int, DEFAULT_TRAIN_OPTIONS.vocabularySize)
    .option("--max-tokens <n>", "tokens per input; longer inputs are truncated", int, DEFAULT_TRAIN_OPTIONS.maxTokens)
    .option("--epochs <n>", "most epochs (early stopping on validation loss)", int, DEFAULT_TRAIN_OPTIONS.training.epochs)
    .option("--learning-rate <x>", "Adam learning rate", num, DEFAULT_TRAIN_OPTIONS.training.learningRate)
    .option("--pooling <kind>", "mean (fastText) or sqrt (sum/√n)", DEFAULT_TRAIN_OPTIONS.pooling)
    .option("--class-weights <kind>", "none or balanced", DEFAULT_TRAIN_OPTIONS.training.classWeights)
    .option("--target-accuracy <x>", "choose the threshold so kept items reach this validation accuracy (default 0.998)", fraction)
    .option("--max-escalation <x>", "choose the threshold so at most this share is escalated", fraction)
    .option("--frontier-prompt <file>", "prompt template for escalations ({{labels}}, {{input}}), copied into the model folder")
    .option("--description <text>", "one line for the manifest and card")
    .option("--no-progress", "no progress bar")
    .action(async (flags: TrainFlags) => {
      if (flags.targetAccuracy !== undefined && flags.maxEscalation !== undefined) {
        throw new InvalidArgumentError("give either --target-accuracy or --max-escalation, not both");
      }
      if (!["mean", "sqrt"].includes(flags.pooling)) throw new InvalidArgumentError("--pooling must be mean or sqrt");
      if (!["none", "balanced"].includes(flags.classWeights)) throw new InvalidArgumentError("--class-weights must be none or balanced");
      const target: ThresholdTarget =
        flags.maxEscalation !== undefined
          ? { kind: "max-escalation", value: flags.maxEscalation }
          : { kind: "kept-accuracy", value: flags.targetAccuracy ?? DEFAULT_TRAIN_OPTIONS.thresholdTarget.value };
      const data = dataSource(flags);
      const output = resolve(flags.output ?? `models/${flags.name}`);
      const progress = progressReporter(flags.progress);
      const metrics = await trainSpecialist({
        ...DEFAULT_TRAIN_OPTIONS,
        output,
        name: flags.name,
        version: flags.version,
        description: flags.description ?? `Text classifier trained by specialist-serve on ${data.kind === "email" ? `the SpamAssassin corpus (${data.protocol})` : data.train}.`,
        data,
        seed: flags.seed,
        validationFraction: flags.validationFraction,
        dim: flags.dim,
        buckets: flags.buckets,
        vocabularySize: flags.vocabulary,
        maxTokens: flags.maxTokens,
        pooling: flags.pooling,
        training: { ...DEFAULT_TRAIN_OPTIONS.training, epochs: flags.epochs, learningRate: flags.learningRate, classWeights: flags.classWeights },
        thresholdTarget: target,
        ...(flags.frontierPrompt ? { frontierPrompt: flags.frontierPrompt } : {}),
        onProgress: progress.update,
      });
      progress.stop();
      const t = metrics.test;
      const keep95 = t.coverage.find((c) => c.coverage === 0.95);
      console.log(
        [
          `wrote ${output}`,
          `test: accuracy ${(t.accuracy * 100).toFixed(2)}%, macro-F1 ${t.macroF1.toFixed(4)}, accuracy on the 95% most confident ${((keep95?.accuracy ?? 0) * 100).toFixed(2)}%`,
          `calibration: temperature ${metrics.calibration.temperature.toFixed(3)}, test ECE ${metrics.calibration.testEce.before.toFixed(4)} → ${metrics.calibration.testEce.after.toFixed(4)}`,
          `threshold ${metrics.threshold.threshold.toFixed(4)}: test escalation ${(metrics.threshold.test.escalationRate * 100).toFixed(1)}%, kept accuracy ${(metrics.threshold.test.keptAccuracy * 100).toFixed(2)}%`,
          `time: ${metrics.training.totalSeconds.toFixed(1)} s (${metrics.training.epochsRun} epochs), ONNX parity max |Δ|/(1+|logit|) ${metrics.onnxParity.maxScaledDifference.toExponential(2)}`,
        ].join("\n"),
      );
    });
}
