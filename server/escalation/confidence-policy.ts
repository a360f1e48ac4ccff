import type { ModelManifest } from "../models/manifest.js";

/**
 * The confidence policy, in one place for serving, training and evaluation: which answers are not trusted, and what
 * the cascade does with each answer. Calibrated scores come from `calibratedSoftmax` (backends/classification-scores).
 */

/** The one rule: an answer whose calibrated confidence is under the model's threshold is not trusted. */
export function belowThreshold(confidence: number, threshold: number): boolean {
  return confidence < threshold;
}

/** `cascade` follows the model's policy; `specialist` never escalates; `frontier` escalates every input. */
export type Route = "cascade" | "specialist" | "frontier";

export interface InputDecision {
  below: boolean;
  /** Sent to the frontier (answered or, failing that, degraded). */
  escalate: boolean;
  /** Queued for a person. */
  review: boolean;
  /** May be sampled by shadow mode (a trusted answer on the cascade route). */
  shadowable: boolean;
}

/** What the cascade does with one answer, under the model's escalation policy and the request's route. */
export function decide(confidence: number, threshold: number, policy: ModelManifest["escalation"], route: Route): InputDecision {
  const below = belowThreshold(confidence, threshold);
  const cascading = route === "cascade";
  const onLow = policy.onLowConfidence;
  return {
    below,
    escalate: route === "frontier" || (cascading && below && (onLow === "escalate" || onLow === "both")),
    review: cascading && below && (onLow === "review" || onLow === "both"),
    shadowable: cascading && !below && policy.shadowRate > 0,
  };
}
