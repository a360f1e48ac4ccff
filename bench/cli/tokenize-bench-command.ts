import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { Command } from "commander";
import { loadLocalTokenizer } from "../../server/backends/onnx/tokenizer.js";
import { locateModelVersion } from "../../server/models/repository.js";
import { int } from "../../training/cli/cli-options.js";
import { loadEmailCorpus } from "../../training/data/email-corpus.js";
import { versions } from "../compare/versions.js";
import { runTokenizeBench } from "../tokenize/run-tokenize-bench.js";

export function registerTokenizeBench(bench: Command): void {
  bench
    .command("tokenize")
    .description("The BERT tokenizer fast path against transformers.js on the email corpus: same ids, time per pass.")
    .option("--model <dir>", "model or version folder with a BERT-family tokenizer.json", "models/email-spam")
    .option("--rounds <n>", "alternated rounds", int, 5)
    .option("--max-chars <n>", "characters of each email (the model reads about this many)", int, 16_384)
    .option("-o, --output <file>", "JSON results", "bench/results/tokenize.json")
    .action(async (flags: { model: string; rounds: number; maxChars: number; output: string }) => {
      const texts = (await loadEmailCorpus()).map((e) => e.text.slice(0, flags.maxChars));
      const result = runTokenizeBench(await loadLocalTokenizer((await locateModelVersion(flags.model)).dir), texts, flags.rounds);
      console.log(`${result.texts} emails, ${result.characters} characters, ${result.differing} with different ids`);
      for (const r of result.rounds) console.log(`transformers.js ${r.libraryMs.toFixed(0)} ms, fast path ${r.fastMs.toFixed(0)} ms`);
      console.log(`median: ${result.medianMs.library.toFixed(0)} ms vs ${result.medianMs.fast.toFixed(0)} ms: ${result.speedup.toFixed(2)}× faster`);
      await mkdir(dirname(flags.output), { recursive: true });
      await writeFile(flags.output, `${JSON.stringify({ date: new Date().toISOString(), environment: await versions(), settings: flags, ...result }, null, 2)}\n`);
      console.log(`wrote ${flags.output}`);
      if (result.differing > 0) process.exitCode = 1;
    });
}
