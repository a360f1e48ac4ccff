import { Piscina } from "piscina";
import { DynamicBatcher, type BatchOutcome, type SubmitOptions } from "../../batching/dynamic-batcher.js";
import { ServingError, fromPayload, isErrorCode } from "../../errors/registry.js";
import type { BackendContext, ClassificationOutput, EmbeddingOutput, ModelBackend, PlacementInfo } from "../backend.js";
import { scoreLogits } from "../classification-scores.js";
import { HEADER, type WorkerDescription, type WorkerFailure, type WorkerInit, type WorkerTask } from "./worker-protocol.js";

type WorkerAnswer = Float32Array | WorkerDescription | WorkerFailure;

function workerFile(): string {
  // Built, the worker is worker.js; from the TypeScript sources (tests, tsx) an entry that loads tsx first.
  const fromSource = import.meta.url.endsWith(".ts");
  return new URL(fromSource ? "./worker-source-entry.mjs" : "./worker.js", import.meta.url).href;
}

function isFailure(answer: WorkerAnswer): answer is WorkerFailure {
  return typeof answer === "object" && answer !== null && "error" in answer;
}

function failureToError(failure: WorkerFailure): ServingError {
  const payload = failure.error;
  return isErrorCode(payload.code) ? fromPayload(payload) : new ServingError("ERR_INTERNAL", payload.message);
}

/** ONNX model: a piscina pool (one ORT session + tokenizer per worker) fed by a dynamic batcher in the main thread. */
export async function createOnnxBackend(context: BackendContext): Promise<ModelBackend> {
  const { manifest, dir, metrics, workers } = context;
  const labels = manifest.labels;
  const temperature = manifest.calibration.temperature;
  const init: WorkerInit = {
    dir,
    manifest,
    placement: { device: manifest.device, intraOpThreads: manifest.batching.intraOpThreads },
  };
  const pool = new Piscina<WorkerTask, WorkerAnswer>({
    filename: workerFile(),
    workerData: init,
    minThreads: workers,
    maxThreads: workers,
    idleTimeout: Infinity,
    concurrentTasksPerWorker: 1,
  });
  let created = 0;
  pool.on("workerCreate", () => {
    if (++created > workers) metrics.workerRestarts.inc({ model: manifest.name });
  });
  // Without a listener, a worker that fails outside a task would take the process down.
  pool.on("error", (error: Error) => context.log("warn", `${manifest.name}: worker pool error: ${error.message}`));

  const run = async (task: WorkerTask): Promise<WorkerAnswer> => {
    try {
      return await pool.run(task);
    } catch (error) {
      throw new ServingError("ERR_WORKER_FAILED", `${manifest.name}: inference worker failed: ${(error as Error).message}`, { cause: error });
    }
  };

  /** One batch through a worker: per input, its token count, whether it was cut, and the head's numbers. */
  const runRaw = async (texts: string[]): Promise<{ items: Array<{ tokens: number; truncated: boolean; at: number }>; answer: Float32Array; computeMs: number }> => {
    const answer = await run({ kind: "run", texts });
    if (isFailure(answer)) throw failureToError(answer);
    if (!(answer instanceof Float32Array)) throw new ServingError("ERR_INTERNAL", "worker answered a run task with the wrong shape");
    const [tokenizeMs = 0, inferenceMs = 0, batch = 0, width = 0] = answer;
    const stride = width + 2;
    const items = [];
    let tokens = 0;
    for (let b = 0; b < batch; b++) {
      const at = HEADER + b * stride;
      tokens += answer[at]!;
      items.push({ tokens: answer[at]!, truncated: answer[at + 1] === 1, at: at + 2 });
    }
    metrics.tokens.inc({ model: manifest.name }, tokens);
    metrics.tokenizeDuration.observe({ model: manifest.name }, tokenizeMs / 1000);
    metrics.inferenceDuration.observe({ model: manifest.name }, inferenceMs / 1000);
    return { items, answer, computeMs: tokenizeMs + inferenceMs };
  };

  const classifyBatch = async (texts: string[]): Promise<BatchOutcome<ClassificationOutput>> => {
    const { items, answer, computeMs } = await runRaw(texts);
    return { outputs: items.map((item) => scoreLogits(answer, item.at, labels, temperature, item.tokens, item.truncated, manifest.multiLabel)), computeMs };
  };

  const embedBatch = async (texts: string[]): Promise<BatchOutcome<EmbeddingOutput>> => {
    const { items, answer, computeMs } = await runRaw(texts);
    const width = manifest.embedding!.dimensions;
    return { outputs: items.map((item) => ({ vector: answer.slice(item.at, item.at + width), tokens: item.tokens, truncated: item.truncated })), computeMs };
  };

  const observer = {
    onBatch: (size: number, waits: number[]) => {
      metrics.batchSize.observe({ model: manifest.name }, size);
      for (const wait of waits) metrics.queueWait.observe({ model: manifest.name }, wait / 1000);
    },
    onQueueDepth: (depth: number) => metrics.queueDepth.set({ model: manifest.name }, depth),
  };
  const settings = { ...manifest.batching, concurrency: workers };
  const weight = (text: string) => Math.min(text.length, manifest.limits.maxChars);
  const embeds = manifest.task === "embeddings";
  // One queue per model, of the kind its task answers: the same batching, back-pressure and deadlines for both.
  const classifier = embeds ? undefined : new DynamicBatcher<string, ClassificationOutput>(settings, classifyBatch, observer, weight);
  const embedder = embeds ? new DynamicBatcher<string, EmbeddingOutput>(settings, embedBatch, observer, weight) : undefined;
  const queue: { drain(): Promise<void> } = classifier ?? embedder!;
  const runBatch = (texts: string[]) => (embeds ? embedBatch(texts) : classifyBatch(texts));

  // Warm-up: every worker loads at start; one describe task each reports where it runs (or why it failed),
  // and one full batch each lets ORT allocate its buffers before the first real request.
  let description: WorkerDescription;
  try {
    const answers = await Promise.all(Array.from({ length: workers }, () => run({ kind: "describe" })));
    const failure = answers.find(isFailure);
    if (failure) throw failureToError(failure);
    description = answers[0] as WorkerDescription;
    const sample = Array.from({ length: manifest.batching.maxBatchSize }, (_, i) => `warm-up input ${i}`);
    await Promise.all(Array.from({ length: workers }, () => runBatch(sample)));
  } catch (error) {
    await pool.destroy();
    throw error;
  }
  if (description.fallbackReason) {
    context.log("warn", `${manifest.name}: CUDA unavailable, serving on CPU (${description.fallbackReason})`);
  }
  const placement: PlacementInfo = {
    provider: description.provider,
    device: description.provider === "cuda" ? `cuda:${description.deviceId ?? 0}` : "cpu",
    workers,
    threadsPerWorker: manifest.batching.intraOpThreads,
    ...(description.fallbackReason ? { fallbackReason: description.fallbackReason } : {}),
  };

  return {
    manifest,
    dir,
    placement,
    classify: (texts, options) => {
      if (!classifier) return Promise.reject(new ServingError("ERR_MODEL_CANNOT_CLASSIFY", `model '${manifest.name}' is an embedding model: use /v1/embeddings`));
      return classifier.submit(texts, options);
    },
    ...(embedder ? { embed: (texts: string[], options: SubmitOptions) => embedder.submit(texts, options) } : {}),
    drain: () => queue.drain(),
    dispose: async () => {
      await queue.drain();
      await pool.destroy();
    },
    workerThreads: () => pool.threads,
  };
}
