import { performance } from "node:perf_hooks";
import { readManifest } from "../../server/models/manifest-validation.js";
import { type ModelManifest } from "../../server/models/manifest.js";
import { backendKind } from "../../server/backends/registry.js";
import type { ModelBackend } from "../../server/backends/backend.js";
import { ServingMetrics } from "../../server/metrics/serving-metrics.js";
import { ServingError } from "../../server/errors/registry.js";
import { belowThreshold } from "../../server/escalation/confidence-policy.js";
import type { LabelledExample } from "../../server/evaluation/example.js";
import { classificationReport, type ClassificationReport, type Prediction } from "../../server/evaluation/classification-metrics.js";
import { checkLabels, predictWithBackend } from "../../server/evaluation/predict-with-backend.js";

export interface ModelEvaluation {
  model: string;
  version: string;
  report: ClassificationReport;
  /** Share of items below the model's threshold, and the accuracy on the rest. */
  escalationRate: number;
  keptAccuracy: number;
  seconds: number;
}

/**
 * Runs a model folder on labelled examples through the serving backend itself (worker pool + batcher), so the
 * model that passes evaluation is exactly the model that serves.
 */
export async function evaluateModelFolder(dir: string, examples: LabelledExample[], options: { workers?: number } = {}): Promise<ModelEvaluation> {
  const { manifest, predictions, seconds } = await predictWithModelFolder(dir, examples, options);
  const kept = predictions.filter((p) => !belowThreshold(p.confidence, manifest.threshold));
  return {
    model: manifest.name,
    version: manifest.version,
    report: classificationReport(predictions, manifest.labels),
    escalationRate: 1 - kept.length / Math.max(1, predictions.length),
    keptAccuracy: kept.filter((p) => p.gold === p.predicted).length / Math.max(1, kept.length),
    seconds,
  };
}

/** A model folder loaded by its serving backend, as the server would load it (one worker unless told). */
export async function openModelFolder(dir: string, options: { workers?: number } = {}): Promise<ModelBackend> {
  const manifest = await readManifest(dir);
  const factory = backendKind(manifest.format)?.create;
  if (!factory) throw new ServingError("ERR_MODEL_LOAD_FAILED", `no backend for format '${manifest.format}'`);
  return factory({ dir, manifest, metrics: new ServingMetrics({ defaultMetrics: false }), workers: options.workers ?? 1, log: () => {} });
}

/** The model's prediction for each example, in order, from the serving backend. */
export async function predictWithModelFolder(
  dir: string,
  examples: LabelledExample[],
  options: { workers?: number } = {},
): Promise<{ manifest: ModelManifest; predictions: Prediction[]; seconds: number }> {
  const manifest = await readManifest(dir);
  checkLabels(examples, manifest.labels);
  const backend = await openModelFolder(dir, options);
  // Timed from a loaded backend: the figure is the model's speed on the data, not its start-up.
  const started = performance.now();
  try {
    const predictions = await predictWithBackend(backend, examples, { deadline: Infinity, chunksInFlight: Infinity });
    return { manifest, predictions, seconds: (performance.now() - started) / 1000 };
  } finally {
    await backend.dispose();
  }
}
