/**
 * ONNX serving benchmark (issue: runtime foundation). Prints a table and writes JSON.
 *   npm run bench -- [--duration 10] [--clients 1,16,64,256] [--output bench/results/onnx-serving.json]
 * Everything runs on this machine: the server in a child process, the load generator here (it takes CPU from
 * the server too, equally for every configuration, so compare the rows as ratios).
 */
import { mkdtemp, writeFile, mkdir } from "node:fs/promises";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { createOnnxBackend } from "../server/backends/onnx/onnx-backend.js";
import { OnnxTextModel } from "../server/backends/onnx/onnx-text-model.js";
import { ServingMetrics } from "../server/metrics/serving-metrics.js";
import { readManifest } from "../server/models/manifest-validation.js";
import { locateModelVersion } from "../server/models/repository.js";
import { loadEmailCorpus } from "../training/data/email-corpus.js";
import { createRng, shuffleInPlace } from "../training/random.js";
import { startChild } from "./load/child-server.js";
import { measuredServerConfig } from "./load/measured-server-config.js";
import { closedLoop, openLoop, type LoadResult } from "./load/load-generator.js";
import { CLI_ENTRY } from "./cli-entry.js";

const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "10" },
    clients: { type: "string", default: "1,16,64,256" },
    model: { type: "string", default: "models/email-spam" },
    output: { type: "string", default: "bench/results/onnx-serving.json" },
  },
});
const duration = Number(values.duration);
const clientLevels = values.clients!.split(",").map(Number);
const located = await locateModelVersion(values.model!);
const modelDir = located.dir;
const here = dirname(fileURLToPath(import.meta.url));

const emails = shuffleInPlace((await loadEmailCorpus()).map((e) => e.text), createRng(42)).slice(0, 2000);
const manifest = await readManifest(modelDir);
console.log(`${emails.length} real corpus emails, model ${manifest.name}@${manifest.version}, ${availableParallelism()} cores (${cpus()[0]?.model ?? "?"})`);

async function timed(seconds: number, step: () => Promise<number>): Promise<number> {
  let items = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) items += await step();
  return items / ((performance.now() - start) / 1000);
}

// 1. The ceiling: tokenize + ORT in-process at batch 32, no HTTP, one thread; then one pipeline per core.
const classifier = await OnnxTextModel.load(modelDir, manifest, { device: "cpu", intraOpThreads: 1 });
let cursor = 0;
const nextBatch = (n: number) => Array.from({ length: n }, () => emails[cursor++ % emails.length]!);
await classifier.run(nextBatch(32));
const ceilingOneThread = await timed(Math.min(duration, 8), async () => (await classifier.run(nextBatch(32))).tokens.length);
await classifier.dispose();
const workers = availableParallelism();
const backend = await createOnnxBackend({ dir: modelDir, manifest, metrics: new ServingMetrics({ defaultMetrics: false }), workers, log: () => {} });
const ceilingPool = await timed(Math.min(duration, 8), async () => {
  const results = await Promise.all(Array.from({ length: workers }, () => backend.classify(nextBatch(32), { deadline: Infinity })));
  return results.reduce((a, r) => a + r.outputs.length, 0);
});
await backend.dispose();
console.log(`ceiling: ${ceilingOneThread.toFixed(0)} emails/s in-process on one thread; ${ceilingPool.toFixed(0)} emails/s with ${workers} worker threads (no HTTP)`);

const classifyBodies = emails.map((text) => JSON.stringify({ model: manifest.name, input: text }));
const plainBodies = emails.map((text) => JSON.stringify({ input: text }));

interface ServerSide {
  meanBatch: number;
  /** Worker time per request, split: where the time goes. */
  tokenizeMsPerRequest: number;
  inferenceMsPerRequest: number;
}

async function withServerSide(origin: string, run: () => Promise<LoadResult>): Promise<LoadResult & ServerSide> {
  const read = async () => {
    const text = await (await fetch(`${origin}/metrics`)).text();
    const pick = (name: string) => Number(/\n(\S+) (\S+)/.exec(text.slice(text.indexOf(`\n${name}{`)))?.[2] ?? 0);
    return {
      sum: pick("specialist_batch_size_sum"),
      count: pick("specialist_batch_size_count"),
      tokenize: pick("specialist_tokenize_duration_seconds_sum"),
      inference: pick("specialist_inference_duration_seconds_sum"),
    };
  };
  const before = await read();
  const result = await run();
  const after = await read();
  const requests = Math.max(1, after.sum - before.sum);
  return {
    ...result,
    meanBatch: (after.sum - before.sum) / Math.max(1, after.count - before.count),
    tokenizeMsPerRequest: ((after.tokenize - before.tokenize) * 1000) / requests,
    inferenceMsPerRequest: ((after.inference - before.inference) * 1000) / requests,
  };
}

const listening = /listening on http:\/\/127\.0\.0\.1:(\d+)/;
const rows: Array<{ name: string } & LoadResult & Partial<ServerSide>> = [];
const repository = located.repository;

