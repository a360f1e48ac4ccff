import { z } from "zod";

/** `auto`: CUDA when it loads, CPU otherwise; `cuda` or `cuda:N`: CUDA or fail; `cpu`: CPU only. */
export const Device = z
  .string()
  .regex(/^(auto|cpu|cuda(:\d+)?)$/, "must be auto, cpu, cuda or cuda:<device id>");

/** One copy of a model on one device. */
export const Replica = z
  .object({
    device: Device,
    /** ONNX: worker threads (each with its own session) on this device. GGUF: 1 (a replica is one context with `gguf.sequences` sequences). */
    workers: z.number().int().min(1).max(256).default(1),
  })
  .strict();

/** `cuda` and `cuda:0` are the same GPU. */
export function deviceKey(device: string): string {
  return device === "cuda" ? "cuda:0" : device;
}

/** Copies of a model across devices (e.g. cuda:0, cuda:1, cpu); requests go to the least loaded one. */
export const Replicas = z
  .array(Replica)
  .min(1)
  .max(16)
  .superRefine((replicas, ctx) => {
    const seen = new Set<string>();
    replicas.forEach((r, i) => {
      const key = deviceKey(r.device);
      if (seen.has(key)) ctx.addIssue({ code: "custom", path: [i, "device"], message: `device '${r.device}' appears twice: give one replica more workers instead` });
      seen.add(key);
    });
  });

export const BatchingSettings = z
  .object({
    /** Largest batch handed to one worker. */
    maxBatchSize: z.number().int().min(1).max(4096).default(32),
    /** How long the oldest queued input may wait for a fuller batch. */
    maxQueueDelayMs: z.number().min(0).max(10_000).default(0),
    /** Inputs (not requests) that may wait; beyond it requests get 429. */
    maxQueueSize: z.number().int().min(1).default(4096),
    /** Worker threads for this model; `auto` shares the cores among the ONNX models served. */
    workers: z.union([z.literal("auto"), z.number().int().min(1).max(256)]).default("auto"),
    /** ORT intra-op threads per worker. */
    intraOpThreads: z.number().int().min(1).max(256).default(1),
  })
  .strict();

export const InputLimits = z
  .object({
    /** Tokens fed to the model; longer inputs are truncated and reported with `truncated: true`. */
    maxTokens: z.number().int().min(2).max(1_000_000).default(512),
    /** Characters read from one input before tokenizing; bounds the work a single input can cause. */
    maxChars: z.number().int().min(1).default(100_000),
    /** Inputs accepted in one request. */
    maxInputsPerRequest: z.number().int().min(1).default(256),
  })
  .strict();

export const EscalationPolicy = z
  .object({
    /** What happens below `threshold`: send to the frontier, to human review, both, or nothing. */
    onLowConfidence: z.enum(["escalate", "review", "both", "none"]).default("escalate"),
    /** Generated JSON that fails its requested schema: ask the frontier the same request, or answer 422 at once. */
    onInvalidOutput: z.enum(["escalate", "reject"]).default("escalate"),
    /** Shadow mode: this share of confidently answered inputs also goes to the frontier in the background. */
    shadowRate: z.number().min(0).max(1).default(0),
    /** Provider (a name in the server's escalation.providers); the server's default provider when unset. */
    provider: z.string().min(1).optional(),
    /** Frontier prompt template, a versioned file in the model folder; a generic one when unset. */
    prompt: z.string().min(1).optional(),
  })
  .strict();

export const CostSettings = z
  .object({
    /** Price of the host that serves this model, for cost reports (USD per hour). */
    hostUsdPerHour: z.number().min(0).optional(),
  })
  .strict();

/** An embedding model's head: which output, how token vectors are pooled into one, and whether it is normalised. */
export const EmbeddingSettings = z
  .object({
    /** The graph output: token vectors [batch, sequence, dimensions] (pooled here) or sentence vectors [batch, dimensions]. */
    output: z.string().min(1).default("last_hidden_state"),
    /** `mean` of the tokens under the attention mask, the first (`cls`) token, or `none` when the output is already one vector per input. */
    pooling: z.enum(["mean", "cls", "none"]).default("mean"),
    /** Scale each vector to unit length (sentence-transformers' Normalize module). */
    normalize: z.boolean().default(true),
    /** The vector's length. */
    dimensions: z.number().int().min(1),
    /** Matryoshka-trained: a request may ask for fewer `dimensions` (the leading ones, normalised again). */
    truncatable: z.boolean().default(false),
  })
  .strict();

/**
 * How a generating model's answers get a confidence, so they escalate like classifications: the answer's token
 * log-probabilities become one score, temperature-scaled by the classification code (`specialist
 * calibrate-generation` fits it and the threshold on a labelled set).
 */
