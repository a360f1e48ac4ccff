import { mkdir, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import type { Command } from "commander";
import { int } from "../../training/cli/cli-options.js";
import { childServers } from "../compare/server-starters.js";
import { versions } from "../compare/versions.js";
import { runFuzz } from "../fuzz/run-fuzz.js";
import { residentMib } from "../load/server-memory.js";
import { CLI_ENTRY } from "../cli-entry.js";

interface FuzzFlags {
  requests: number;
  seed: number;
  concurrency: number;
  repository: string;
  classifier: string;
  generator: string;
  bodyLimit: number;
  output: string;
}

export function registerFuzz(bench: Command): void {
  bench
    .command("fuzz")
    .description("Malformed requests from a fixed seed against the real server (its own process): no 5xx, stable error codes, memory over the run.")
    .option("--requests <n>", "requests to send", int, 100_000)
    .option("--seed <n>", "generator seed", int, 1)
    .option("--concurrency <n>", "requests in flight", int, 16)
    .option("--repository <dir>", "model repository", "models")
    .option("--classifier <name>", "classification model to aim at", "email-spam")
    .option("--generator <name>", "GGUF generation model to aim at ('' for none)", "email-spam-llama")
    .option("--body-limit <bytes>", "the server's body limit", int, 1_048_576)
    .option("-o, --output <file>", "JSON results", "bench/results/fuzz.json")
    .action(async (flags: FuzzFlags) => {
      const serve = [flags.classifier, ...(flags.generator ? [flags.generator] : [])];
      const server = await childServers(CLI_ENTRY)(
        {
          server: { host: "127.0.0.1", port: 0, bodyLimitBytes: flags.bodyLimit },
          models: { repository: resolve(flags.repository), serve },
          ledger: { path: ":memory:" },
          metrics: { defaultMetrics: true },
        },
        {},
      );
      try {
        const summary = await runFuzz({
          origin: server.origin,
          seed: flags.seed,
          requests: flags.requests,
          concurrency: flags.concurrency,
          target: { classifier: flags.classifier, ...(flags.generator ? { generator: flags.generator } : {}), bodyLimitBytes: flags.bodyLimit },
          memoryMib: () => residentMib(server.origin),
          sampleEvery: Math.max(1, Math.floor(flags.requests / 40)),
        });
        const mem = summary.memory;
        const afterWarmup = mem[Math.min(mem.length - 1, Math.floor(mem.length / 10))]?.mib ?? NaN;
        const last = mem.at(-1)?.mib ?? NaN;
        const result = { date: new Date().toISOString(), environment: await versions(), settings: flags, ...summary, rssGrowth: (last - afterWarmup) / afterWarmup };
        await mkdir(dirname(flags.output), { recursive: true });
        await writeFile(flags.output, `${JSON.stringify(result, null, 2)}\n`);
        console.log(`${summary.requests} requests in ${summary.seconds.toFixed(0)} s (${summary.notSent} not sent by the client); statuses ${JSON.stringify(summary.statuses)}`);
        console.log(`failures (5xx or an error without a stable code): ${summary.failureCount}`);
        for (const f of summary.failures.slice(0, 10)) console.log(`  #${f.index} ${f.kind} ${f.method} ${f.path} → ${f.status}: ${f.problem} ${f.body}`);
        console.log(`server RSS ${afterWarmup.toFixed(0)} MiB after 10% of the run → ${last.toFixed(0)} MiB at the end (${(result.rssGrowth * 100).toFixed(1)}%)`);
        console.log(`wrote ${flags.output}`);
        if (summary.failureCount > 0) process.exitCode = 1;
      } finally {
        await server.stop();
      }
    });
}