// 2. The server with dynamic batching.
const configDir = await mkdtemp(join(tmpdir(), "bench-"));
const batchedConfig = join(configDir, "batching.json");
await writeFile(batchedConfig, JSON.stringify(measuredServerConfig(repository, manifest.name)));
const batched = await startChild([CLI_ENTRY, "serve", "--port", "0", "--config", batchedConfig], listening, { SPECIALIST_SERVER__LOG_LEVEL: "info" });
for (const clients of clientLevels) {
  rows.push({ name: `dynamic batching (max ${manifest.batching.maxBatchSize})`, ...(await withServerSide(batched.origin, () => closedLoop({ origin: batched.origin, path: "/v1/classify", bodies: classifyBodies, durationSeconds: duration }, clients))) });
  console.log(JSON.stringify(rows.at(-1)));
}
const best = Math.max(...rows.map((r) => r.throughput));
const halfRate = Math.round(best / 2);
rows.push({ name: "dynamic batching, open loop at half max", ...(await withServerSide(batched.origin, () => openLoop({ origin: batched.origin, path: "/v1/classify", bodies: classifyBodies, durationSeconds: duration }, halfRate))) });
console.log(JSON.stringify(rows.at(-1)));
await batched.stop();

// 3. The same server with maxBatchSize 1.
const noBatchConfig = join(configDir, "no-batching.json");
await writeFile(noBatchConfig, JSON.stringify(measuredServerConfig(repository, manifest.name, { batching: { maxBatchSize: 1 } })));
const unbatched = await startChild([CLI_ENTRY, "serve", "--port", "0", "--config", noBatchConfig], listening, { SPECIALIST_SERVER__LOG_LEVEL: "info" });
for (const clients of [1, 64]) {
  rows.push({ name: "maxBatchSize 1", ...(await withServerSide(unbatched.origin, () => closedLoop({ origin: unbatched.origin, path: "/v1/classify", bodies: classifyBodies, durationSeconds: duration }, clients))) });
  console.log(JSON.stringify(rows.at(-1)));
}
await unbatched.stop();

// 4. A plain Fastify handler running the pipeline on the main thread.
const plain = await startChild([join(here, "plain-server.js"), modelDir, "0"], /listening (\d+)/);
for (const clients of [1, 64]) {
  rows.push({ name: "plain handler (main thread)", ...(await closedLoop({ origin: plain.origin, path: "/classify", bodies: plainBodies, durationSeconds: duration }, clients)) });
  console.log(JSON.stringify(rows.at(-1)));
}
await plain.stop();

const at = (name: string, level: number) => rows.find((r) => r.name.startsWith(name) && r.level === level && r.mode === "closed")?.throughput ?? NaN;
const batched64 = at("dynamic batching", 64);
const open = rows.find((r) => r.mode === "open")!;
const summary = {
  ceilingOneThread,
  ceilingPool,
  batched64,
  ratioVsNoBatching: batched64 / at("maxBatchSize 1", 64),
  ratioVsPlain: batched64 / at("plain handler", 64),
  shareOfCeiling: best / ceilingOneThread,
  shareOfPoolCeiling: best / ceilingPool,
  p99AtHalfMaxMs: open.latencyMs.p99,
  halfRate,
};

console.log("\n| configuration | clients / rate | req/s | p50 ms | p95 ms | p99 ms | mean batch | tokenize ms/req | ORT ms/req | errors |");
console.log("|---|---|---|---|---|---|---|---|---|---|");
for (const r of rows) {
  const level = r.mode === "open" ? `${r.level}/s open` : String(r.level);
  console.log(`| ${r.name} | ${level} | ${r.throughput.toFixed(0)} | ${r.latencyMs.p50.toFixed(1)} | ${r.latencyMs.p95.toFixed(1)} | ${r.latencyMs.p99.toFixed(1)} | ${r.meanBatch?.toFixed(1) ?? "-"} | ${r.tokenizeMsPerRequest?.toFixed(3) ?? "-"} | ${r.inferenceMsPerRequest?.toFixed(3) ?? "-"} | ${r.errors} |`);
}
console.log(`\nceiling (in-process, batch 32, one thread): ${ceilingOneThread.toFixed(0)} emails/s; with ${workers} worker threads: ${ceilingPool.toFixed(0)} emails/s`);
console.log(`dynamic batching at 64 clients: ${summary.ratioVsNoBatching.toFixed(2)}× maxBatchSize 1, ${summary.ratioVsPlain.toFixed(2)}× the plain handler`);
console.log(`best end-to-end throughput: ${(summary.shareOfCeiling * 100).toFixed(0)}% of the one-thread ceiling, ${(summary.shareOfPoolCeiling * 100).toFixed(0)}% of the ${workers}-worker ceiling`);
console.log(`p99 at half the max throughput (${halfRate} req/s, open loop): ${summary.p99AtHalfMaxMs.toFixed(1)} ms`);
await mkdir(dirname(resolve(values.output!)), { recursive: true });
await writeFile(resolve(values.output!), JSON.stringify({ date: new Date().toISOString(), cores: availableParallelism(), duration, emails: emails.length, latency: "per request, send to last byte (closed loop) or due time to last byte (open loop), HDR histogram in µs", rows, summary }, null, 2) + "\n");
console.log(`wrote ${values.output}`);
