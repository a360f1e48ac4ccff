import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { ServingError } from "../errors/registry.js";
import { formatZodIssues } from "../config/zod-issues.js";

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

/** How a GGUF model is run by llama.cpp (format gguf only). */
export const GgufSettings = z
  .object({
    /** Classification prompt in the model folder; `{{input}}` marks where the text goes, the label follows its end. */
    prompt: z.string().min(1).default("prompts/classify.txt"),
    /** Text scored after the prompt for each label; default: a space and the label. Several tokens are fine. */
    labelTexts: z.record(z.string(), z.string().min(1)).optional(),
    /** Tokens of context per sequence: prompt + input + label must fit. */
    contextSize: z.number().int().min(32).max(131_072).default(512),
    /** Parallel sequences in the model's one context: requests evaluated together share llama.cpp decode batches. */
    sequences: z.number().int().min(1).max(256).default(4),
    /** CPU threads for llama.cpp; `auto` = half the cores. More threads than free cores makes llama.cpp far slower. */
    threads: z.union([z.literal("auto"), z.number().int().min(1).max(256)]).default("auto"),
    /** Layers offloaded to the GPU when one is used. */
    gpuLayers: z.union([z.literal("auto"), z.literal("max"), z.number().int().min(0)]).default("auto"),
  })
  .strict();

export const CostSettings = z
  .object({
    /** Price of the host that serves this model, for cost reports (USD per hour). */
    hostUsdPerHour: z.number().min(0).optional(),
  })
  .strict();

export const ModelManifest = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, "lower-case letters, digits, '.', '_' and '-' only"),
    version: z.string().min(1),
    format: z.enum(["onnx", "gguf"]),
    task: z.enum(["text-classification"]),
    description: z.string().default(""),
    labels: z.array(z.string().min(1)).min(2),
    artifacts: z
      .object({
        model: z.string().min(1).default("model.onnx"),
        /** Folder (relative to the model folder) holding tokenizer.json and tokenizer_config.json. */
        tokenizer: z.string().default("."),
      })
      .strict()
      .default({ model: "model.onnx", tokenizer: "." }),
    /** Name of the ONNX output holding [batch, labels] logits. */
    outputName: z.string().default("logits"),
    limits: InputLimits.default(InputLimits.parse({})),
    batching: BatchingSettings.default(BatchingSettings.parse({})),
    calibration: z
      .object({ temperature: z.number().positive().default(1) })
      .strict()
      .default({ temperature: 1 }),
    /** Calibrated confidence below which an answer is not trusted (see `escalation`). */
    threshold: z.number().min(0).max(1).default(0.5),
    escalation: EscalationPolicy.default(EscalationPolicy.parse({})),
    cost: CostSettings.default({}),
    device: Device.default("auto"),
    /** Copies across devices; when set, it replaces `device` and `batching.workers`. */
    replicas: Replicas.optional(),
    gguf: GgufSettings.optional(),
  })
  .strict()
  .superRefine((m, ctx) => {
    if (m.gguf && m.format !== "gguf") ctx.addIssue({ code: "custom", path: ["gguf"], message: "only for format gguf" });
    for (const label of Object.keys(m.gguf?.labelTexts ?? {})) {
      if (!m.labels.includes(label)) ctx.addIssue({ code: "custom", path: ["gguf", "labelTexts", label], message: `not one of the labels (${m.labels.join(", ")})` });
    }
    if (m.format === "gguf" && m.replicas) {
      m.replicas.forEach((r, i) => {
        if (r.workers !== 1) ctx.addIssue({ code: "custom", path: ["replicas", i, "workers"], message: "a GGUF replica is one llama.cpp context: raise gguf.sequences for more parallel requests" });
      });
      // node-llama-cpp 3.21 cannot pin a model to one GPU: llama.cpp spreads it over every visible CUDA device.
      const gpus = m.replicas.filter((r) => r.device !== "cpu");
      if (gpus.length > 1) {
        ctx.addIssue({
          code: "custom",
          path: ["replicas"],
          message: `a GGUF model can have one GPU replica (it uses the GPUs in CUDA_VISIBLE_DEVICES) and one cpu replica; got ${gpus.map((r) => r.device).join(", ")}: run one server per GPU with CUDA_VISIBLE_DEVICES=<id> instead`,
        });
      }
    }
    if (new Set(m.labels).size !== m.labels.length) {
      ctx.addIssue({ code: "custom", path: ["labels"], message: "labels must be unique" });
    }
    if (m.limits.maxInputsPerRequest > m.batching.maxQueueSize) {
      ctx.addIssue({
        code: "custom",
        path: ["limits", "maxInputsPerRequest"],
        message: `must not exceed batching.maxQueueSize (${m.batching.maxQueueSize}): a larger request could never be queued`,
      });
    }
  });

export type ModelManifest = z.infer<typeof ModelManifest>;
export type ModelManifestInput = z.input<typeof ModelManifest>;

export async function readManifest(dir: string): Promise<ModelManifest> {
  const path = join(dir, "model.json");
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, "utf8"));
  } catch (cause) {
    throw new ServingError("ERR_MANIFEST_INVALID", `${path}: ${(cause as Error).message}`, { cause });
  }
  const parsed = ModelManifest.safeParse(raw);
  if (!parsed.success) {
    throw new ServingError("ERR_MANIFEST_INVALID", `${path}: ${formatZodIssues(parsed.error)}`);
  }
  return parsed.data;
}
