import { InvalidArgumentError, type Command } from "commander";
import type { DataSource } from "../data/load-splits.js";

export const int = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError("must be an integer");
  return n;
};
export const positiveInt = (value: string) => {
  const n = int(value);
  if (n < 1) throw new InvalidArgumentError("must be at least 1");
  return n;
};
export const num = (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new InvalidArgumentError("must be a number");
  return n;
};
export const fraction = (value: string) => {
  const n = num(value);
  if (n <= 0 || n > 1) throw new InvalidArgumentError("must be in (0, 1]");
  return n;
};

/** Where training data comes from: the flags `train` and `train-gguf` share. */
export interface DataFlags {
  data?: string;
  testData?: string;
  validationData?: string;
  corpus?: string;
  textField: string;
  labelField: string;
  categoryField?: string;
}

export function dataSource(flags: DataFlags): Extract<DataSource, { kind: "email" | "file" }> {
  if (flags.data && flags.corpus) throw new InvalidArgumentError("give either --data or --corpus, not both");
  if (flags.data) {
    return {
      kind: "file",
      train: flags.data,
      ...(flags.testData ? { test: flags.testData } : {}),
      ...(flags.validationData ? { validation: flags.validationData } : {}),
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


/** The model name, output folder and data flags every training command takes. */
export function withModelAndDataOptions(command: Command): Command {
  return command
    .requiredOption("-n, --name <name>", "model name (folder name unless --output is given)")
    .option("--version <version>", "version: its folder's name and the manifest's (default: one more than the highest in the repository, or the -o folder's name)")
    .option("--repository <dir>", "model repository the version folder is written in", "models")
    .option("-o, --output <dir>", "folder to write instead of <repository>/<name>/<version>/ (overwritten if it holds a model)")
    .option("--corpus <protocol>", "built-in data: email:random (stratified 80/20) or email:temporal (train *-1, test *-2)")
    .option("--data <file>", "labelled JSONL or CSV file (instead of --corpus)")
    .option("--test-data <file>", "separate labelled test file (default: 20% of --data)")
    .option("--validation-data <file>", "separate labelled validation file for early stopping, calibration and the threshold (default: a share of --data)")
    .option("--text-field <name>", "text field in --data", "text")
    .option("--label-field <name>", "label field in --data", "label")
    .option("--category-field <name>", "optional field for per-category scores");
}

/** The flags naming labelled data to run an existing model of the repository on (eval, reference). */
export function withEvaluationDataOptions(command: Command, defaultSplit: "test" | "validation"): Command {
  return command
    .argument("<model>", "<name> (its highest version) or <name>/<version>, in the repository")
    .option("--repository <dir>", "model repository", "models")
    .option("--data <file>", "labelled JSONL or CSV file")
    .option("--corpus <protocol>", "email:random or email:temporal (uses the model's training seed)")
    .option("--split <name>", "with --corpus: test, validation or train", defaultSplit)
    .option("--text-field <name>", "text field in --data", "text")
    .option("--label-field <name>", "label field in --data", "label")
    .option("--seed <n>", "with --corpus: split seed (default: the model's)", (v) => Number(v));
}
