export interface ConfidencePrediction {
  confidence: number;
  correct: boolean;
}

/** Expected calibration error: |accuracy − mean confidence| per equal-width confidence bin, weighted by bin size. */
export function expectedCalibrationError(predictions: ConfidencePrediction[], bins = 10): number {
  if (predictions.length === 0) return 0;
  const count = new Array<number>(bins).fill(0);
  const confidence = new Array<number>(bins).fill(0);
  const correct = new Array<number>(bins).fill(0);
  for (const p of predictions) {
    const bin = Math.min(bins - 1, Math.floor(p.confidence * bins));
    count[bin]!++;
    confidence[bin]! += p.confidence;
    if (p.correct) correct[bin]!++;
  }
  let ece = 0;
  for (let b = 0; b < bins; b++) {
    if (count[b] === 0) continue;
    ece += Math.abs(correct[b]! - confidence[b]!) / predictions.length;
  }
  return ece;
}
