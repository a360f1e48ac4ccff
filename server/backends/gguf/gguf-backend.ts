import { open, readFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { LlamaContext, LlamaContextSequence, LlamaModel } from "node-llama-cpp";
import { DynamicBatcher, type BatchOutcome } from "../../batching/dynamic-batcher.js";
import { ServingError } from "../../errors/registry.js";
import { GgufSettings } from "./gguf-settings.js";
import type { BackendContext, ClassificationOutput, ModelBackend, PlacementInfo } from "../backend.js";
import { scoreLogits } from "../classification-scores.js";
import { parseClassifyPrompt, promptTokens } from "./classify-prompt.js";
import { labelCandidates, labelLogProbabilities } from "./label-scorer.js";
import { llamaRuntime, type LlamaRuntime } from "./llama-runtime.js";
import { serializeLogitReads } from "./serial-logit-reads.js";
import { releaseDecodeReadsTogether } from "./decode-step-reads.js";
import { validateGgufInChild } from "./validate-gguf.js";
import { createTextGenerator, type PreparedPrompt } from "./text-generator.js";
import { createGgufEmbedder } from "./gguf-embedder.js";
import type { GenerationOptions, GenerationRequest, GenerationResult } from "../generation.js";

/** Fails with a message that names the cause before llama.cpp sees the file (it only says "Failed to load model"). */
async function checkGgufFile(path: string): Promise<void> {
  let handle;
  try {
    handle = await open(path, "r");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ServingError("ERR_MODEL_LOAD_FAILED", `${path}: ${code === "ENOENT" ? "file not found" : (error as Error).message}`);
  }
  try {
    const magic = Buffer.alloc(4);
    await handle.read(magic, 0, 4, 0);
    if (magic.toString("latin1") !== "GGUF") {
      throw new ServingError("ERR_MODEL_LOAD_FAILED", `${path}: not a GGUF file (starts with ${JSON.stringify(magic.toString("latin1"))}, expected "GGUF")`);
    }
  } finally {
    await handle.close();
  }
}

async function loadModel(runtime: LlamaRuntime, path: string, gpuLayers: "auto" | "max" | number): Promise<LlamaModel> {
  const before = runtime.messageCount();
  try {
    return await runtime.llama.loadModel({ modelPath: path, gpuLayers });
  } catch (error) {
    // llama.cpp's log lines reach the logger after the rejection: give them a moment.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const said = runtime.messagesSince(before).filter((m) => m.length > 0);
    const cause = said.length > 0 ? said.slice(-3).join("; ") : (error as Error).message;
    throw new ServingError("ERR_MODEL_LOAD_FAILED", `${path}: llama.cpp could not load it: ${cause}`, { cause: error });
  }
}

type GenerateJob = { kind: "generate"; request: GenerationRequest; options: GenerationOptions; prompt: PreparedPrompt };
type Job = { kind: "classify"; text: string } | GenerateJob;
type JobResult = { kind: "classify"; output: ClassificationOutput } | { kind: "generate"; result: GenerationResult };

export interface GgufBackend extends ModelBackend {
  /**
   * Natural-log probability of each label's token sequence after the prompt, uncalibrated, up to one constant shared
   * by all labels (the first token is normalised over the labels' first tokens: see label-scorer.ts).
   */
  labelLogProbabilities(text: string): Promise<number[]>;
}

/** A context longer than this is asked for in gguf.contextSize: every sequence keeps a KV cache of that length. */
const DEFAULT_MAX_CONTEXT = 4096;

async function readClassifyPrompt(dir: string, file: string, model: string): Promise<string> {
  return readFile(join(dir, file), "utf8").catch((error: NodeJS.ErrnoException) => {
    throw new ServingError("ERR_MANIFEST_INVALID", `${model}: classification prompt ${file} cannot be read (${error.code ?? error.message}); a model used only to generate text sets "task": "text-generation"`);
  });
}

/**
 * GGUF classifier on llama.cpp: one context with N sequences; the dynamic batcher (batches of one input, N at a
 * time) gives each input a free sequence, and sequences evaluated in the same tick share llama.cpp's decode batch.
 * The label is read from the model's next-token probabilities over each label's token sequence.
 */
export async function createGgufBackend(context: BackendContext): Promise<GgufBackend> {
  const { manifest, dir, metrics } = context;
  const settings = GgufSettings.parse(manifest.backend);
  // Half the cores: the event loop, the ONNX workers and the clients need the rest, and llama.cpp slows down
  // sharply when its threads wait for busy cores (measured here: 1 thread served 2× the requests of 2).
  const threads = settings.threads === "auto" ? Math.max(1, Math.floor(availableParallelism() / 2)) : settings.threads;
  const path = join(dir, manifest.artifacts.model);
  await checkGgufFile(path);
  // The child's check and this process's llama.cpp start-up (about half a second each) overlap; a file unchanged
  // since it last passed is not checked again.
  const validated = performance.now();
  // A cpu replica beside a GPU one shares the GPU build of llama.cpp (one native binding per process) with no layers
  // offloaded, rather than loading the CPU-only build as well.
  const gpuSibling = manifest.device === "cpu" ? context.replicaDevices?.find((d) => d !== "cpu") : undefined;
  const gpuLayers = manifest.device === "cpu" ? 0 : settings.gpuLayers;
  const validation = async () => {
    if (await context.checkedFiles?.passed(path)) return;
    await validateGgufInChild(path);
    context.log("info", `${manifest.name}: ${manifest.artifacts.model} validated in a child process in ${Math.round(performance.now() - validated)} ms`);
    await context.checkedFiles?.remember(path);
  };
  const [runtime] = await Promise.all([llamaRuntime(gpuSibling ?? manifest.device, threads), validation()]);
  if (manifest.device === "auto" && runtime.gpu === false) {
    context.log("info", `${manifest.name}: no usable GPU for llama.cpp, serving on CPU`);
  }
  const model = await loadModel(runtime, path, gpuLayers);
  let llamaContext: LlamaContext | undefined;
  const placement: PlacementInfo = {
    provider: "llama.cpp",
    device: runtime.gpu === false || gpuLayers === 0 ? "cpu" : String(runtime.gpu),
    workers: settings.sequences,
    threadsPerWorker: threads,
  };
  try {
    const contextSize = settings.contextSize ?? Math.min(model.trainContextSize, DEFAULT_MAX_CONTEXT);
    if (manifest.task === "embeddings") {
      const embedder = await createGgufEmbedder(model, manifest, { contextSize, sequences: settings.sequences, threads, metrics });
      await embedder.embed(["warm-up input"], { deadline: performance.now() + 60_000 });
      const refuse = () => Promise.reject(new ServingError("ERR_MODEL_CANNOT_CLASSIFY", `model '${manifest.name}' is an embedding model: use /v1/embeddings`));
      return {
        manifest: embedder.manifest,
        dir,
        placement,
        classify: refuse,
        labelLogProbabilities: refuse,
        embed: embedder.embed,
        drain: embedder.drain,
        dispose: async () => {
          await embedder.dispose();
          await model.dispose();
        },
      };
    }
    const classifies = manifest.task === "text-classification";
    const tokenize = (text: string) => Array.from(model.tokenize(text), Number);
    // BOS as the GGUF's metadata says (tokenizer.ggml.add_bos_token), as llama.cpp's own completion does.
    const bos = model.tokens.bos === null || !model.tokens.shouldPrependBosToken ? undefined : Number(model.tokens.bos);
    const prompt = classifies ? parseClassifyPrompt(await readClassifyPrompt(dir, settings.prompt, manifest.name), settings.prompt) : undefined;
    const labelTokens = manifest.labels.map((label) => {
      const tokens = tokenize(settings.labelTexts?.[label] ?? ` ${label}`);
      if (tokens.length === 0) throw new ServingError("ERR_MANIFEST_INVALID", `${manifest.name}: label '${label}' has no tokens`);
      return tokens;
    });
    if (prompt) {
      const overhead = promptTokens(tokenize, bos, prompt, "", { maxInputTokens: 0, maxChars: 0 }).tokens.length;
      const longestLabel = Math.max(...labelTokens.map((t) => t.length));
      if (overhead + manifest.limits.maxTokens + longestLabel > contextSize) {
        throw new ServingError(
          "ERR_MANIFEST_INVALID",
          `${manifest.name}: limits.maxTokens ${manifest.limits.maxTokens} + ${overhead} prompt tokens + ${longestLabel} label tokens exceed the context of ${contextSize} tokens (gguf.contextSize, default the model's own up to ${DEFAULT_MAX_CONTEXT})`,
        );
      }
    }
    const candidates = prompt ? labelCandidates(model, labelTokens) : undefined;
    // The instructions around the input are the same on every request: tokenized once.
    const fixedPieces = new Map(prompt ? [prompt.prefix, prompt.suffix].map((piece) => [piece, tokenize(piece)] as const) : []);
    const tokenizeInPrompt = (text: string) => fixedPieces.get(text) ?? tokenize(text);
    llamaContext = await model.createContext({ contextSize, sequences: settings.sequences, threads });
    const free: LlamaContextSequence[] = Array.from({ length: settings.sequences }, () => llamaContext!.getSequence());
    serializeLogitReads(llamaContext);
    releaseDecodeReadsTogether(llamaContext);

    const classifyOne = async (text: string): Promise<{ output: ClassificationOutput; logProbs: number[] }> => {
      if (!prompt) throw new ServingError("ERR_MODEL_CANNOT_CLASSIFY", `model '${manifest.name}' generates text: use /v1/chat/completions or /v1/completions`);
      const built = promptTokens(tokenizeInPrompt, bos, prompt, text, { maxInputTokens: manifest.limits.maxTokens, maxChars: manifest.limits.maxChars });
      const sequence = free.pop();
      if (!sequence) throw new ServingError("ERR_INTERNAL", `${manifest.name}: no free sequence although the batcher allows one`);
      metrics.sequencesBusy.observe({ model: manifest.name }, settings.sequences - free.length);
      try {
        const logProbs = await labelLogProbabilities(sequence, built.tokens, labelTokens, settings.reusePrefix, candidates);
        if (logProbs.some(Number.isNaN)) throw new ServingError("ERR_INTERNAL", `${manifest.name}: the model produced NaN probabilities`);
        return { output: scoreLogits(logProbs, 0, manifest.labels, manifest.calibration.temperature, built.tokens.length, built.truncated), logProbs };
      } finally {
        free.push(sequence);
      }
    };

    const generator = createTextGenerator(runtime.llama, model, contextSize, { ...(settings.chatTemplate ? { chatTemplate: settings.chatTemplate } : {}), reusePrefix: settings.reusePrefix });
    const generateOne = async (job: GenerateJob): Promise<GenerationResult> => {
      const sequence = free.pop();
      if (!sequence) throw new ServingError("ERR_INTERNAL", `${manifest.name}: no free sequence although the batcher allows one`);
      metrics.sequencesBusy.observe({ model: manifest.name }, settings.sequences - free.length);
      try {
        const result = await generator.generateOn(sequence, job.request, job.options, job.prompt);
        metrics.generations.inc({ model: manifest.name, finish: result.finishReason });
        metrics.generatedTokens.inc({ model: manifest.name }, result.completionTokens);
        return result;
      } finally {
        free.push(sequence);
      }
    };

    // Classification and generation share the sequences, so one batcher (batches of one job) hands them out.
    const runBatch = async (jobs: Job[]): Promise<BatchOutcome<JobResult>> => {
      const started = performance.now();
      const outputs = await Promise.all(
        jobs.map(async (job): Promise<JobResult> =>
          job.kind === "classify" ? { kind: "classify", output: (await classifyOne(job.text)).output } : { kind: "generate", result: await generateOne(job) },
        ),
      );
      const computeMs = performance.now() - started;
      const tokens = outputs.reduce((sum, o) => sum + (o.kind === "classify" ? o.output.tokens : o.result.promptTokens + o.result.completionTokens), 0);
      metrics.tokens.inc({ model: manifest.name }, tokens);
      metrics.inferenceDuration.observe({ model: manifest.name }, computeMs / 1000);
      return { outputs, computeMs };
    };
    const batcher = new DynamicBatcher<Job, JobResult>(
      { maxBatchSize: 1, maxQueueDelayMs: 0, maxQueueSize: manifest.batching.maxQueueSize, concurrency: settings.sequences },
      runBatch,
      {
        onBatch: (size, waits) => {
          metrics.batchSize.observe({ model: manifest.name }, size);
          for (const wait of waits) metrics.queueWait.observe({ model: manifest.name }, wait / 1000);
        },
        onQueueDepth: (depth) => metrics.queueDepth.set({ model: manifest.name }, depth),
      },
    );
    if (classifies) await runBatch([{ kind: "classify", text: "warm-up input" }]);
    else {
      const warmUp = { prompt: "Hello", maxTokens: 1 };
      await runBatch([{ kind: "generate", request: warmUp, options: { deadline: performance.now() + 60_000 }, prompt: generator.check(warmUp) }]);
    }

    const ctx = llamaContext;
    return {
      manifest,
      dir,
      placement,
      classify: async (texts, options) => {
        const result = await batcher.submit(texts.map((text): Job => ({ kind: "classify", text })), options);
        return { ...result, outputs: result.outputs.map((o) => (o as { kind: "classify"; output: ClassificationOutput }).output) };
      },
      generate: async (request, options) => {
        const prompt = generator.check(request);
        const result = await batcher.submit([{ kind: "generate", request, options, prompt }], { deadline: options.deadline, ...(options.signal ? { signal: options.signal } : {}), ...(options.priority ? { priority: options.priority } : {}) });
        return (result.outputs[0] as { kind: "generate"; result: GenerationResult }).result;
      },
      labelLogProbabilities: async (text: string) => (await classifyOne(text)).logProbs,
      drain: () => batcher.drain(),
      dispose: async () => {
        await batcher.drain();
        await ctx.dispose();
        await model.dispose();
      },
    };
  } catch (error) {
    await llamaContext?.dispose();
    await model.dispose();
    throw error;
  }
}
