import type { ConfidencePrediction } from "../../server/evaluation/ece.js";

export type ThresholdTarget =
  | { kind: "kept-accuracy"; value: number }
  | { kind: "max-escalation"; value: number };

export interface ThresholdChoice {
  threshold: number;
  /** On the data the threshold was chosen on. */
  keptAccuracy: number;
  escalationRate: number;
  target: ThresholdTarget;
  met: boolean;
}

/**
 * Items with confidence ≥ threshold are kept, the rest escalated. `kept-accuracy`: the lowest threshold whose kept
 * items reach the target accuracy (so as few as possible are escalated) both as counted and as expected from their
 * calibrated confidences: on a few hundred validation items a lucky run of correct answers alone would set the
 * threshold to 0, while the mean confidence uses every item's evidence. `max-escalation`: the lowest threshold
 * that escalates at most that share. Ties in confidence are kept or escalated together.
 */
export function chooseThreshold(predictions: ConfidencePrediction[], target: ThresholdTarget): ThresholdChoice {
  const sorted = [...predictions].sort((a, b) => b.confidence - a.confidence);
  const n = sorted.length;
  // Candidate cut after position k (k items kept), only where the next confidence differs.
  let bestK = target.kind === "kept-accuracy" ? 0 : n;
  let correct = 0;
  let confidence = 0;
  const keptCorrect: number[] = [0];
  const keptConfidence: number[] = [0];
  for (const p of sorted) {
    keptCorrect.push((correct += p.correct ? 1 : 0));
    keptConfidence.push((confidence += p.confidence));
  }
  const isCut = (k: number) => k === n || k === 0 || sorted[k - 1]!.confidence !== sorted[k]!.confidence;
  if (target.kind === "kept-accuracy") {
    for (let k = n; k >= 1; k--) {
      if (isCut(k) && keptCorrect[k]! / k >= target.value && keptConfidence[k]! / k >= target.value) {
        bestK = k;
        break;
      }
    }
  } else {
    for (let k = Math.ceil(n * (1 - target.value)); k <= n; k++) {
      if (isCut(k)) {
        bestK = k;
        break;
      }
    }
  }
  const threshold = bestK === 0 ? 1 : bestK === n ? 0 : sorted[bestK - 1]!.confidence;
  const keptAccuracy = bestK === 0 ? 1 : keptCorrect[bestK]! / bestK;
  const escalationRate = n === 0 ? 0 : (n - bestK) / n;
  const met = target.kind === "kept-accuracy" ? keptAccuracy >= target.value && bestK > 0 : escalationRate <= target.value;
  return { threshold, keptAccuracy, escalationRate, target, met };
}
