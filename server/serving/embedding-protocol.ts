import { z } from "zod";

/** The embeddings protocol, OpenAI's shape: what callers send to POST /v1/embeddings and get back. */

export const EmbeddingRequest = z
  .object({
    model: z.string().min(1).max(200).describe("Name of a served embedding model (GET /v1/models, task embeddings)."),
    input: z
      .union([z.string(), z.array(z.string()).min(1), z.array(z.number()), z.array(z.array(z.number()))])
      .describe("One text, or a list of texts embedded in order. (Token-id arrays, which OpenAI also takes, are refused: send the text.)"),
    encoding_format: z.enum(["float", "base64"]).default("float").describe("float: arrays of numbers; base64: each vector's little-endian float32 bytes."),
    dimensions: z.number().int().positive().optional().describe("Fewer dimensions, for a model trained for it (Matryoshka); otherwise only its own count."),
    user: z.string().max(256).optional().describe("Accepted for compatibility; not used."),
    deadline_ms: z.number().int().positive().optional().describe("Answer within this many milliseconds or fail with 504 ERR_DEADLINE_EXCEEDED."),
  })
  .strict();
export type EmbeddingRequest = z.infer<typeof EmbeddingRequest>;

export const EmbeddingResponse = z.object({
  object: z.literal("list"),
  data: z.array(
    z.object({
      object: z.literal("embedding"),
      index: z.number(),
      embedding: z.union([z.array(z.number()), z.string()]),
      truncated: z.boolean().describe("True when the input was cut to the model's maximum length."),
    }),
  ),
  model: z.string(),
  version: z.string(),
  usage: z.object({ prompt_tokens: z.number(), total_tokens: z.number() }),
});
export type EmbeddingResponse = z.infer<typeof EmbeddingResponse>;
