import { z } from "zod";

/** The classification protocol: what callers send and get back, whichever front door they use. */

/** The body of POST /v1/classify, and of each classify line of a batch. */
export const ClassifyRequest = z
  .object({
    model: z.string().min(1).max(200).describe("Name of a served model (GET /v1/models)."),
    input: z
      .union([z.string(), z.array(z.string()).min(1)])
      .describe("One text, or a list of texts classified in order."),
    deadline_ms: z
      .number()
      .int()
      .positive()
      .optional()
      .describe("Answer within this many milliseconds or fail with 504 ERR_DEADLINE_EXCEEDED; defaults to the server's setting."),
    route: z
      .enum(["cascade", "specialist", "frontier"])
      .default("cascade")
      .describe(
        "cascade: below the model's threshold, escalate and/or queue for review as its policy says. specialist: never escalate or queue. frontier: escalate every input (the specialist's answer is the fallback). The last two bypass the response cache.",
      ),
  })
  .strict();

export const ClassificationResult = z.object({
  label: z.string().describe("The answer: the frontier's label when it answered, else the specialist's."),
  served_by: z.enum(["specialist", "frontier", "cache"]),
  cached_from: z.enum(["specialist", "frontier"]).optional().describe("With served_by cache: who gave the cached answer."),
  similarity: z
    .number()
    .optional()
    .describe("With cached_from frontier from the semantic cache: cosine similarity of this text to the one the frontier answered (at least the model's calibrated threshold)."),
  labels: z.array(z.string()).optional().describe("Multi-label models: every label whose calibrated probability is 0.5 or more (possibly none); `label` is the likeliest."),
  specialist_label: z.string(),
  score: z.number().describe("Uncalibrated model probability of the specialist's label."),
  scores: z.record(z.string(), z.number()).describe("Calibrated probability per label."),
  confidence: z.number().describe("Calibrated probability of the label (multi-label: of the whole set); compared with the model's threshold."),
  below_threshold: z.boolean().describe("True when confidence is under the model's threshold: the specialist's answer is not trusted."),
  escalated: z.boolean().describe("True when the input was sent towards the frontier (see `frontier` or `degraded_reason`)."),
  degraded: z.boolean().describe("True when the input should have been answered by the frontier but got the specialist's answer."),
  degraded_reason: z
    .string()
    .optional()
    .describe("escalation_disabled, no_provider, rate_limited, over_budget, circuit_open, deadline, cancelled, ledger_unavailable, state_unavailable, timeout, rate_limited, server_error, client_error, connection, invalid_answer"),
  frontier: z
    .object({ provider: z.string(), model: z.string(), label: z.string(), latency_ms: z.number(), cost_usd: z.number() })
    .optional(),
  review_id: z.number().int().optional().describe("Id of the human review item queued for this input."),
  truncated: z.boolean().describe("True when the input was cut to the model's maximum length."),
  tokens: z.number().int(),
});

export const ClassifyResponse = z.object({
  model: z.string(),
  version: z.string(),
  results: z.array(ClassificationResult),
  usage: z.object({ inputs: z.number().int(), tokens: z.number().int(), cost_usd: z.number().describe("Frontier spend of this request.") }),
  timings: z.object({
    queue_ms: z.number().describe("Longest wait of one of the inputs in the model's queue."),
    compute_ms: z.number().describe("Longest tokenize + inference time of the batches that served the request."),
    frontier_ms: z.number().describe("Longest escalation of the request (0 when none)."),
    total_ms: z.number(),
  }),
});

export type ClassifyRequest = z.output<typeof ClassifyRequest>;
export type ClassificationResult = z.infer<typeof ClassificationResult>;
export type ClassifyResponse = z.infer<typeof ClassifyResponse>;
