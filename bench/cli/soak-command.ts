import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import type { Command } from "commander";
import { fraction, int, num } from "../../training/cli/cli-options.js";
import { loadEmailCorpus } from "../../training/data/email-corpus.js";
import { createRng, shuffleInPlace } from "../../training/random.js";
import { childServers } from "../compare/server-starters.js";
import { versions } from "../compare/versions.js";
import { residentMib } from "../load/server-memory.js";
import { runSoak } from "../soak/run-soak.js";
import { CLI_ENTRY } from "../cli-entry.js";

interface SoakFlags {
  minutes: number;
  share: number;
  capacity?: number;
  servingResults: string;
  interval: number;
  repository: string;
  model: string;
  output: string;
}

/** The highest end-to-end throughput the serving bench measured (its closed-loop rows through HTTP). */
async function measuredMax(file: string): Promise<number> {
  const results = JSON.parse(await readFile(file, "utf8")) as { rows: Array<{ name: string; mode: string; throughput: number }> };
  const served = results.rows.filter((r) => r.mode === "closed" && r.name.startsWith("dynamic batching"));
  if (!served.length) throw new Error(`${file} has no closed-loop 'dynamic batching' rows: run \`npm run bench\` first or pass --capacity`);
  return Math.max(...served.map((r) => r.throughput));
}

export function registerSoak(bench: Command): void {
  bench
    .command("soak")
    .description("A long open-loop run at a share of the serving bench's maximum throughput: errors, p99 and the server's RSS over time.")
    .option("--minutes <n>", "length of the run", num, 10)
    .option("--share <x>", "share of the maximum throughput to send", fraction, 0.7)
    .option("--capacity <req/s>", "maximum throughput (default: the best closed-loop row of --serving-results)", num)
    .option("--serving-results <file>", "the serving bench's results", "bench/results/onnx-serving.json")
    .option("--interval <seconds>", "seconds per reported interval", int, 30)
    .option("--repository <dir>", "model repository", "models")
    .option("--model <name>", "model to send to", "email-spam")
    .option("-o, --output <file>", "JSON results", "bench/results/soak.json")
    .action(async (flags: SoakFlags) => {
      const capacity = flags.capacity ?? (await measuredMax(flags.servingResults));
      const rate = Math.round(capacity * flags.share);
      const emails = shuffleInPlace((await loadEmailCorpus()).map((e) => e.text), createRng(42)).slice(0, 2000);
      const bodies = emails.map((text) => JSON.stringify({ model: flags.model, input: text }));
      const server = await childServers(CLI_ENTRY)(
        { server: { host: "127.0.0.1", port: 0 }, models: { repository: resolve(flags.repository), serve: [flags.model] }, ledger: { path: ":memory:" }, cache: { enabled: false }, metrics: { defaultMetrics: true } },
        {},
      );
      try {
        console.log(`soak: ${rate} req/s (${(flags.share * 100).toFixed(0)}% of ${capacity.toFixed(0)}) for ${flags.minutes} min, open loop`);
        const result = await runSoak({ origin: server.origin, bodies, rate, seconds: flags.minutes * 60, intervalSeconds: flags.interval, memoryMib: () => residentMib(server.origin) });
        console.log("| s | requests | errors | p50 ms | p99 ms | max ms | RSS MiB |");
        console.log("|---|---|---|---|---|---|---|");
        for (const i of result.intervals) console.log(`| ${i.endSeconds} | ${i.requests} | ${i.errors} | ${i.p50Ms.toFixed(1)} | ${i.p99Ms.toFixed(1)} | ${i.maxMs.toFixed(0)} | ${i.rssMib.toFixed(0)} |`);
        const errors = result.intervals.reduce((n, i) => n + i.errors, 0);
        console.log(`total ${result.total.requests} requests, ${errors} errors, p99 ${result.total.latencyMs.p99.toFixed(1)} ms; RSS ${result.rss.baselineMib.toFixed(0)} MiB after 1 min → ${result.rss.lastMib.toFixed(0)} MiB at the end (${(result.rss.growth * 100).toFixed(1)}%, target < 5%), max ${result.rss.maxMib.toFixed(0)} MiB`);
        await mkdir(dirname(flags.output), { recursive: true });
        await writeFile(flags.output, `${JSON.stringify({ date: new Date().toISOString(), environment: await versions(), settings: { ...flags, capacity, rate }, ...result, errors, targets: { noErrors: errors === 0, rssGrowthUnder5Percent: result.rss.growth < 0.05 } }, null, 2)}\n`);
        console.log(`wrote ${flags.output}`);
      } finally {
        await server.stop();
      }
    });
}
