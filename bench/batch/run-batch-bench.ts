import { performance } from "node:perf_hooks";
import OpenAI, { toFile } from "openai";
import { closedLoop, openLoop, type LoadResult } from "../load/load-generator.js";
import { median } from "../load/median.js";

export interface BatchBenchOptions {
  origin: string;
  model: string;
  /** The texts: interactive requests and batch lines use the same ones. */
  texts: string[];
  clients: number;
  /** Seconds of the interactive closed-loop measurement and of each half-load window. */
  seconds: number;
  /** Half-load windows with and without a batch, alternated, this many times each. */
  rounds: number;
  log?: (line: string) => void;
}

export interface BatchRun {
  lines: number;
  seconds: number;
  linesPerSecond: number;
  completed: number;
  failed: number;
}

export interface HalfLoadWindow {
  batchRunning: boolean;
  load: LoadResult;
  /** Batch lines answered during the window (when one ran). */
  batchLinesAnswered: number;
}

export interface BatchBenchResult {
  /** One closed-loop measurement and one batch per round, alternated; the ratio compares their medians. */
  interactiveRuns: LoadResult[];
  batchRuns: BatchRun[];
  throughput: { interactive: number; batch: number };
  throughputRatio: number;
  halfLoadRate: number;
  windows: HalfLoadWindow[];
  p99Ms: { without: number; with: number };
  p99Ratio: number;
}

const jsonl = (model: string, texts: string[]) =>
  `${texts.map((input, i) => JSON.stringify({ custom_id: `line-${i}`, method: "POST", url: "/v1/classify", body: { model, input } })).join("\n")}\n`;

async function startBatch(client: OpenAI, model: string, texts: string[]) {
  const file = await client.files.create({ file: await toFile(Buffer.from(jsonl(model, texts)), "bench.jsonl"), purpose: "batch" });
  return client.batches.create({ input_file_id: file.id, endpoint: "/v1/classify" as "/v1/chat/completions", completion_window: "24h" });
}

async function waitFor(client: OpenAI, id: string, done: (b: OpenAI.Batches.Batch) => boolean, everyMs = 50, giveUpMs = 600_000): Promise<OpenAI.Batches.Batch> {
  const giveUp = performance.now() + giveUpMs;
  for (;;) {
    const batch = await client.batches.retrieve(id);
    if (done(batch)) return batch;
    if (performance.now() > giveUp) throw new Error(`batch ${id} is still ${batch.status} after ${giveUpMs / 1000} s`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const ended = (b: OpenAI.Batches.Batch) => ["completed", "failed", "expired", "cancelled"].includes(b.status);
const answeredOf = (b: OpenAI.Batches.Batch) => (b.request_counts?.completed ?? 0) + (b.request_counts?.failed ?? 0);
/**
 * The Batch API against interactive requests on one server, alternated `rounds` times so that a noisy machine
 * shows in the spread, not in the ratio: (1) the texts as interactive requests, `clients` in a closed loop; (2) the
 * same texts as one batch, from creation to completion; then (3) interactive requests in an open loop at half the
 * median throughput of (1), in windows without and with a large batch running.
 */
export async function runBatchBench(options: BatchBenchOptions): Promise<BatchBenchResult> {
  const { origin, model, texts } = options;
  const log = options.log ?? (() => {});
  const client = new OpenAI({ baseURL: `${origin}/v1`, apiKey: "local", maxRetries: 0 });
  const bodies = texts.map((input) => JSON.stringify({ model, input }));

  const interactiveRuns: LoadResult[] = [];
  const batchRuns: BatchRun[] = [];
  for (let round = 0; round < options.rounds; round++) {
    const interactive = await closedLoop({ origin, path: "/v1/classify", bodies, durationSeconds: options.seconds, warmupSeconds: 2 }, options.clients);
    interactiveRuns.push(interactive);
    log(`interactive, ${options.clients} clients: ${interactive.throughput.toFixed(0)} req/s, p99 ${interactive.latencyMs.p99.toFixed(1)} ms, ${interactive.errors} errors`);
    const created = await startBatch(client, model, texts);
    const started = performance.now();
    const finished = await waitFor(client, created.id, ended, 20);
    const seconds = (performance.now() - started) / 1000;
    const run: BatchRun = { lines: texts.length, seconds, linesPerSecond: texts.length / seconds, completed: finished.request_counts?.completed ?? 0, failed: finished.request_counts?.failed ?? 0 };
    batchRuns.push(run);
    log(`batch of ${texts.length} lines: ${seconds.toFixed(2)} s, ${run.linesPerSecond.toFixed(0)} lines/s (${run.completed} answered, ${run.failed} failed)`);
  }
  const throughput = { interactive: median(interactiveRuns.map((r) => r.throughput)), batch: median(batchRuns.map((r) => r.linesPerSecond)) };
  const batch = { linesPerSecond: throughput.batch };

  const rate = Math.round(throughput.interactive / 2);
  const windows: HalfLoadWindow[] = [];
  for (let round = 0; round < options.rounds; round++) {
    for (const batchRunning of [false, true]) {
      let running: OpenAI.Batches.Batch | undefined;
      if (batchRunning) {
        // Enough lines to outlast the window: beside interactive traffic a batch gets at most an eighth of one
        // worker, so what a batch alone answers in 1.5 windows is plenty, plus the seconds it runs alone, at full
        // speed, before its first progress is stored and the window starts.
        const lines = Array.from({ length: Math.ceil((batch.linesPerSecond * (options.seconds * 1.5 + 3)) / texts.length) }, () => texts).flat();
        running = await startBatch(client, model, lines);
        running = await waitFor(client, running.id, (b) => ended(b) || (b.status === "in_progress" && answeredOf(b) > 0));
      }
      const before = running ? answeredOf(await client.batches.retrieve(running.id)) : 0;
      const load = await openLoop({ origin, path: "/v1/classify", bodies, durationSeconds: options.seconds, warmupSeconds: 1 }, rate);
      let batchLinesAnswered = 0;
      if (running) {
        if (ended(await client.batches.retrieve(running.id))) log("warning: the batch ended before the window did");
        else await client.batches.cancel(running.id);
        // The final counts are exact (progress is written about once a second): lines answered until the cancel took effect.
        batchLinesAnswered = answeredOf(await waitFor(client, running.id, ended)) - before;
      }
      windows.push({ batchRunning, load, batchLinesAnswered });
      log(`half load (${rate} req/s) ${batchRunning ? "with" : "without"} a batch: p50 ${load.latencyMs.p50.toFixed(1)} ms, p99 ${load.latencyMs.p99.toFixed(1)} ms, ${load.errors} errors${running ? `; batch lines answered meanwhile: ${batchLinesAnswered}` : ""}`);
    }
  }
  const p99 = (running: boolean) => median(windows.filter((w) => w.batchRunning === running).map((w) => w.load.latencyMs.p99));
  const p99Ms = { without: p99(false), with: p99(true) };
  return { interactiveRuns, batchRuns, throughput, throughputRatio: throughput.batch / throughput.interactive, halfLoadRate: rate, windows, p99Ms, p99Ratio: p99Ms.with / p99Ms.without };
}
