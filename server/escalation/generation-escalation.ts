import type { Tenant } from "../auth/tenants.js";
import type { ModelBackend } from "../backends/backend.js";
import type { GenerationRequest } from "../backends/generation.js";
import { ServingError } from "../errors/registry.js";
import { hashInput, type EscalationService } from "./escalation-service.js";
import { RESPONSE_MARGIN_MS, type DegradeReason } from "./escalation-types.js";
import { FrontierError } from "./frontier-error.js";
import { schemaErrors } from "./json-output.js";
import type { FrontierMessage } from "./providers/frontier-provider.js";

/** Why a generation goes to the frontier: its JSON failed the schema, or its calibrated confidence is under the threshold. */
export type GenerationCause = { reason: "output_invalid"; invalid: ServingError } | { reason: "low_confidence"; confidence: number };

export interface GenerationEscalation {
  backend: ModelBackend;
  request: GenerationRequest;
  /** The schema the answer must satisfy (json_schema, or any object for json_object); none: a text answer. */
  schema?: Record<string, unknown>;
  /** The request's json_schema.strict, passed on to OpenAI-compatible providers. */
  strict: boolean;
  tenant: Tenant;
  requestId: string;
  deadline: number;
  signal: AbortSignal;
  cause: GenerationCause;
}

export interface FrontierGeneration {
  kind: "answered";
  text: string;
  usage?: { inputTokens: number; outputTokens: number };
  provider: string;
  frontierModel: string;
  costUsd: number;
  latencyMs: number;
}

/** A low-confidence generation the frontier did not answer: the caller keeps the specialist's, flagged. */
export interface DegradedGeneration {
  kind: "degraded";
  reason: DegradeReason;
  message: string;
  costUsd: number;
  latencyMs: number;
}

/** The same conversation for the frontier: system messages become its instructions. */
function frontierMessages(request: GenerationRequest): { system: string; messages: FrontierMessage[] } {
  if (request.prompt !== undefined) return { system: "", messages: [{ role: "user", content: request.prompt }] };
  const all = request.messages ?? [];
  const system = all.filter((m) => m.role === "system").map((m) => m.content).join("\n\n");
  const messages = all.filter((m): m is FrontierMessage & typeof m => m.role !== "system").map(({ role, content }) => ({ role, content }));
  return messages.length > 0 ? { system, messages } : { system: "", messages: [{ role: "user", content: system }] };
}

/** Reads the frontier's answer: valid against the schema, or a non-empty text when there is none. */
function answerParser(schema: Record<string, unknown> | undefined) {
  return (answer: unknown): unknown => {
    if (!schema) {
      if (typeof answer !== "string" || answer.length === 0) throw new FrontierError("invalid_answer", "the frontier's answer has no text");
      return answer;
    }
    const errors = schemaErrors(answer, schema);
    if (errors) throw new FrontierError("invalid_answer", `the frontier's answer does not satisfy the JSON schema either: ${errors.map((e) => `${e.instancePath || "/"} ${e.message}`).join("; ")}`);
    return answer;
  };
}

/**
 * A generation whose JSON failed its schema, or whose confidence is under the model's threshold, goes to the
 * frontier as the same request, under the same controls as any escalation (kill switch, rate limit, breaker, budget,
 * ledger). Invalid JSON the frontier cannot replace (or a `reject` policy) is the caller's 422, carrying the
 * specialist's output and why; a low-confidence answer the frontier cannot replace is returned degraded, and the
 * caller keeps the specialist's answer.
 */
export async function escalateGeneration(escalation: EscalationService, budgetMs: number, input: GenerationEscalation): Promise<FrontierGeneration | DegradedGeneration> {
  const { manifest } = input.backend;
  const { cause, schema } = input;
  if (cause.reason === "output_invalid" && manifest.escalation.onInvalidOutput === "reject") throw cause.invalid;
  const conversation = JSON.stringify(input.request.prompt ?? input.request.messages);
  const outcome = await escalation.ask(
    {
      tenant: input.tenant,
      manifest,
      requestId: input.requestId,
      request: { ...frontierMessages(input.request), ...(schema ? { answerSchema: schema } : {}), strict: input.strict },
      maxOutputTokens: input.request.maxTokens,
      parse: answerParser(schema),
      deadline: input.deadline - RESPONSE_MARGIN_MS,
      budgetMs,
      signal: input.signal,
    },
    {
      inputHash: hashInput(conversation),
      inputText: escalation.storesInputs ? conversation : null,
      // A generation has no label of its own.
      specialistLabel: "",
      specialistConfidence: cause.reason === "low_confidence" ? cause.confidence : 0,
      reason: cause.reason,
      prompt: null,
      // The answer may quote the request, so it is kept only where request texts are.
      frontierAnswer: (value) => (escalation.storesInputs ? (typeof value === "string" ? value : JSON.stringify(value)) : null),
    },
  );
  if (outcome.kind === "degraded") {
    if (cause.reason === "low_confidence") return { kind: "degraded", reason: outcome.reason, message: outcome.message, costUsd: outcome.costUsd, latencyMs: outcome.latencyMs };
    const details = { ...(cause.invalid.details as object), escalation: { reason: outcome.reason, message: outcome.message } };
    throw new ServingError("ERR_OUTPUT_INVALID", `${cause.invalid.message}; the frontier could not answer instead (${outcome.reason}: ${outcome.message})`, { details });
  }
  return {
    kind: "answered",
    text: typeof outcome.value === "string" ? outcome.value : JSON.stringify(outcome.value),
    ...(outcome.usage ? { usage: outcome.usage } : {}),
    provider: outcome.provider,
    frontierModel: outcome.model,
    costUsd: outcome.costUsd,
    latencyMs: outcome.latencyMs,
  };
}
