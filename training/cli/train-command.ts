import { trainingSummary } from "./training-summary.js";
import { modelOutput } from "./model-output.js";
import { progressReporter } from "./progress-reporter.js";
import { dataSource, fraction, int, num, withModelAndDataOptions, type DataFlags } from "./cli-options.js";
import { InvalidArgumentError, type Command } from "commander";
import { DEFAULT_TRAIN_OPTIONS, trainSpecialist } from "../train-specialist.js";
import type { ThresholdTarget } from "../calibration/threshold.js";

interface TrainFlags extends DataFlags {
  name: string;
  version?: string;
  output?: string;
  repository: string;
  frontierPrompt?: string;
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

export function registerTrain(program: Command): void {
  withModelAndDataOptions(
    program
      .command("train")
      .description("Train a calibrated text-classification specialist and write it as a model folder (ONNX + tokenizer + manifest + card)."),
  )
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
      const { output, version } = await modelOutput(flags);
      const progress = progressReporter(flags.progress);
      const metrics = await trainSpecialist({
        ...DEFAULT_TRAIN_OPTIONS,
        output,
        name: flags.name,
        version,
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
      console.log(trainingSummary(output, metrics));
    });
}
