import type { ModelBackend } from "../backends/backend.js";
import { ServingError } from "../errors/registry.js";
import type { LabelledExample } from "./example.js";
import type { Prediction } from "./classification-metrics.js";

/** Refuses labelled data whose labels the model does not have: its scores would be meaningless. */
export function checkLabels(examples: readonly LabelledExample[], labels: readonly string[], source = ""): void {
  const unknown = [...new Set(examples.map((e) => e.label))].filter((label) => !labels.includes(label));
  if (unknown.length > 0) throw new ServingError("ERR_DATA_INVALID", `${source ? `${source}: ` : ""}labels ${unknown.join(", ")} are not the model's (${labels.join(", ")})`);
}

/**
 * The model's prediction for each example, in order, from a loaded backend: requests of `maxInputsPerRequest`
 * inputs, at most `chunksInFlight` of them queued at once (1 beside live traffic, all of them for an offline run).
 */
export async function predictWithBackend(backend: ModelBackend, examples: readonly LabelledExample[], options: { deadline: number; chunksInFlight: number }): Promise<Prediction[]> {
  if (backend.manifest.multiLabel) {
    throw new ServingError("ERR_DATA_INVALID", `model '${backend.manifest.name}' is multi-label: its evaluation (one gold label per example) is not supported yet`);
  }
  const chunk = backend.manifest.limits.maxInputsPerRequest;
  const predictions: Prediction[] = new Array(examples.length);
  let next = 0;
  const lane = async () => {
    while (next < examples.length) {
      const at = next;
      next += chunk;
      const slice = examples.slice(at, at + chunk);
      const { outputs } = await backend.classify(slice.map((e) => e.text), { deadline: options.deadline });
      outputs.forEach((o, j) => {
        const e = slice[j]!;
        predictions[at + j] = { gold: e.label, predicted: o.label, confidence: o.confidence, ...(e.category !== undefined ? { category: e.category } : {}) };
      });
    }
  };
  const lanes = Math.max(1, Math.min(options.chunksInFlight, Math.ceil(examples.length / chunk)));
  await Promise.all(Array.from({ length: lanes }, lane));
  return predictions;
}
