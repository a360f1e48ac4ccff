import { z } from "zod";

/** model.json's `gguf` block: how llama.cpp runs the model. */
export const GgufSettings = z
  .object({
    /** Classification prompt in the model folder; `{{input}}` marks where the text goes, the label follows its end. */
    prompt: z.string().min(1).default("prompts/classify.txt"),
    /** Text scored after the prompt for each label; default: a space and the label. Several tokens are fine. */
    labelTexts: z.record(z.string(), z.string().min(1)).optional(),
    /**
     * Tokens of context per sequence: prompt + input + label (or prompt + reply) must fit. Default: the length the
     * model was trained for (its GGUF metadata), at most 4096, since each sequence keeps a KV cache of this size.
     */
    contextSize: z.number().int().min(32).max(131_072).optional(),
    /**
     * Keep what a sequence already evaluated when the next request starts the same way (a classify prompt's fixed
     * instructions, a chat's system prompt or earlier turns): only the rest is evaluated, as llama-server's
     * cache_prompt does. Off: every classification and generation starts from an empty sequence.
     */
    reusePrefix: z.boolean().default(true),
    /** A Jinja chat template for a model whose GGUF has none (or to replace it); chat messages are rendered with it. */
    chatTemplate: z.string().min(1).optional(),
    /** Parallel sequences in the model's one context: requests evaluated together share llama.cpp decode batches. */
    sequences: z.number().int().min(1).max(256).default(4),
    /** CPU threads for llama.cpp; `auto` = half the cores. More threads than free cores makes llama.cpp far slower. */
    threads: z.union([z.literal("auto"), z.number().int().min(1).max(256)]).default("auto"),
    /** Layers offloaded to the GPU when one is used. */
    gpuLayers: z.union([z.literal("auto"), z.literal("max"), z.number().int().min(0)]).default("auto"),
  })
  .strict();

export type GgufSettings = z.output<typeof GgufSettings>;
