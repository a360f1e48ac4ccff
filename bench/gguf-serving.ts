/**
 * GGUF classification benchmark (issue: GGUF specialists). The bundled llama-architecture specialist served by
 * llama.cpp with 1, 4 and 8 parallel sequences, at 1, 8 and 64 closed-loop clients, on real corpus emails.
 *   specialist bench gguf [--duration 10] [--sequences 1,4,8] [--clients 1,8,64]
 * The server runs in a child process; the load generator here shares the machine with it.
 */
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { performance } from "node:perf_hooks";
import { readManifest } from "../server/models/manifest-validation.js";
import { locateModelVersion } from "../server/models/repository.js";
import { loadEmailCorpus } from "../training/data/email-corpus.js";
import { createRng, shuffleInPlace } from "../training/random.js";
import { startChild } from "./load/child-server.js";
import { measuredServerConfig } from "./load/measured-server-config.js";
import { closedLoop, type LoadResult } from "./load/load-generator.js";
import { CLI_ENTRY } from "./cli-entry.js";

const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "10" },
    sequences: { type: "string", default: "1,4,8" },
    clients: { type: "string", default: "1,8,64" },
    model: { type: "string", default: "models/email-spam-llama" },
    output: { type: "string", default: "bench/results/gguf-serving.json" },
    threads: { type: "string", default: "1" },
  },
});
const duration = Number(values.duration);
const located = await locateModelVersion(values.model!);
const modelDir = located.dir;
const manifest = await readManifest(modelDir);
const emails = shuffleInPlace((await loadEmailCorpus()).map((e) => e.text), createRng(42)).slice(0, 1000);
const bodies = emails.map((text) => JSON.stringify({ model: manifest.name, input: text }));
console.log(`${emails.length} real corpus emails, model ${manifest.name}@${manifest.version} (GGUF, llama.cpp, ${values.threads} threads), ${availableParallelism()} cores`);

const rows: Array<LoadResult & { sequences: number }> = [];
const generation: Array<{ sequences: number; streams: number; tokensPerSecond: number; seconds: number; tokens: number }> = [];
// Generation the model cannot end early (the grammar demands a long array), so every stream makes max_tokens.
const LONG_OUTPUT = { type: "json_schema", json_schema: { name: "list", schema: { type: "array", items: { type: "string", maxLength: 4 }, minItems: 400 } } };
async function generate(origin: string, streams: number, maxTokens: number) {
  const started = performance.now();
  const answers = await Promise.all(
    Array.from({ length: streams }, async (_, i) => {
      const response = await fetch(`${origin}/v1/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: manifest.name, prompt: `List ${i}:`, max_tokens: maxTokens, seed: i, response_format: LONG_OUTPUT }),
      });
      return response.status === 422 || response.ok ? maxTokens : 0; // an unfinished array is 422: the tokens were still made
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const tokens = answers.reduce((a, b) => a + b, 0);
  return { seconds, tokens, tokensPerSecond: tokens / seconds };
}
const configDir = await mkdtemp(join(tmpdir(), "bench-gguf-"));
for (const sequences of values.sequences!.split(",").map(Number)) {
  const config = join(configDir, `sequences-${sequences}.json`);
  await writeFile(config, JSON.stringify(measuredServerConfig(located.repository, manifest.name, { gguf: { sequences, threads: Number(values.threads) } })));
  const server = await startChild([CLI_ENTRY, "serve", "--port", "0", "--config", config], /listening on http:\/\/127\.0\.0\.1:(\d+)/, { SPECIALIST_SERVER__LOG_LEVEL: "info" });
  try {
    for (const clients of values.clients!.split(",").map(Number)) {
      const result = await closedLoop({ origin: server.origin, path: "/v1/classify", bodies, durationSeconds: duration }, clients);
      rows.push({ sequences, ...result });
      console.log(JSON.stringify(rows.at(-1)));
    }
    for (const streams of new Set([1, Math.min(8, sequences)])) {
      await generate(server.origin, streams, 16); // warm-up
      generation.push({ sequences, streams, ...(await generate(server.origin, streams, 256)) });
      console.log(JSON.stringify(generation.at(-1)));
    }
  } finally {
    await server.stop();
  }
}

console.log("\n| sequences | clients | req/s | p50 ms | p99 ms | errors |");
console.log("|---|---|---|---|---|---|");
for (const r of rows) console.log(`| ${r.sequences} | ${r.level} | ${r.throughput.toFixed(0)} | ${r.latencyMs.p50.toFixed(1)} | ${r.latencyMs.p99.toFixed(1)} | ${r.errors} |`);
console.log("\n| sequences | streams | generated tokens/s |\n|---|---|---|");
for (const g of generation) console.log(`| ${g.sequences} | ${g.streams} | ${g.tokensPerSecond.toFixed(0)} |`);
const best = (sequences: number) => Math.max(...rows.filter((r) => r.sequences === sequences).map((r) => r.throughput));
const ratio = best(8) / best(1);
console.log(`\naggregate throughput with 8 sequences: ${ratio.toFixed(2)}× one sequence (best over client counts)`);
await mkdir(dirname(resolve(values.output!)), { recursive: true });
await writeFile(resolve(values.output!), JSON.stringify({ date: new Date().toISOString(), cores: availableParallelism(), duration, rows, generation, ratio8vs1: ratio }, null, 2) + "\n");
console.log(`wrote ${values.output}`);
