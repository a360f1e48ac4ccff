#!/usr/bin/env node
import { Command } from "commander";
import { ServingError } from "../server/errors/registry.js";

type Register = (program: Command) => void;
/**
 * Each command's module, loaded only when that command runs: `serve` then never imports the training, export and
 * benchmark code (with their libraries), which cost seconds of start-up on a busy machine. Help loads them all.
 */
const COMMANDS: Record<string, () => Promise<Register>> = {
  serve: async () => (await import("../server/cli/serve-command.js")).registerServe,
  batch: async () => (await import("../server/cli/batch-command.js")).registerBatch,
  inspect: async () => (await import("../server/cli/inspect-command.js")).registerInspect,
  train: async () => (await import("../training/cli/train-command.js")).registerTrain,
  "train-gguf": async () => (await import("../training/cli/train-gguf-command.js")).registerTrainGguf,
  eval: async () => (await import("../training/cli/eval-command.js")).registerEval,
  reference: async () => (await import("../training/cli/reference-command.js")).registerReference,
  "calibrate-cache": async () => (await import("../training/cli/calibrate-cache-command.js")).registerCalibrateCache,
  "calibrate-generation": async () => (await import("../training/cli/calibrate-generation-command.js")).registerCalibrateGeneration,
  export: async () => (await import("../training/cli/export-command.js")).registerExport,
  bench: async () => (await import("../bench/cli/bench-command.js")).registerBench,
  "hash-key": async () => (await import("../server/cli/hash-key-command.js")).registerHashKey,
};

const program = new Command()
  .name("specialist")
  .description("Self-hosted specialist models: serve, train, evaluate and benchmark them.")
  .showHelpAfterError();

const named = process.argv[2];
const wanted = named !== undefined && Object.hasOwn(COMMANDS, named) ? [named] : Object.keys(COMMANDS);
for (const register of await Promise.all(wanted.map((name) => COMMANDS[name]!()))) register(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof ServingError) {
    console.error(`error ${error.code}: ${error.message}`);
    // A failed gate is a verdict, not a crash: CI tells the two apart by the exit code.
    process.exit(error.code === "ERR_EVAL_GATE_FAILED" ? 2 : 1);
  }
  console.error(error instanceof Error && error.name === "CommanderError" ? error.message : error);
  process.exit(1);
});
