import type { TrainingMetrics } from "../model-folder/training-metrics.js";

/** The lines `train` and `train-gguf` print when they finish. */
export function trainingSummary(output: string, metrics: TrainingMetrics): string {
  const t = metrics.test;
  const keep95 = t.coverage.find((c) => c.coverage === 0.95);
  const parity = metrics.onnxParity ?? metrics.ggufParity;
  const kind = metrics.onnxParity ? "ONNX" : "GGUF";
  return [
    `wrote ${output}`,
    `test: accuracy ${(t.accuracy * 100).toFixed(2)}%, macro-F1 ${t.macroF1.toFixed(4)}, accuracy on the 95% most confident ${((keep95?.accuracy ?? 0) * 100).toFixed(2)}%`,
    `calibration: temperature ${metrics.calibration.temperature.toFixed(3)}, test ECE ${metrics.calibration.testEce.before.toFixed(4)} → ${metrics.calibration.testEce.after.toFixed(4)}`,
    `threshold ${metrics.threshold.threshold.toFixed(4)}: test escalation ${(metrics.threshold.test.escalationRate * 100).toFixed(1)}%, kept accuracy ${(metrics.threshold.test.keptAccuracy * 100).toFixed(2)}%`,
    `time: ${metrics.training.totalSeconds.toFixed(1)} s (${metrics.training.epochsRun} epochs)` +
      (parity ? `, ${kind} parity max ${kind === "ONNX" ? "|Δ|/(1+|logit|)" : "|Δp|"} ${(kind === "ONNX" ? parity.maxScaledDifference : parity.maxAbsDifference).toExponential(2)}` : ""),
  ].join("\n");
}
