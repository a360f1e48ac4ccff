import type { Command } from "commander";
import { DEFAULT_GGUF_SETTINGS, trainGgufSpecialist } from "../gguf/train-gguf-specialist.js";
import { dataSource, fraction, int, num, withModelAndDataOptions, type DataFlags } from "./cli-options.js";
import { progressReporter } from "./progress-reporter.js";
import { trainingSummary } from "./training-summary.js";
import { modelOutput } from "./model-output.js";

interface TrainGgufFlags extends DataFlags {
  name: string;
  version?: string;
  output?: string;
  repository: string;
  seed: number;
  epochs: number;
  dim: number;
  layers: number;
  maxTokens: number;
  vocabulary: number;
  learningRate: number;
  targetAccuracy: number;
  prompt: string;
  python: string;
  description?: string;
  progress: boolean;
}

export function registerTrainGguf(program: Command): void {
  withModelAndDataOptions(
    program
      .command("train-gguf")
      .description(
        "Train a small llama-architecture classifier (PyTorch from Debian's python3-torch for the one autograd step) and write it as a GGUF model folder served by llama.cpp.",
      ),
  )
    .option("--seed <n>", "seed for splits, initialisation and shuffling", int, DEFAULT_GGUF_SETTINGS.seed)
    .option("--epochs <n>", "training epochs (the best on validation loss is kept)", int, DEFAULT_GGUF_SETTINGS.epochs)
    .option("--dim <n>", "model dimension", int, DEFAULT_GGUF_SETTINGS.dim)
    .option("--layers <n>", "transformer layers", int, DEFAULT_GGUF_SETTINGS.layers)
    .option("--max-tokens <n>", "input tokens kept per text", int, DEFAULT_GGUF_SETTINGS.maxInputTokens)
    .option("--vocabulary <n>", "byte-level BPE vocabulary size", int, DEFAULT_GGUF_SETTINGS.vocabularySize)
    .option("--learning-rate <x>", "AdamW learning rate", num, DEFAULT_GGUF_SETTINGS.learningRate)
    .option("--target-accuracy <x>", "choose the threshold so kept validation items reach this accuracy", fraction, 0.998)
    .option("--prompt <file>", "classification prompt with {{input}}; the label follows its end", "training/prompts/email-spam-classify.txt")
    .option("--python <path>", "Python with torch (Debian: apt-get install python3-torch)", "/usr/bin/python3")
    .option("--description <text>", "one line for the manifest and card")
    .option("--no-progress", "no progress bar")
    .action(async (flags: TrainGgufFlags) => {
      const data = dataSource(flags);
      const { output, version } = await modelOutput(flags);
      const progress = progressReporter(flags.progress);
      const metrics = await trainGgufSpecialist({
        output,
        name: flags.name,
        version,
        description: flags.description ?? `Small llama-architecture classifier trained by specialist-serve on ${data.kind === "email" ? `the SpamAssassin corpus (${data.protocol})` : data.train}.`,
        data,
        testFraction: 0.2,
        validationFraction: 0.1,
        settings: {
          ...DEFAULT_GGUF_SETTINGS,
          seed: flags.seed,
          epochs: flags.epochs,
          dim: flags.dim,
          layers: flags.layers,
          maxInputTokens: flags.maxTokens,
          vocabularySize: flags.vocabulary,
          learningRate: flags.learningRate,
        },
        thresholdTarget: { kind: "kept-accuracy", value: flags.targetAccuracy },
        prompt: flags.prompt,
        python: flags.python,
        onProgress: progress.update,
      });
      progress.stop();
      console.log(trainingSummary(output, metrics));
    });
}
