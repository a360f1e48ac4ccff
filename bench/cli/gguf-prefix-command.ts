import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { Command } from "commander";
import { locateModelVersion } from "../../server/models/repository.js";
import { int } from "../../training/cli/cli-options.js";
import { loadEmailCorpus } from "../../training/data/email-corpus.js";
import { CLI_ENTRY } from "../cli-entry.js";
import { versions } from "../compare/versions.js";
import { runPrefixBench } from "../gguf-prefix/run-gguf-prefix-bench.js";

export function registerPrefixBench(bench: Command): void {
  bench
    .command("gguf-prefix")
    .description("GGUF classification with a long shared instruction prefix: the prefix kept in each sequence's KV cache (gguf.reusePrefix) vs evaluated every time.")
    .option("--model <dir>", "GGUF classifier: model or version folder", "models/email-spam-llama")
    .option("--prefix-words <n>", "words of instruction before the prompt (118: about 200 tokens with the bundled model)", int, 118)
    .option("--clients <n>", "closed-loop clients", int, 8)
    .option("--seconds <n>", "seconds per measurement", int, 10)
    .option("--rounds <n>", "alternated rounds", int, 3)
    .option("-o, --output <file>", "JSON results", "bench/results/gguf-prefix.json")
    .action(async (flags: { model: string; prefixWords: number; clients: number; seconds: number; rounds: number; output: string }) => {
      const located = await locateModelVersion(flags.model);
      const texts = (await loadEmailCorpus({ limitPerGroup: 40 })).map((e) => e.text.slice(0, 300));
      const result = await runPrefixBench({ modelDir: located.dir, modelName: located.manifest.name, cli: CLI_ENTRY, texts, ...flags, log: (line) => console.log(line) });
      console.log(`prompt of ${result.prefixTokens} tokens for a one-character input; median ${result.median.reuse.toFixed(1)} req/s with the prefix kept vs ${result.median.fresh.toFixed(1)} evaluated each time: ${result.speedup.toFixed(2)}×`);
      await mkdir(dirname(flags.output), { recursive: true });
      await writeFile(flags.output, `${JSON.stringify({ date: new Date().toISOString(), environment: await versions(), settings: flags, ...result }, null, 2)}\n`);
      console.log(`wrote ${flags.output}`);
    });
}
