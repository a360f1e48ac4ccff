import type { Tenant } from "../auth/tenants.js";
import type { ModelBackend } from "../backends/backend.js";
import type { GenerationRequest } from "../backends/generation.js";
import { ServingError } from "../errors/registry.js";
import { hashInput, type EscalationService } from "./escalation-service.js";
import { RESPONSE_MARGIN_MS } from "./escalation-types.js";
import { FrontierError } from "./frontier-error.js";
import { schemaErrors } from "./json-output.js";
import type { FrontierMessage } from "./providers/frontier-provider.js";

export interface InvalidOutput {
  backend: ModelBackend;
  request: GenerationRequest & { jsonSchema: Record<string, unknown> };
  /** The request's json_schema.strict, passed on to OpenAI-compatible providers. */
  strict: boolean;
  tenant: Tenant;
  requestId: string;
  deadline: number;
  signal: AbortSignal;
  /** The 422 the caller gets if the frontier cannot answer instead. */
  invalid: ServingError;
}

export interface FrontierGeneration {
  text: string;
  usage?: { inputTokens: number; outputTokens: number };
  provider: string;
  frontierModel: string;
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

/**
 * A generation whose JSON failed its schema goes to the frontier as the same request, under the same controls as
 * any escalation (kill switch, rate limit, breaker, budget, ledger); the frontier's answer is validated against the
 * same schema. When the model's policy is `reject` or the frontier cannot answer, the caller gets the 422, which
 * carries the specialist's output and why the escalation did not happen.
 */
export async function escalateInvalidOutput(escalation: EscalationService, budgetMs: number, input: InvalidOutput): Promise<FrontierGeneration> {
  const { manifest } = input.backend;
  if (manifest.escalation.onInvalidOutput === "reject") throw input.invalid;
  const schema = input.request.jsonSchema;
  const conversation = JSON.stringify(input.request.prompt ?? input.request.messages);
  const outcome = await escalation.ask(
    {
      tenant: input.tenant,
      manifest,
      requestId: input.requestId,
      request: { ...frontierMessages(input.request), answerSchema: schema, strict: input.strict },
      maxOutputTokens: input.request.maxTokens,
      parse: (answer) => {
        const errors = schemaErrors(answer, schema);
        if (errors) throw new FrontierError("invalid_answer", `the frontier's answer does not satisfy the JSON schema either: ${errors.map((e) => `${e.instancePath || "/"} ${e.message}`).join("; ")}`);
        return answer;
      },
      deadline: input.deadline - RESPONSE_MARGIN_MS,
      budgetMs,
      signal: input.signal,
    },
    {
      inputHash: hashInput(conversation),
      inputText: escalation.storesInputs ? conversation : null,
      // A generation has no label or calibrated confidence of its own.
      specialistLabel: "",
      specialistConfidence: 0,
      reason: "output_invalid",
      prompt: null,
      // The answer may quote the request, so it is kept only where request texts are.
      frontierAnswer: (value) => (escalation.storesInputs ? JSON.stringify(value) : null),
    },
  );
  if (outcome.kind === "degraded") {
    const details = { ...(input.invalid.details as object), escalation: { reason: outcome.reason, message: outcome.message } };
    throw new ServingError("ERR_OUTPUT_INVALID", `${input.invalid.message}; the frontier could not answer instead (${outcome.reason}: ${outcome.message})`, { details });
  }
  return {
    text: JSON.stringify(outcome.value),
    ...(outcome.usage ? { usage: outcome.usage } : {}),
    provider: outcome.provider,
    frontierModel: outcome.model,
    costUsd: outcome.costUsd,
    latencyMs: outcome.latencyMs,
  };
}
