import { trainingSummary } from "./training-summary.js";
import { modelOutput } from "./model-output.js";
import { progressReporter } from "./progress-reporter.js";
import { dataSource, fraction, int, num, withModelAndDataOptions, type DataFlags } from "./cli-options.js";
import { InvalidArgumentError, type Command } from "commander";
import { DEFAULT_TRAIN_OPTIONS, trainSpecialist } from "../train-specialist.js";
import { DEFAULT_BERT_SETTINGS } from "../bert/bert-settings.js";
import { trainBertSpecialist } from "../bert/train-bert-specialist.js";
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
  arch: "fasttext" | "bert";
  layers: number;
  heads: number;
  intermediate: number;
  batchSize: number;
  python: string;
}

/** Options only one architecture has: given with the other, they are refused rather than ignored. */
const FASTTEXT_ONLY = ["buckets", "pooling", "classWeights"] as const;
const BERT_ONLY = ["layers", "heads", "intermediate", "batchSize", "python"] as const;

export function registerTrain(program: Command): void {
  withModelAndDataOptions(
    program
      .command("train")
      .description(
        "Train a calibrated text-classification specialist and write it as a model folder (ONNX + tokenizer + manifest + card): a fastText-style model in TypeScript, or (--arch bert) a BERT-style encoder in PyTorch exported in Hugging Face optimum's layout.",
      ),
  )
    .option("--arch <kind>", "fasttext, or bert (PyTorch from Debian's python3-torch; --dim is its width)", "fasttext")
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
    .option("--layers <n>", "bert: encoder layers", int, DEFAULT_BERT_SETTINGS.layers)
    .option("--heads <n>", "bert: attention heads", int, DEFAULT_BERT_SETTINGS.heads)
    .option("--intermediate <n>", "bert: feed-forward width", int, DEFAULT_BERT_SETTINGS.intermediate)
    .option("--batch-size <n>", "bert: examples per training step", int, DEFAULT_BERT_SETTINGS.batchSize)
    .option("--python <path>", "bert: Python with torch (Debian: apt-get install python3-torch)", "/usr/bin/python3")
    .option("--no-progress", "no progress bar")
    .action(async function (this: Command, flags: TrainFlags) {
      if (flags.arch !== "fasttext" && flags.arch !== "bert") throw new InvalidArgumentError("--arch must be fasttext or bert");
      const given = (option: string) => this.getOptionValueSource(option) === "cli";
      const foreign = (flags.arch === "bert" ? FASTTEXT_ONLY : BERT_ONLY).filter(given);
      if (foreign.length > 0) {
        const dashed = foreign.map((o) => `--${o.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
        throw new InvalidArgumentError(`${dashed.join(", ")} ${foreign.length > 1 ? "are not options" : "is not an option"} of --arch ${flags.arch}`);
      }
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
      if (flags.arch === "bert") {
        // The fastText defaults (width 16, 2,048 tokens, 30 epochs at 0.01) are not a transformer's: ours unless given.
        const metrics = await trainBertSpecialist({
          output,
          name: flags.name,
          version,
          description: flags.description ?? `BERT-style classifier trained by specialist-serve on ${data.kind === "email" ? `the SpamAssassin corpus (${data.protocol})` : data.train}.`,
          data,
          testFraction: DEFAULT_TRAIN_OPTIONS.testFraction,
          validationFraction: flags.validationFraction,
          settings: {
            ...DEFAULT_BERT_SETTINGS,
            seed: flags.seed,
            layers: flags.layers,
            heads: flags.heads,
            intermediate: flags.intermediate,
            batchSize: flags.batchSize,
            ...(given("dim") ? { hidden: flags.dim } : {}),
            ...(given("vocabulary") ? { vocabularySize: flags.vocabulary } : {}),
            ...(given("maxTokens") ? { maxTokens: flags.maxTokens } : {}),
            ...(given("epochs") ? { epochs: flags.epochs } : {}),
            ...(given("learningRate") ? { learningRate: flags.learningRate } : {}),
          },
          thresholdTarget: target,
          python: flags.python,
          ...(flags.frontierPrompt ? { frontierPrompt: flags.frontierPrompt } : {}),
          onProgress: progress.update,
        });
        progress.stop();
        console.log(trainingSummary(output, metrics));
        return;
      }
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
