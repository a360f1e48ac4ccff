import { z } from "zod";

export const ErrorBody = z.object({
  error: z.object({
    code: z.string().describe("Stable error code; match on this, not on the message."),
    message: z.string(),
    details: z.unknown().optional(),
  }),
});

const Placement = z.object({ provider: z.string(), device: z.string(), workers: z.number(), threads_per_worker: z.number() });

export const UnreadableFolders = z
  .array(z.object({ folder: z.string(), code: z.string(), message: z.string() }))
  .describe("Folders of this model that do not validate or did not load: not served; the other versions are.");

export const ModelDescription = z.object({
  id: z.string().describe("The model's name, as OpenAI's clients read it."),
  object: z.literal("model"),
  created: z.number().int().describe("Unix seconds at which this server first loaded (or tried to load) this version."),
  owned_by: z.string(),
  name: z.string(),
  /** The next six are absent for a model none of whose folders has a model.json that validates. */
  version: z.string().optional(),
  format: z.string().optional(),
  task: z.string().optional(),
  multi_label: z.boolean().optional().describe("True for a multi-label classifier: results carry `labels`, every label at 0.5 or above."),
  labels: z.array(z.string()).optional(),
  dimensions: z.number().optional().describe("An embedding model's vector length."),
  threshold: z.number().optional(),
  status: z.enum(["loading", "ready", "failed"]),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  unreadable: UnreadableFolders.optional(),
  placement: Placement.extend({ replicas: z.array(Placement).optional().describe("A model with replicas: where each copy runs.") }).optional(),
  canary: z.object({ version: z.string(), share: z.number() }).optional().describe("A candidate version answering this share of classification requests."),
  limits: z.object({ max_tokens: z.number(), max_chars: z.number(), max_inputs_per_request: z.number() }).optional(),
  batching: z.object({ max_batch_size: z.number(), max_queue_delay_ms: z.number(), max_queue_size: z.number() }).optional(),
});

/** OpenAI's list shape, so `openai.models.list()` reads it; our fields are inside each entry. */
export const ModelsResponse = z.object({ object: z.literal("list"), data: z.array(ModelDescription) });

export const HealthResponse = z.object({ status: z.string() });

export const ReadyResponse = z.object({
  status: z.enum(["ready", "not_ready", "shutting_down"]),
  models: z.record(z.string(), z.string()),
});
