import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { DriftReference } from "./drift-statistics.js";

/** The parts of a model's metrics.json a reference can come from (written by `train`, or by `specialist reference`). */
interface MetricsFile {
  reference?: unknown;
  test?: { count?: number; perClass?: Record<string, { support?: number }> };
  threshold?: { test?: { escalationRate?: number } };
}

/**
 * The drift reference of a model folder: metrics.json's `reference` block; for a folder made before those were
 * written, the test split's label shares and escalation rate (gold labels, so an approximation of the predicted
 * shares; no confidence histogram). Undefined when the folder has neither (a model made elsewhere).
 */
export async function readDriftReference(dir: string, labels: readonly string[]): Promise<DriftReference | undefined> {
  let metrics: MetricsFile;
  try {
    metrics = JSON.parse(await readFile(join(dir, "metrics.json"), "utf8")) as MetricsFile;
  } catch {
    return undefined;
  }
  const stored = DriftReference.safeParse(metrics.reference);
  if (stored.success) return stored.data;
  const perClass = metrics.test?.perClass;
  const count = metrics.test?.count;
  const rate = metrics.threshold?.test?.escalationRate;
  if (!perClass || !count || rate === undefined) return undefined;
  return {
    source: "metrics.json test split: gold-label shares and escalation rate (no reference block; run `specialist reference` for predicted shares and confidences)",
    count,
    labelShares: Object.fromEntries(labels.map((l) => [l, (perClass[l]?.support ?? 0) / count])),
    escalationRate: rate,
  };
}
