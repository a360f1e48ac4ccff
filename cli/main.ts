#!/usr/bin/env node
import { Command } from "commander";
import { ServingError } from "../server/errors/registry.js";
import { registerServe } from "../server/cli/serve-command.js";
import { registerHashKey } from "../server/cli/hash-key-command.js";
import { registerBatch } from "../server/cli/batch-command.js";
import { registerInspect } from "../server/cli/inspect-command.js";
import { registerTrain } from "../training/cli/train-command.js";
import { registerEval } from "../training/cli/eval-command.js";
import { registerReference } from "../training/cli/reference-command.js";
import { registerCalibrateCache } from "../training/cli/calibrate-cache-command.js";
import { registerCalibrateGeneration } from "../training/cli/calibrate-generation-command.js";
import { registerExport } from "../training/cli/export-command.js";
import { registerTrainGguf } from "../training/cli/train-gguf-command.js";
import { registerBench } from "../bench/cli/bench-command.js";

const program = new Command()
  .name("specialist")
  .description("Self-hosted specialist models: serve, train, evaluate and benchmark them.")
  .showHelpAfterError();

registerServe(program);
registerBatch(program);
registerInspect(program);
registerTrain(program);
registerTrainGguf(program);
registerEval(program);
registerReference(program);
registerCalibrateCache(program);
registerCalibrateGeneration(program);
registerExport(program);
registerBench(program);
registerHashKey(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof ServingError) {
    console.error(`error ${error.code}: ${error.message}`);
    // A failed gate is a verdict, not a crash: CI tells the two apart by the exit code.
    process.exit(error.code === "ERR_EVAL_GATE_FAILED" ? 2 : 1);
  }
  console.error(error instanceof Error && error.name === "CommanderError" ? error.message : error);
  process.exit(1);
});
