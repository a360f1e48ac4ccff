import { performance } from "node:perf_hooks";
import type { ClassificationOutput } from "../backends/backend.js";
import type { ResponseCache } from "../cache/response-cache.js";
import { ServingError } from "../errors/registry.js";
import type { ClassificationCascade, InputOutcome } from "../escalation/classification-cascade.js";
import type { ServingMetrics } from "../metrics/serving-metrics.js";
import { classifyRouted } from "../models/canary.js";
import type { ModelRegistry } from "../models/model-registry.js";
import { deadlineOf, type Caller, type DeadlineSettings } from "./caller.js";
import type { ClassificationResult, ClassifyRequest, ClassifyResponse } from "./classify-protocol.js";
import { requestTexts } from "./input-checks.js";
import type { DriftWatch } from "../monitoring/drift-watch.js";

export interface ClassifyServingDeps {
  registry: ModelRegistry;
  cache: ResponseCache<ClassificationResult>;
  cascade: ClassificationCascade;
  metrics: ServingMetrics;
  deadlines: DeadlineSettings;
  drift?: DriftWatch;
}

/** A cached answer as served now: nothing was escalated, paid for or queued by this request. */
function fromCache(hit: ClassificationResult): ClassificationResult {
  const { frontier: _frontier, review_id: _review, ...rest } = hit;
  const from = hit.served_by === "cache" ? hit.cached_from! : hit.served_by;
  return { ...rest, served_by: "cache", cached_from: from, escalated: false, degraded: false };
}

/** The answer to one input: the specialist's output and what the cascade made of it. */
function resultOf(output: ClassificationOutput, outcome: InputOutcome): ClassificationResult {
  const escalation = outcome.escalation;
  const answered = escalation?.kind === "answered" ? escalation : undefined;
  const reused = outcome.reused;
  return {
    label: answered?.label ?? reused?.answer.label ?? output.label,
    served_by: answered ? "frontier" : reused ? "cache" : "specialist",
    ...(reused ? { cached_from: "frontier" as const, similarity: reused.similarity } : {}),
    ...(output.labels ? { labels: output.labels } : {}),
    specialist_label: output.label,
    score: output.score,
    scores: output.scores,
    confidence: output.confidence,
    below_threshold: outcome.decision.below,
    escalated: escalation !== undefined,
    degraded: outcome.degraded,
    ...(escalation?.kind === "degraded" ? { degraded_reason: escalation.reason } : {}),
    ...(answered ? { frontier: { provider: answered.provider, model: answered.model, label: answered.label, latency_ms: answered.latencyMs, cost_usd: answered.costUsd } } : {}),
    ...(outcome.reviewId !== undefined ? { review_id: outcome.reviewId } : {}),
    truncated: output.truncated,
    tokens: output.tokens,
  };
}

/**
 * Classification, whichever front door asks: the response cache, routing (a canary's share), the specialist behind
 * its scheduler, then the cascade (threshold, escalation, review, shadow). Knows nothing of HTTP.
 */
export class ClassifyServing {
  /** performance.now() time of the last interactive (not background) request. */
  private lastInteractiveAt = -Infinity;

  constructor(private readonly deps: ClassifyServingDeps) {}

  /** Whether an interactive request came within the last `ms`: batch jobs then leave the workers' time to it. */
  interactiveWithin(ms: number): boolean {
    return performance.now() - this.lastInteractiveAt < ms;
  }

  async classify(request: ClassifyRequest, caller: Caller): Promise<ClassifyResponse> {
    const { registry, cache, metrics } = this.deps;
    const { model: name, input, deadline_ms, route } = request;
    if (caller.priority !== "background") this.lastInteractiveAt = performance.now();
    const routed = registry.route(name);
    let manifest = routed.backend.manifest;
    caller.onModel?.(manifest.name);
    if (manifest.task !== "text-classification") {
      const instead = manifest.task === "embeddings" ? "an embedding model: send its texts to /v1/embeddings" : "a text-generation model: use /v1/chat/completions or /v1/completions";
      throw new ServingError("ERR_MODEL_CANNOT_CLASSIFY", `model '${manifest.name}' is ${instead}`);
    }
    if (manifest.multiLabel && route === "frontier") {
      throw new ServingError("ERR_INVALID_REQUEST", `route: frontier is not available for multi-label model '${manifest.name}' (the frontier answers one label); use cascade or specialist`);
    }
    const texts = requestTexts(input, manifest, "classify");
    const deadline = deadlineOf(caller, deadline_ms, this.deps.deadlines);
    const { tenant, signal } = caller;
    // A forced route asks for a particular server, and a canary is measured on its own answers: the cache serves neither.
    const cached = route === "cascade" && !routed.canary;
    const hits = texts.map((text) => (cached ? cache.get(tenant.id, manifest, text) : undefined));
    const missing = texts.filter((_, i) => !hits[i]);
    let timings = { queueMs: 0, computeMs: 0 };
    let fresh: ClassificationResult[] = [];
    let costUsd = 0;
    let frontierMs = 0;
    if (missing.length > 0) {
      const { backend, result: specialist } = await classifyRouted(routed, missing, { deadline, signal, ...(caller.priority ? { priority: caller.priority } : {}) });
      manifest = backend.manifest;
      timings = specialist;
      const outcomes = await this.deps.cascade.apply({
        backend,
        texts: missing,
        outputs: specialist.outputs,
        tenant,
        requestId: caller.requestId,
        deadline,
        signal,
        route,
        cacheable: cached,
        ...(caller.frontierBatch ? { viaBatch: true } : {}),
      });
      fresh = specialist.outputs.map((output, k) => {
        const outcome = outcomes[k]!;
        metrics.predictions.inc({ model: manifest.name, label: output.label, confident: outcome.decision.below ? "false" : "true" });
        costUsd += outcome.escalation?.costUsd ?? 0;
        frontierMs = Math.max(frontierMs, outcome.escalation?.latencyMs ?? 0);
        const result = resultOf(output, outcome);
        // A degraded answer is not kept: the next identical request should get its chance at the frontier.
        if (cached && !result.degraded) cache.set(tenant.id, manifest, missing[k]!, result);
        return result;
      });
    }
    let next = 0;
    const results = hits.map((hit) => (hit ? fromCache(hit) : fresh[next++]!));
    // Every answer counts towards drift, cached ones too: the traffic is what drifts, not what the model computed.
    if (!manifest.multiLabel) for (const r of results) this.deps.drift?.observe(manifest.name, r.specialist_label, r.confidence, r.below_threshold);
    return {
      model: manifest.name,
      version: manifest.version,
      results,
      usage: { inputs: texts.length, tokens: results.reduce((sum, r) => sum + r.tokens, 0), cost_usd: costUsd },
      timings: { queue_ms: timings.queueMs, compute_ms: timings.computeMs, frontier_ms: frontierMs, total_ms: performance.now() - caller.arrived },
    };
  }
}
