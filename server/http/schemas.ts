import { z } from "zod";

export const ErrorBody = z.object({
  error: z.object({
    code: z.string().describe("Stable error code; match on this, not on the message."),
    message: z.string(),
    details: z.unknown().optional(),
  }),
});

export const ClassifyBody = z
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
  specialist_label: z.string(),
  score: z.number().describe("Uncalibrated model probability of the specialist's label."),
  scores: z.record(z.string(), z.number()).describe("Calibrated probability per label."),
  confidence: z.number().describe("Calibrated probability of the label; compared with the model's threshold."),
  below_threshold: z.boolean().describe("True when confidence is under the model's threshold: the specialist's answer is not trusted."),
  escalated: z.boolean().describe("True when the input was sent towards the frontier (see `frontier` or `degraded_reason`)."),
  degraded: z.boolean().describe("True when the input should have been answered by the frontier but got the specialist's answer."),
  degraded_reason: z
    .string()
    .optional()
    .describe("escalation_disabled, no_provider, rate_limited, over_budget, circuit_open, deadline, cancelled, timeout, rate_limited, server_error, client_error, connection, invalid_answer"),
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

const Placement = z.object({ provider: z.string(), device: z.string(), workers: z.number(), threads_per_worker: z.number() });

export const ModelDescription = z.object({
  name: z.string(),
  version: z.string(),
  format: z.string(),
  task: z.string(),
  labels: z.array(z.string()),
  threshold: z.number(),
  status: z.enum(["loading", "ready", "failed"]),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  placement: Placement.extend({ replicas: z.array(Placement).optional().describe("A model with replicas: where each copy runs.") }).optional(),
  canary: z.object({ version: z.string(), share: z.number() }).optional().describe("A candidate version answering this share of classification requests."),
  limits: z.object({ max_tokens: z.number(), max_chars: z.number(), max_inputs_per_request: z.number() }),
  batching: z.object({ max_batch_size: z.number(), max_queue_delay_ms: z.number(), max_queue_size: z.number() }),
});

export const ModelsResponse = z.object({ models: z.array(ModelDescription) });

export const HealthResponse = z.object({ status: z.string() });

export const ReadyResponse = z.object({
  status: z.enum(["ready", "not_ready", "shutting_down"]),
  models: z.record(z.string(), z.string()),
});
