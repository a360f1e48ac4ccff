import type { Tenant } from "../auth/tenants.js";
import type { ClassificationOutput, ModelBackend } from "../backends/backend.js";
import { hashInput } from "../escalation/escalation-service.js";
import type { EscalationOutcome } from "../escalation/escalation-types.js";
import type { ServerContext } from "./server-context.js";
import type { z } from "zod";
import type { ClassificationResult } from "./schemas.js";

/** Time kept back from the deadline for writing the response after the frontier answered. */
export const RESPONSE_MARGIN_MS = 10;

export type CascadeResult = z.infer<typeof ClassificationResult>;

export interface CascadeInput {
  backend: ModelBackend;
  texts: string[];
  outputs: ClassificationOutput[];
  tenant: Tenant;
  /** The HTTP request's id, carried into log lines and ledger rows of its escalations. */
  requestId: string;
  deadline: number;
  signal: AbortSignal;
  /** `cascade` follows the model's policy; `specialist` never escalates; `frontier` escalates every input. */
  route: "cascade" | "specialist" | "frontier";
}

/**
 * The specialist's answers, with those below the model's threshold escalated (in parallel) and/or queued for
 * review as its policy says. Whatever happens past the specialist, every input gets an answer.
 */
export async function cascadeResults(context: ServerContext, input: CascadeInput) {
  const { metrics, cascade } = context;
  const { manifest } = input.backend;
  const policy = manifest.escalation.onLowConfidence;
  const cascading = input.route === "cascade";
  const toReview = cascading && (policy === "review" || policy === "both");
  const below = input.outputs.map((o) => o.confidence < manifest.threshold);
  const escalating = below.map((b) => input.route === "frontier" || (cascading && b && (policy === "escalate" || policy === "both")));
  const shadowRate = cascading ? manifest.escalation.shadowRate : 0;
  const prompt = escalating.some(Boolean) || shadowRate > 0 ? await cascade.promptFor(input.backend) : undefined;

  if (prompt && shadowRate > 0) {
    input.outputs.forEach((o, i) => {
      if (escalating[i] || below[i]) return;
      const specialist = { label: o.label, confidence: o.confidence };
      cascade.shadow.offer({ tenant: input.tenant, manifest, prompt, requestId: input.requestId, text: input.texts[i]!, specialist }, shadowRate);
    });
  }

  const outcomes: Array<EscalationOutcome | undefined> = await Promise.all(
    input.outputs.map((o, i) =>
      escalating[i] && prompt
        ? cascade.escalation.escalate({
            tenant: input.tenant,
            manifest,
            prompt,
            requestId: input.requestId,
            text: input.texts[i]!,
            specialist: { label: o.label, confidence: o.confidence },
            deadline: input.deadline - RESPONSE_MARGIN_MS,
            signal: input.signal,
          })
        : undefined,
    ),
  );

  const pricePerToken = cascade.escalation.inputPricePerToken(manifest);
  let costUsd = 0;
  let frontierMs = 0;
  const results = input.outputs.map((o, i): CascadeResult => {
    metrics.predictions.inc({ model: manifest.name, label: o.label, confident: below[i] ? "false" : "true" });
    if (!below[i] && pricePerToken !== undefined) cascade.metrics.costAvoided.inc({ model: manifest.name }, o.tokens * pricePerToken);
    const outcome = outcomes[i];
    const answered = outcome?.kind === "answered" ? outcome : undefined;
    costUsd += outcome?.costUsd ?? 0;
    frontierMs = Math.max(frontierMs, outcome?.latencyMs ?? 0);
    const reviewId = below[i] && toReview ? queueReview(context, input, i, answered?.label ?? null) : undefined;
    return {
      label: answered?.label ?? o.label,
      served_by: answered ? "frontier" : "specialist",
      specialist_label: o.label,
      score: o.score,
      scores: o.scores,
      confidence: o.confidence,
      below_threshold: below[i]!,
      escalated: outcome !== undefined,
      // Meant for the frontier and not answered by it: the caller gets a flagged specialist answer.
      degraded: escalating[i]! && !answered,
      ...(outcome?.kind === "degraded" ? { degraded_reason: outcome.reason } : {}),
      ...(answered
        ? { frontier: { provider: answered.provider, model: answered.model, label: answered.label, latency_ms: answered.latencyMs, cost_usd: answered.costUsd } }
        : {}),
      ...(reviewId !== undefined ? { review_id: reviewId } : {}),
      truncated: o.truncated,
      tokens: o.tokens,
    };
  });
  return { results, costUsd, frontierMs };
}

function queueReview(context: ServerContext, input: CascadeInput, i: number, frontierLabel: string | null): number | undefined {
  const { manifest } = input.backend;
  const output = input.outputs[i]!;
  try {
    const id = context.cascade.ledger.addReview({
      time: new Date().toISOString(),
      tenant: input.tenant.id,
      model: manifest.name,
      version: manifest.version,
      inputHash: hashInput(input.texts[i]!),
      inputText: context.config.ledger.storeInputs ? input.texts[i]! : null,
      specialistLabel: output.label,
      specialistConfidence: output.confidence,
      frontierLabel,
    });
    context.cascade.metrics.reviews.inc({ model: manifest.name });
    return id;
  } catch {
    context.cascade.metrics.ledgerErrors.inc();
    return undefined;
  }
}
