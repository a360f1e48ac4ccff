import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import type { Command } from "commander";
import { int } from "../../training/cli/cli-options.js";
import { loadEmailCorpus } from "../../training/data/email-corpus.js";
import { createRng, shuffleInPlace } from "../../training/random.js";
import { runBatchBench } from "../batch/run-batch-bench.js";
import { childServers } from "../compare/server-starters.js";
import { versions } from "../compare/versions.js";
import { CLI_ENTRY } from "../cli-entry.js";

interface BatchBenchFlags {
  lines: number;
  clients: number;
  seconds: number;
  rounds: number;
  repository: string;
  model: string;
  ledger?: string;
  output: string;
}

export function registerBatchBench(bench: Command): void {
  bench
    .command("batch")
    .description("The Batch API: a batch of real emails against the same emails as interactive requests, and interactive p99 at half load with and without a batch running.")
    .option("--lines <n>", "lines in the batch (real corpus emails)", int, 10_000)
    .option("--clients <n>", "closed-loop clients of the interactive measurement", int, 64)
    .option("--seconds <n>", "seconds of each measurement window", int, 10)
    .option("--rounds <n>", "alternated rounds of each measurement (throughput, and half-load windows without and with a batch)", int, 4)
    .option("--repository <dir>", "model repository", "models")
    .option("--model <name>", "model to classify with", "email-spam")
    .option("--ledger <path>", "the server's ledger (default: a new file; :memory: keeps it in memory)")
    .option("-o, --output <file>", "JSON results", "bench/results/batch.json")
    .action(async (flags: BatchBenchFlags) => {
      const emails = shuffleInPlace((await loadEmailCorpus()).map((e) => e.text), createRng(7));
      const texts = Array.from({ length: flags.lines }, (_, i) => emails[i % emails.length]!);
      const dir = await mkdtemp(join(tmpdir(), "bench-batch-"));
      const server = await childServers(CLI_ENTRY)(
        {
          server: { host: "127.0.0.1", port: 0, logLevel: "warn" },
          models: { repository: resolve(flags.repository), serve: [flags.model] },
          cache: { enabled: false },
          metrics: { defaultMetrics: false },
          ledger: { path: flags.ledger ?? join(dir, "ledger.sqlite") },
          batch: { filesDir: join(dir, "files"), maxFileBytes: 2 ** 31 },
        },
        {},
      );
      try {
        const result = await runBatchBench({ origin: server.origin, model: flags.model, texts, clients: flags.clients, seconds: flags.seconds, rounds: flags.rounds, log: (line) => console.log(line) });
        const targets = { throughputAtLeast1_2x: result.throughputRatio >= 1.2, p99RiseAtMost20Percent: result.p99Ratio <= 1.2 };
        console.log(`batch / interactive throughput: ${result.throughputRatio.toFixed(2)}× (target ≥ 1.2×: ${targets.throughputAtLeast1_2x ? "met" : "not met"})`);
        console.log(`interactive p99 at half load: ${result.p99Ms.without.toFixed(1)} ms without, ${result.p99Ms.with.toFixed(1)} ms with a batch running: ${result.p99Ratio.toFixed(2)}× (target ≤ 1.2×: ${targets.p99RiseAtMost20Percent ? "met" : "not met"})`);
        await mkdir(dirname(flags.output), { recursive: true });
        await writeFile(flags.output, `${JSON.stringify({ date: new Date().toISOString(), environment: await versions(), settings: flags, ...result, targets }, null, 2)}\n`);
        console.log(`wrote ${flags.output}`);
      } finally {
        await server.stop();
        await rm(dir, { recursive: true, force: true });
      }
    });
}
