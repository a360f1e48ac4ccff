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
