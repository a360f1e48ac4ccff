import { registerPrefixBench } from "./gguf-prefix-command.js";
import { spawn } from "node:child_process";
import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { registerCompare } from "./compare-command.js";
import { registerBatchBench } from "./batch-bench-command.js";
import { registerFleetBench } from "./fleet-bench-command.js";
import { registerFaults } from "./faults-command.js";
import { registerFlywheel } from "./flywheel-command.js";
import { registerFuzz } from "./fuzz-command.js";
import { registerPeerBench } from "./peer-command.js";
import { registerSoak } from "./soak-command.js";
import { registerStartupBench } from "./startup-command.js";
import { registerSemanticCacheBench } from "./semantic-cache-command.js";
import { registerTokenizeBench } from "./tokenize-bench-command.js";

/** Benchmarks are scripts that own their process (they start servers and load generators): run them as children. */
function runScript(name: string, args: string[]): Promise<void> {
  const self = fileURLToPath(import.meta.url);
  const script = fileURLToPath(new URL(`../${name}${extname(self)}`, import.meta.url));
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, script, ...args], { stdio: "inherit" });
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      if (code === 0) resolvePromise();
      else reject(new Error(`benchmark ${name} ended with ${signal ?? `exit code ${code}`}`));
    });
  });
}

export function registerBench(program: Command): void {
  const bench = program.command("bench").description("Benchmarks that print a table and write JSON under bench/results/.");
  bench
    .command("serving")
    .description("ONNX serving: in-process ceiling, dynamic batching at several client counts, maxBatchSize 1, a plain handler.")
    .option("--duration <seconds>", "seconds per measurement", "10")
    .option("--clients <list>", "closed-loop client counts", "1,16,64,256")
    .option("--model <dir>", "model folder (its highest version) or version folder", "models/email-spam")
    .option("--output <file>", "JSON results", "bench/results/onnx-serving.json")
    .action(async (flags: { duration: string; clients: string; model: string; output: string }) => {
      await runScript("onnx-serving", ["--duration", flags.duration, "--clients", flags.clients, "--model", flags.model, "--output", flags.output]);
    });
  bench
    .command("gguf")
    .description("GGUF classification on llama.cpp: 1, 4 and 8 parallel sequences at 1, 8 and 64 clients.")
    .option("--duration <seconds>", "seconds per measurement", "10")
    .option("--sequences <list>", "parallel sequences per context", "1,4,8")
    .option("--clients <list>", "closed-loop client counts", "1,8,64")
    .option("--threads <n>", "llama.cpp threads", "1")
    .option("--model <dir>", "model folder (its highest version) or version folder", "models/email-spam-llama")
    .option("--output <file>", "JSON results", "bench/results/gguf-serving.json")
    .action(async (flags: { duration: string; sequences: string; clients: string; threads: string; model: string; output: string }) => {
      await runScript("gguf-serving", ["--duration", flags.duration, "--sequences", flags.sequences, "--clients", flags.clients, "--threads", flags.threads, "--model", flags.model, "--output", flags.output]);
    });
  registerCompare(bench);
  registerBatchBench(bench);
  registerFleetBench(bench);
  registerFaults(bench);
  registerFlywheel(bench);
  registerFuzz(bench);
  registerSoak(bench);
  registerSemanticCacheBench(bench);
  registerPrefixBench(bench);
  registerPeerBench(bench);
  registerTokenizeBench(bench);
  registerStartupBench(bench);
}
