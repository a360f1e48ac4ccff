import type { ConfidencePrediction } from "../../server/evaluation/ece.js";
import { chooseThreshold, type ThresholdTarget } from "../../training/calibration/threshold.js";

/** Where the threshold of the chosen cascade came from: never the data the comparison reports on. */
export interface ThresholdChoice {
  threshold: number;
  /** `validation`: chosen here on held-out labelled data; `model`: the model's own, chosen at training on its validation split. */
  source: "validation" | "model";
  /** The data it was chosen on. */
  data: string;
  examples: number;
  target: ThresholdTarget;
  /** On the data it was chosen on. */
  keptAccuracy?: number;
  escalationRate?: number;
  met?: boolean;
}

/**
 * The cascade threshold, chosen on validation predictions only (the same rule as training: the lowest threshold
 * whose kept answers reach the target); without validation data, the model's own threshold. It takes no test data,
 * so nothing the report measures can move it.
 */
export function chooseCompareThreshold(
  validation: { predictions: ConfidencePrediction[]; name: string } | undefined,
  target: ThresholdTarget,
  model: { threshold: number; name: string },
): ThresholdChoice {
  if (!validation || validation.predictions.length === 0) {
    return { threshold: model.threshold, source: "model", data: `the model's own (${model.name}'s model.json, chosen at training on its validation split)`, examples: 0, target };
  }
  const choice = chooseThreshold(validation.predictions, target);
  return {
    threshold: choice.threshold,
    source: "validation",
    data: validation.name,
    examples: validation.predictions.length,
    target,
    keptAccuracy: choice.keptAccuracy,
    escalationRate: choice.escalationRate,
    met: choice.met,
  };
}

/** The thresholds the report runs: the chosen one, and the others given for the sweep (shown, never chosen from). */
export function sweepThresholds(chosen: number, others: readonly number[]): number[] {
  const round = (t: number) => Math.round(t * 1e6) / 1e6;
  return [...new Set([round(chosen), ...others.map(round)])].sort((a, b) => a - b);
}
