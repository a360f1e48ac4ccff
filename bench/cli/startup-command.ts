import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { Command } from "commander";
import { int } from "../../training/cli/cli-options.js";
import { CLI_ENTRY } from "../cli-entry.js";
import { versions } from "../compare/versions.js";
import { runStartupBench } from "../startup/default-serve-startup.js";

export function registerStartupBench(bench: Command): void {
  bench
    .command("startup")
    .description("Cold start of `serve` with its default configuration (the bundled models): time to /readyz and idle RSS.")
    .option("--starts <n>", "starts measured after the first", int, 5)
    .option("--idle-seconds <n>", "seconds after ready before reading RSS", int, 2)
    .option("--config <file>", "a configuration file instead of the default one")
    .option("-o, --output <file>", "JSON results", "bench/results/startup.json")
    .action(async (flags: { starts: number; idleSeconds: number; config?: string; output: string }) => {
      const result = await runStartupBench({ command: [CLI_ENTRY], starts: flags.starts, idleSeconds: flags.idleSeconds, args: flags.config ? ["--config", flags.config] : [] });
      console.log(`models: ${result.models.join(", ")}`);
      console.log(`first start: ready in ${result.first.readyMs.toFixed(0)} ms, idle RSS ${result.first.idleRssMib.toFixed(0)} MiB`);
      console.log(`next ${result.warm.length}: ready in ${result.warm.map((r) => r.readyMs.toFixed(0)).join(", ")} ms; idle RSS ${result.warm.map((r) => r.idleRssMib.toFixed(0)).join(", ")} MiB`);
      console.log(`median: ready in ${result.median.readyMs.toFixed(0)} ms, idle RSS ${result.median.idleRssMib.toFixed(0)} MiB`);
      await mkdir(dirname(flags.output), { recursive: true });
      await writeFile(flags.output, `${JSON.stringify({ date: new Date().toISOString(), environment: await versions(), settings: flags, ...result }, null, 2)}\n`);
      console.log(`wrote ${flags.output}`);
    });
}
