import { performance } from "node:perf_hooks";
import type { LlamaEmbeddingContext, LlamaModel, Token } from "node-llama-cpp";
import { DynamicBatcher, type BatchOutcome } from "../../batching/dynamic-batcher.js";
import type { SubmitOptions } from "../../batching/dynamic-batcher.js";
import { ServingError } from "../../errors/registry.js";
import type { ServingMetrics } from "../../metrics/serving-metrics.js";
import type { ModelManifest } from "../../models/manifest.js";
import type { EmbeddingOutput, EmbedResult } from "../backend.js";
import { normalizeVector } from "../vectors.js";

/** llama.cpp's pooling types (`<arch>.pooling_type`), as the manifest's embedding block names them. */
const POOLING: Record<number, "mean" | "cls"> = { 1: "mean", 2: "cls" };
/** Room kept for the BOS/EOS tokens llama.cpp's embedding adds around the input. */
const SPECIAL_TOKENS_ROOM = 4;

export interface GgufEmbedder {
  /** The manifest with its embedding block as the file says (dimensions, pooling). */
  manifest: ModelManifest;
  embed(texts: string[], options: SubmitOptions): Promise<EmbedResult>;
  drain(): Promise<void>;
  dispose(): Promise<void>;
}

/**
 * A GGUF embedding model (llama.cpp's converter writes `<arch>.pooling_type` for them) on `sequences` embedding
 * contexts, one input each at a time. The vector is llama.cpp's pooled one (mean or CLS as the file says; the last
 * token's for a model without pooling), normalised unless the manifest's embedding block says not to. Inputs longer
 * than the context (or limits.maxTokens) are cut and flagged.
 */
export async function createGgufEmbedder(model: LlamaModel, manifest: ModelManifest, options: { contextSize: number; sequences: number; threads: number; metrics: ServingMetrics }): Promise<GgufEmbedder> {
  const dimensions = model.embeddingVectorSize;
  const given = manifest.embedding;
  if (given && given.dimensions !== dimensions) {
    throw new ServingError("ERR_MANIFEST_INVALID", `${manifest.name}: embedding.dimensions is ${given.dimensions} but the GGUF's vectors have ${dimensions}; fix model.json or leave the embedding block out`);
  }
  const metadata = model.fileInfo.metadata as unknown as Record<string, Record<string, unknown> | undefined>;
  const architecture = String(model.fileInfo.metadata.general.architecture);
  const pooling: "mean" | "cls" | "none" = POOLING[Number(metadata[architecture]?.pooling_type ?? 0)] ?? "none";
  const embedding = { output: "llama.cpp", pooling, normalize: given?.normalize ?? true, dimensions, truncatable: given?.truncatable ?? false };
  const contexts: LlamaEmbeddingContext[] = [];
  try {
    for (let i = 0; i < options.sequences; i++) contexts.push(await model.createEmbeddingContext({ contextSize: options.contextSize, threads: options.threads }));
  } catch (error) {
    await Promise.all(contexts.map((c) => c.dispose()));
    throw new ServingError("ERR_MODEL_LOAD_FAILED", `${manifest.name}: llama.cpp could not create an embedding context: ${(error as Error).message}`, { cause: error });
  }
  const free = [...contexts];
  const room = Math.min(manifest.limits.maxTokens, options.contextSize - SPECIAL_TOKENS_ROOM);
  const { metrics } = options;

  const embedOne = async (text: string): Promise<EmbeddingOutput> => {
    const all = model.tokenize(text.slice(0, manifest.limits.maxChars));
    const tokens: Token[] = all.length > room ? all.slice(0, room) : all;
    const context = free.pop();
    if (!context) throw new ServingError("ERR_INTERNAL", `${manifest.name}: no free embedding context although the batcher allows one`);
    try {
      const vector = Float32Array.from((await context.getEmbeddingFor(tokens)).vector);
      return { vector: embedding.normalize ? normalizeVector(vector) : vector, tokens: tokens.length, truncated: all.length > room || text.length > manifest.limits.maxChars };
    } finally {
      free.push(context);
    }
  };
  const batcher = new DynamicBatcher<string, EmbeddingOutput>(
    { maxBatchSize: 1, maxQueueDelayMs: 0, maxQueueSize: manifest.batching.maxQueueSize, concurrency: options.sequences },
    async (texts): Promise<BatchOutcome<EmbeddingOutput>> => {
      const started = performance.now();
      const outputs = await Promise.all(texts.map(embedOne));
      const computeMs = performance.now() - started;
      metrics.tokens.inc({ model: manifest.name }, outputs.reduce((sum, o) => sum + o.tokens, 0));
      metrics.inferenceDuration.observe({ model: manifest.name }, computeMs / 1000);
      return { outputs, computeMs };
    },
    {
      onBatch: (size, waits) => {
        metrics.batchSize.observe({ model: manifest.name }, size);
        for (const wait of waits) metrics.queueWait.observe({ model: manifest.name }, wait / 1000);
      },
      onQueueDepth: (depth) => metrics.queueDepth.set({ model: manifest.name }, depth),
    },
  );
  return {
    manifest: { ...manifest, embedding },
    embed: (texts, submit) => batcher.submit(texts, submit),
    drain: () => batcher.drain(),
    dispose: async () => {
      await batcher.drain();
      await Promise.all(contexts.map((c) => c.dispose()));
    },
  };
}
