import { spawn } from "node:child_process";

/** Node's arguments before the sub-command: the built `main.js`, or `--import tsx main.ts` from the sources. */
export type SpecialistCli = string[];

export interface CliRun {
  code: number;
  output: string;
  seconds: number;
}

/**
 * Runs one `specialist` command as its own process, as an operator's retraining job would: its CPU work does not
 * stall the load generator's timers in this process.
 */
export function runSpecialistCli(cli: SpecialistCli, args: string[]): Promise<CliRun> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...cli, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code: code ?? 1, output, seconds: (performance.now() - started) / 1000 }));
  });
}

/** Like runSpecialistCli, for commands that must succeed. */
export async function mustRunSpecialistCli(cli: SpecialistCli, args: string[]): Promise<CliRun> {
  const run = await runSpecialistCli(cli, args);
  if (run.code !== 0) throw new Error(`specialist ${args[0]} exited with ${run.code}:\n${run.output.slice(-2000)}`);
  return run;
}

/** What `specialist train` needs to write one version of a flywheel model. */
export interface VersionTraining {
  name: string;
  version: string;
  output: string;
  data: string;
  validation: string;
  test: string;
  seed: number;
  frontierPrompt: string;
  targetAccuracy: number;
}

/** Trains one version with the fixed validation file, so every version's threshold is chosen on the same data. */
export function trainVersion(cli: SpecialistCli, t: VersionTraining): Promise<CliRun> {
  return mustRunSpecialistCli(cli, [
    "train", "--name", t.name, "--version", t.version, "-o", t.output,
    "--data", t.data, "--validation-data", t.validation, "--test-data", t.test,
    "--seed", String(t.seed), "--frontier-prompt", t.frontierPrompt, "--target-accuracy", String(t.targetAccuracy), "--no-progress",
  ]);
}
