import { performance } from "node:perf_hooks";
import { classificationReport, type ClassificationReport } from "../evaluation/classification-metrics.js";
import { checkLabels, predictWithBackend } from "../evaluation/predict-with-backend.js";
import { regressionGate, type GateResult } from "../evaluation/regression-gate.js";
import { readLabelledFile } from "../evaluation/labelled-file.js";
import type { LabelledExample } from "../evaluation/example.js";
import type { ModelBackend } from "../backends/backend.js";
import { ServingError } from "../errors/registry.js";
import type { ReloadGateSettings } from "../config/schema.js";

/** A gated golden file is scored in the background of live traffic: this bounds how long it may take. */
const GATE_DEADLINE_MS = 10 * 60_000;

export interface ReloadGateOutcome extends GateResult {
  golden: string;
  examples: number;
  /** Null when nothing was serving to compare with: the candidate's scores are reported, nothing is gated. */
  baseline: Pick<ClassificationReport, "accuracy" | "macroF1"> | null;
  candidate: Pick<ClassificationReport, "accuracy" | "macroF1">;
  seconds: number;
}

/** Reads a golden file (JSONL or CSV, `text`, `label`, optional `category`) and checks its labels are the model's. */
export async function readGolden(path: string, labels: readonly string[]): Promise<LabelledExample[]> {
  const examples = await readLabelledFile(path, { categoryField: "category" });
  if (examples.length === 0) throw new ServingError("ERR_DATA_INVALID", `${path}: the golden file has no examples`);
  checkLabels(examples, labels, path);
  return examples;
}

/**
 * The golden-file gate of a reload, the same check as `specialist eval --baseline-model`: the candidate's accuracy,
 * macro-F1, per-label F1 and per-category accuracy may fall by at most `margin` against the serving version's.
 */
export async function runReloadGate(settings: ReloadGateSettings, baseline: ModelBackend | undefined, candidate: ModelBackend): Promise<ReloadGateOutcome> {
  const started = performance.now();
  const labels = candidate.manifest.labels;
  const examples = await readGolden(settings.golden, labels);
  // One request at a time per version: the golden file is scored beside live traffic and must not fill the queues.
  const options = { deadline: performance.now() + GATE_DEADLINE_MS, chunksInFlight: 1 };
  const [base, cand] = await Promise.all([baseline ? predictWithBackend(baseline, examples, options) : undefined, predictWithBackend(candidate, examples, options)]);
  const candReport = classificationReport(cand, labels);
  const baseReport = base ? classificationReport(base, labels) : undefined;
  const gate: GateResult = baseReport ? regressionGate(baseReport, candReport, settings.margin, settings.minSupport) : { passed: true, margin: settings.margin, minSupport: settings.minSupport, checks: [] };
  return {
    ...gate,
    golden: settings.golden,
    examples: examples.length,
    baseline: baseReport ? { accuracy: baseReport.accuracy, macroF1: baseReport.macroF1 } : null,
    candidate: { accuracy: candReport.accuracy, macroF1: candReport.macroF1 },
    seconds: (performance.now() - started) / 1000,
  };
}

/** The failing checks in one line, for the error an operator reads. */
export function describeFailures(outcome: ReloadGateOutcome): string {
  return outcome.checks
    .filter((c) => !c.passed)
    .map((c) => `${c.metric} ${c.baseline.toFixed(4)} → ${c.candidate.toFixed(4)}`)
    .join(", ");
}
