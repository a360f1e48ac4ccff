import { performance } from "node:perf_hooks";
import { readManifest, type ModelManifest } from "../../server/models/manifest.js";
import { BACKENDS } from "../../server/models/model-registry.js";
import { ServingMetrics } from "../../server/metrics/serving-metrics.js";
import { ServingError } from "../../server/errors/registry.js";
import type { LabelledExample } from "../data/example.js";
import { classificationReport, type ClassificationReport, type Prediction } from "./classification-metrics.js";

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
  const kept = predictions.filter((p) => p.confidence >= manifest.threshold);
  return {
    model: manifest.name,
    version: manifest.version,
    report: classificationReport(predictions, manifest.labels),
    escalationRate: 1 - kept.length / Math.max(1, predictions.length),
    keptAccuracy: kept.filter((p) => p.gold === p.predicted).length / Math.max(1, kept.length),
    seconds,
  };
}

/** The model's prediction for each example, in order, from the serving backend. */
export async function predictWithModelFolder(
  dir: string,
  examples: LabelledExample[],
  options: { workers?: number } = {},
): Promise<{ manifest: ModelManifest; predictions: Prediction[]; seconds: number }> {
  const manifest = await readManifest(dir);
  const factory = BACKENDS[manifest.format];
  if (!factory) throw new ServingError("ERR_MODEL_LOAD_FAILED", `no backend for format '${manifest.format}'`);
  const unknown = [...new Set(examples.map((e) => e.label))].filter((l) => !manifest.labels.includes(l));
  if (unknown.length) {
    throw new ServingError("ERR_DATA_INVALID", `labels ${unknown.join(", ")} are not among the model's labels (${manifest.labels.join(", ")})`);
  }
  const backend = await factory({
    dir,
    manifest,
    metrics: new ServingMetrics({ defaultMetrics: false }),
    workers: options.workers ?? 1,
    log: () => {},
  });
  // Timed from a loaded backend: the figure is the model's speed on the data, not its start-up.
  const started = performance.now();
  try {
    const chunk = manifest.limits.maxInputsPerRequest;
    const predictions: Prediction[] = [];
    const jobs: Promise<void>[] = [];
    for (let i = 0; i < examples.length; i += chunk) {
      const slice = examples.slice(i, i + chunk);
      jobs.push(
        backend.classify(slice.map((e) => e.text), { deadline: Infinity }).then((result) => {
          result.outputs.forEach((o, j) => {
            const e = slice[j]!;
            predictions[i + j] = { gold: e.label, predicted: o.label, confidence: o.confidence, ...(e.category !== undefined ? { category: e.category } : {}) };
          });
        }),
      );
    }
    await Promise.all(jobs);
    return { manifest, predictions, seconds: (performance.now() - started) / 1000 };
  } finally {
    await backend.dispose();
  }
}
