import type { LabelledExample } from "../../server/evaluation/example.js";
import { classificationReport, type ClassificationReport } from "../../server/evaluation/classification-metrics.js";
import { calibratedSoftmax } from "../../server/backends/classification-scores.js";
import { belowThreshold } from "../../server/escalation/confidence-policy.js";
import type { TrainingMetrics } from "../model-folder/training-metrics.js";
import { expectedCalibrationError } from "../../server/evaluation/ece.js";
import { driftReferenceOf, type DriftReference } from "../../server/monitoring/drift-statistics.js";
import { fitTemperature } from "./temperature.js";
import { chooseThreshold, type ThresholdTarget } from "./threshold.js";

/** One split's label logits (any model) beside the examples they came from. */
export interface ScoredSplit {
  scored: Array<{ logits: ArrayLike<number>; label: number }>;
  examples: LabelledExample[];
}

function predictions(split: ScoredSplit, labels: string[], temperature: number) {
  return split.scored.map((s, i) => {
    const probs = calibratedSoftmax(s.logits, temperature);
    let best = 0;
    for (let c = 1; c < probs.length; c++) if (probs[c]! > probs[best]!) best = c;
    const category = split.examples[i]!.category;
    return { gold: labels[s.label]!, predicted: labels[best]!, confidence: probs[best]!, ...(category !== undefined ? { category } : {}) };
  });
}

const asConfidences = (ps: ReturnType<typeof predictions>) => ps.map((p) => ({ confidence: p.confidence, correct: p.gold === p.predicted }));

/**
 * The same steps for every model type: temperature fitted on validation, ECE before and after, the escalation
 * threshold chosen on validation for the target, and the test report (with the threshold's effect on test).
 */
export function calibrateAndReport(
  validation: ScoredSplit,
  test: ScoredSplit,
  labels: string[],
  target: ThresholdTarget,
): { calibration: TrainingMetrics["calibration"]; threshold: TrainingMetrics["threshold"]; test: ClassificationReport; reference: DriftReference } {
  const temperature = fitTemperature(validation.scored);
  const validationAfter = predictions(validation, labels, temperature);
  const threshold = chooseThreshold(asConfidences(validationAfter), target);
  const testAfter = predictions(test, labels, temperature);
  const report = classificationReport(testAfter, labels);
  const kept = testAfter.filter((p) => !belowThreshold(p.confidence, threshold.threshold));
  return {
    calibration: {
      temperature,
      validationEce: { before: expectedCalibrationError(asConfidences(predictions(validation, labels, 1))), after: expectedCalibrationError(asConfidences(validationAfter)) },
      testEce: { before: expectedCalibrationError(asConfidences(predictions(test, labels, 1))), after: report.ece },
    },
    threshold: {
      ...threshold,
      test: {
        keptAccuracy: kept.filter((p) => p.gold === p.predicted).length / Math.max(1, kept.length),
        escalationRate: report.count ? 1 - kept.length / report.count : 0,
      },
    },
    test: report,
    // Drift is judged on predictions (serving never sees gold labels), on the split that chose the threshold.
    reference: driftReferenceOf(
      validationAfter.map((p) => ({ label: p.predicted, confidence: p.confidence })),
      labels,
      threshold.threshold,
      "validation split: predicted labels and calibrated confidences at training",
    ),
  };
}
