import { z } from "zod";

/** Limits on how many generations one request asks for: each takes a sequence of the model's context. */
export const MAX_CHOICES = 4;
export const MAX_PROMPTS = 16;

/** Request fields shared by /v1/completions and /v1/chat/completions (OpenAI's names). */
const Sampling = {
  model: z.string().min(1).max(200),
  max_tokens: z.number().int().min(1).max(32_768).optional(),
  max_completion_tokens: z.number().int().min(1).max(32_768).optional(),
  temperature: z.number().min(0).max(2).optional(),
  top_p: z.number().gt(0).max(1).optional(),
  seed: z.number().int().optional(),
  stop: z.union([z.string(), z.array(z.string()).max(4)]).optional(),
  stream: z.boolean().optional(),
  n: z.number().int().min(1).max(MAX_CHOICES).optional().describe(`Choices per prompt, generated in parallel (at most ${MAX_CHOICES}).`),
  presence_penalty: z.number().min(-2).max(2).optional(),
  frequency_penalty: z.number().min(-2).max(2).optional(),
  stream_options: z
    .object({ include_usage: z.boolean().optional().describe("End the stream with a chunk holding the usage (and no choices).") })
    .strict()
    .optional(),
  user: z.string().optional(),
  deadline_ms: z.number().int().positive().optional(),
  response_format: z
    .union([
      z.object({ type: z.literal("text") }).strict(),
      z.object({ type: z.literal("json_object") }).strict().describe("Any JSON object (a JSON grammar)."),
      z
        .object({
          type: z.literal("json_schema"),
          json_schema: z.object({ name: z.string(), schema: z.record(z.string(), z.unknown()), strict: z.boolean().optional(), description: z.string().optional() }).strict(),
        })
        .strict(),
    ])
    .optional(),
};

/** Most alternatives a request may ask for at each token. */
export const MAX_TOP_LOGPROBS = 20;

export const CompletionBody = z
  .object({
    ...Sampling,
    logprobs: z
      .number()
      .int()
      .min(0)
      .max(5)
      .nullable()
      .optional()
      .describe("Each answer token's log-probability and this many likeliest alternatives (0–5; not with stream)."),
    prompt: z.union([z.string(), z.array(z.string()).min(1).max(MAX_PROMPTS)]).describe(`A prompt, or up to ${MAX_PROMPTS}: each gets n choices, indexed prompt × n + choice.`),
  })
  .strict();

export const ChatCompletionBody = z
  .object({
    ...Sampling,
    logprobs: z.boolean().nullable().optional().describe("Each answer token's log-probability under the model (not with stream)."),
    top_logprobs: z.number().int().min(0).max(MAX_TOP_LOGPROBS).nullable().optional().describe("With logprobs: this many likeliest alternatives per token."),
    messages: z
      .array(
        z
          .object({
            role: z.enum(["developer", "system", "user", "assistant"]).describe("developer is OpenAI's newer name for system, and is read as one."),
            content: z.union([
              z.string(),
              z.array(z.object({ type: z.literal("text"), text: z.string() }).strict()).describe("Text parts, read as one text (one per line)."),
            ]),
            name: z.string().optional(),
          })
          .strict(),
      )
      .min(1),
  })
  .strict();

const Usage = z.object({
  prompt_tokens: z.number(),
  completion_tokens: z.number(),
  total_tokens: z.number(),
  prompt_tokens_details: z.object({ cached_tokens: z.number().describe("Prompt tokens read from the model's KV cache (a prefix an earlier request evaluated), not evaluated again.") }).optional(),
});
const FinishReason = z.enum(["stop", "length"]);
/** Not OpenAI's: who answered, and the escalation when the specialist's JSON failed its schema or its confidence was low. */
const Provenance = {
  served_by: z.enum(["specialist", "frontier"]),
  version: z.string().describe("The model version that answered (a streamed answer has it in the x-model-version header)."),
  escalation: z
    .object({
      reason: z.enum(["output_invalid", "low_confidence"]),
      provider: z.string().optional(),
      frontier_model: z.string().optional(),
      cost_usd: z.number(),
      latency_ms: z.number(),
      degraded: z.boolean().describe("True when a low-confidence answer should have come from the frontier but is the specialist's."),
      degraded_reason: z.string().optional(),
    })
    .optional(),
};

/** Not OpenAI's: the calibrated confidence of a choice, when the model scores its answers (see `generation` in model.json). */
const ChoiceConfidence = { confidence: z.number().optional() };

const TopLogprob = z.object({ token: z.string(), logprob: z.number(), bytes: z.array(z.number()) });
const ChatLogprobs = z.object({ content: z.array(TopLogprob.extend({ top_logprobs: z.array(TopLogprob) })), refusal: z.null() });
const TextLogprobs = z.object({
  tokens: z.array(z.string()),
  token_logprobs: z.array(z.number()),
  top_logprobs: z.array(z.record(z.string(), z.number())).nullable(),
  text_offset: z.array(z.number()),
});

export const CompletionResponse = z.object({
  id: z.string(),
  object: z.literal("text_completion"),
  created: z.number(),
  model: z.string(),
  choices: z.array(z.object({ index: z.number(), text: z.string(), finish_reason: FinishReason, logprobs: TextLogprobs.nullable(), ...ChoiceConfidence })),
  usage: Usage,
  ...Provenance,
});

export const ChatCompletionResponse = z.object({
  id: z.string(),
  object: z.literal("chat.completion"),
  created: z.number(),
  model: z.string(),
  choices: z.array(
    z.object({
      index: z.number(),
      message: z.object({ role: z.literal("assistant"), content: z.string() }),
      finish_reason: FinishReason,
      logprobs: ChatLogprobs.nullable().optional(),
      ...ChoiceConfidence,
    }),
  ),
  usage: Usage,
  ...Provenance,
});