export const GenerationConfidence = z
  .object({
    /**
     * `mean` token log-probability, the least likely token (`min`), or `label`: for JSON answers, the tokens of the
     * values the schema's enums allow (the chosen label's probability); `mean` when the answer has none.
     */
    score: z.enum(["mean", "min", "label"]).default("mean"),
    temperature: z.number().positive().default(1),
    /** Calibrated confidence below which a non-streamed answer is escalated (escalation.onLowConfidence); unset: reported only. */
    threshold: z.number().min(0).max(1).optional(),
  })
  .strict();

/** How the semantic cache's threshold was chosen: written by calibration, read by serving. */
export const SemanticCacheCalibration = z
  .object({
    /** How texts become vectors: "lexical-v1" (hashed word unigrams and bigrams, see server/cache/lexical-vector.ts). */
    embedder: z.literal("lexical-v1"),
    /** Lowest cosine similarity that reuses a stored frontier answer. */
    similarity: z.number().min(0).max(1),
    /** The false-hit rate the threshold was held to (95% upper bound). */
    falseHitTarget: z.number().min(0).max(1),
    falseHitUpperBound: z.number().min(0).max(1),
    pairs: z.number().int().min(0),
    hits: z.number().int().min(0),
    falseHits: z.number().int().min(0),
    /** Which data chose it (never the test split). */
    calibratedOn: z.string(),
  })
  .strict();

/**
 * The fields of model.json every backend shares. A manifest also holds its backend's own block (`"<format>": {…}`),
 * which that backend's schema validates: see `server/models/manifest-validation.ts` and `server/backends/registry.ts`.
 */
export const ManifestCommon = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, "lower-case letters, digits, '.', '_' and '-' only"),
    version: z.string().min(1),
    /** The backend: `onnx`, `gguf` (the keys of the backend registry). */
    format: z.string().min(1),
    /**
     * `text-classification` (labels, calibrated confidence, escalation), `embeddings` (vectors, /v1/embeddings), or
     * `text-generation` (a GGUF model used only through the completion endpoints: no labels, no classify prompt).
     */
    task: z.enum(["text-classification", "embeddings", "text-generation"]),
    description: z.string().default(""),
    /** The classes, in the order of the model's output; required for text-classification, none for embeddings. */
    labels: z
      .array(z.string().min(1))
      .refine((labels) => new Set(labels).size === labels.length, "labels must be unique")
      .default([]),
    /**
     * Each label is a yes/no of its own (Hugging Face's problem_type multi_label_classification): a sigmoid per
     * logit, and an input may get none, one or several labels. Its confidence is that of the whole set.
     */
    multiLabel: z.boolean().default(false),
    /** How an embedding model's output becomes one vector per input. */
    embedding: EmbeddingSettings.optional(),
    artifacts: z
      .object({
        /** The model file; the backend's default (model.onnx, model.gguf) when unset. */
        model: z.string().min(1).optional(),
        /** Folder (relative to the model folder) holding tokenizer.json and tokenizer_config.json. */
        tokenizer: z.string().default("."),
      })
      .strict()
      .default({ tokenizer: "." }),
    limits: InputLimits.default(InputLimits.parse({})),
    batching: BatchingSettings.default(BatchingSettings.parse({})),
    calibration: z
      .object({ temperature: z.number().positive().default(1) })
      .strict()
      .default({ temperature: 1 }),
    /** Calibrated confidence below which an answer is not trusted (see `escalation`). */
    threshold: z.number().min(0).max(1).default(0.5),
    escalation: EscalationPolicy.default(EscalationPolicy.parse({})),
    /** A generating model's answer confidence (GGUF); none: answers carry no confidence unless logprobs are asked for. */
    generation: GenerationConfidence.optional(),
    /** The semantic cache's similarity threshold, chosen on labelled pairs (`specialist calibrate-cache`); none: off. */
    semanticCache: SemanticCacheCalibration.optional(),
    cost: CostSettings.default({}),
    device: Device.default("auto"),
    /** Copies across devices; when set, it replaces `device` and `batching.workers`. */
    replicas: Replicas.optional(),
  })
  .strict();

/** A validated manifest: the shared fields, the model file resolved, and the backend's own block with its defaults. */
export type ModelManifest = Omit<z.output<typeof ManifestCommon>, "artifacts"> & {
  artifacts: { model: string; tokenizer: string };
  /** The backend's block (`"<format>": {…}` in model.json), validated by its schema: read it with that schema. */
  backend: Readonly<Record<string, unknown>>;
};

/** model.json as written: the shared fields and the backend's block under its format's name. */
export type ModelManifestInput = z.input<typeof ManifestCommon> & { [block: string]: unknown };

