import type { Tenant } from "../auth/tenants.js";
import type { ClassificationOutput, ModelBackend } from "../backends/backend.js";
import type { SemanticCache, SemanticHit } from "../cache/semantic-cache.js";
import type { LedgerStore } from "../ledger/ledger-store.js";
import type { EscalationMetrics } from "../metrics/escalation-metrics.js";
import { decide, type InputDecision, type Route } from "./confidence-policy.js";
import { hashInput, type EscalationService } from "./escalation-service.js";
import { RESPONSE_MARGIN_MS, type EscalationOutcome } from "./escalation-types.js";
import type { FrontierPromptCache } from "./frontier-prompt.js";
import type { ShadowSampler } from "./shadow-sampler.js";

export interface CascadeInput {
  backend: ModelBackend;
  texts: string[];
  outputs: ClassificationOutput[];
  tenant: Tenant;
  /** The request's id, carried into log lines and ledger rows of its escalations. */
  requestId: string;
  /** performance.now() time by which the whole request must be answered. */
  deadline: number;
  signal: AbortSignal;
  route: Route;
  /** Whether answers may come from (and go to) the semantic cache: not for a forced route or a canary's share. */
  cacheable: boolean;
  /** Escalations may go through the provider's Batch API (a batch job's lines). */
  viaBatch?: boolean;
}

/** What the cascade did with one answer of the specialist. */
export interface InputOutcome {
  decision: InputDecision;
  /** The escalation's outcome, when the input was escalated. */
  escalation?: EscalationOutcome;
  /** Meant for the frontier, and answered instead by its answer to a near-duplicate (the semantic cache). */
  reused?: SemanticHit;
  /** Meant for the frontier and not answered by it: the caller gets the specialist's answer, flagged. */
  degraded: boolean;
  reviewId?: number;
}

export interface CascadeDeps {
  escalation: EscalationService;
  shadow: ShadowSampler;
  prompts: FrontierPromptCache;
  semantic: SemanticCache;
  ledger: LedgerStore;
  metrics: EscalationMetrics;
  storeInputs: boolean;
}

/**
 * After the specialist: each answer below the model's threshold is escalated (in parallel) and/or queued for review
 * as the policy says, unless the frontier already answered a near-duplicate for this tenant and model version (the
 * semantic cache); a sampled share of trusted answers goes to shadow mode. Whatever happens past the specialist,
 * every input has an outcome: the caller always gets an answer.
 */
export class ClassificationCascade {
  constructor(private readonly deps: CascadeDeps) {}

  async apply(input: CascadeInput): Promise<InputOutcome[]> {
    const { manifest } = input.backend;
    const decisions = input.outputs.map((o) => decide(o.confidence, manifest.threshold, manifest.escalation, input.route));
    const needsPrompt = decisions.some((d) => d.escalate || d.shadowable);
    const prompt = needsPrompt ? await this.deps.prompts.get(input.backend) : undefined;

    if (prompt) {
      decisions.forEach((d, i) => {
        if (!d.shadowable) return;
        const output = input.outputs[i]!;
        const specialist = { label: output.label, confidence: output.confidence };
        this.deps.shadow.offer({ tenant: input.tenant, manifest, prompt, requestId: input.requestId, text: input.texts[i]!, specialist }, manifest.escalation.shadowRate);
      });
    }

    const { semantic } = this.deps;
    const tenant = input.tenant.id;
    const keys = decisions.map((d, i) => (d.escalate && input.cacheable ? semantic.keyFor(manifest, input.texts[i]!) : undefined));
    const reused = keys.map((key) => (key ? semantic.lookup(tenant, manifest, key) : undefined));
    const escalations = await Promise.all(
      decisions.map((d, i) =>
        d.escalate && prompt && !reused[i]
          ? this.deps.escalation.escalate({
              tenant: input.tenant,
              manifest,
              prompt,
              requestId: input.requestId,
              text: input.texts[i]!,
              specialist: { label: input.outputs[i]!.label, confidence: input.outputs[i]!.confidence },
              deadline: input.deadline - RESPONSE_MARGIN_MS,
              signal: input.signal,
              ...(input.viaBatch ? { viaBatch: true } : {}),
            })
          : undefined,
      ),
    );

    const pricePerToken = this.deps.escalation.inputPricePerToken(manifest);
    return Promise.all(decisions.map(async (decision, i) => {
      const output = input.outputs[i]!;
      if (!decision.below && pricePerToken !== undefined) this.deps.metrics.costAvoided.inc({ model: manifest.name }, output.tokens * pricePerToken);
      const escalation = escalations[i];
      const answered = escalation?.kind === "answered" ? escalation : undefined;
      const key = keys[i];
      if (answered && key) semantic.remember(tenant, manifest, key, { label: answered.label, provider: answered.provider, model: answered.model });
      const hit = reused[i];
      const reviewId = decision.review ? await this.queueReview(input, i, answered?.label ?? hit?.answer.label ?? null) : undefined;
      return {
        decision,
        ...(escalation ? { escalation } : {}),
        ...(hit ? { reused: hit } : {}),
        degraded: decision.escalate && !answered && !hit,
        ...(reviewId !== undefined ? { reviewId } : {}),
      };
    }));
  }

  private async queueReview(input: CascadeInput, i: number, frontierLabel: string | null): Promise<number | undefined> {
    const { manifest } = input.backend;
    const output = input.outputs[i]!;
    try {
      const id = await this.deps.ledger.addReview({
        time: new Date().toISOString(),
        tenant: input.tenant.id,
        model: manifest.name,
        version: manifest.version,
        inputHash: hashInput(input.texts[i]!),
        inputText: this.deps.storeInputs ? input.texts[i]! : null,
        specialistLabel: output.label,
        specialistConfidence: output.confidence,
        frontierLabel,
      });
      this.deps.metrics.reviews.inc({ model: manifest.name });
      return id;
    } catch {
      this.deps.metrics.ledgerErrors.inc();
      return undefined;
    }
  }
}
