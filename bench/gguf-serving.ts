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
import { fileURLToPath } from "node:url";
import { readManifest } from "../server/models/manifest.js";
import { loadEmailCorpus } from "../training/data/email-corpus.js";
import { createRng, shuffleInPlace } from "../training/random.js";
import { startChild } from "./load/child-server.js";
import { closedLoop, type LoadResult } from "./load/load-generator.js";

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
const modelDir = resolve(values.model!);
const manifest = await readManifest(modelDir);
const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, "..", "server", "cli", "main.js");
const emails = shuffleInPlace((await loadEmailCorpus()).map((e) => e.text), createRng(42)).slice(0, 1000);
const bodies = emails.map((text) => JSON.stringify({ model: manifest.name, input: text }));
console.log(`${emails.length} real corpus emails, model ${manifest.name}@${manifest.version} (GGUF, llama.cpp, ${values.threads} threads), ${availableParallelism()} cores`);

const rows: Array<LoadResult & { sequences: number }> = [];
const configDir = await mkdtemp(join(tmpdir(), "bench-gguf-"));
for (const sequences of values.sequences!.split(",").map(Number)) {
  const config = join(configDir, `sequences-${sequences}.json`);
  await writeFile(config, JSON.stringify({ models: { serve: [manifest.name], overrides: { [manifest.name]: { gguf: { sequences, threads: Number(values.threads) } } } }, cache: { enabled: false }, ledger: { path: ":memory:" } }));
  const server = await startChild([cli, "serve", "--port", "0", "--repository", dirname(modelDir), "--config", config], /listening on http:\/\/127\.0\.0\.1:(\d+)/, { SPECIALIST_SERVER__LOG_LEVEL: "info" });
  try {
    for (const clients of values.clients!.split(",").map(Number)) {
      const result = await closedLoop({ origin: server.origin, path: "/v1/classify", bodies, durationSeconds: duration }, clients);
      rows.push({ sequences, ...result });
      console.log(JSON.stringify(rows.at(-1)));
    }
  } finally {
    await server.stop();
  }
}

console.log("\n| sequences | clients | req/s | p50 ms | p99 ms | errors |");
console.log("|---|---|---|---|---|---|");
for (const r of rows) console.log(`| ${r.sequences} | ${r.level} | ${r.throughput.toFixed(0)} | ${r.latencyMs.p50.toFixed(1)} | ${r.latencyMs.p99.toFixed(1)} | ${r.errors} |`);
const best = (sequences: number) => Math.max(...rows.filter((r) => r.sequences === sequences).map((r) => r.throughput));
const ratio = best(8) / best(1);
console.log(`\naggregate throughput with 8 sequences: ${ratio.toFixed(2)}× one sequence (best over client counts)`);
await mkdir(dirname(resolve(values.output!)), { recursive: true });
await writeFile(resolve(values.output!), JSON.stringify({ date: new Date().toISOString(), cores: availableParallelism(), duration, rows, ratio8vs1: ratio }, null, 2) + "\n");
console.log(`wrote ${values.output}`);
