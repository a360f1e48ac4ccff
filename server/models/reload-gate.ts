import { performance } from "node:perf_hooks";
import { classificationReport, type ClassificationReport, type Prediction } from "../../training/evaluation/classification-metrics.js";
import { regressionGate, type GateResult } from "../../training/evaluation/regression-gate.js";
import { readLabelledFile } from "../../training/data/labelled-file.js";
import type { LabelledExample } from "../../training/data/example.js";
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
  const unknown = [...new Set(examples.map((e) => e.label))].filter((label) => !labels.includes(label));
  if (unknown.length > 0) throw new ServingError("ERR_DATA_INVALID", `${path}: labels ${unknown.join(", ")} are not the model's (${labels.join(", ")})`);
  return examples;
}

async function predict(backend: ModelBackend, examples: LabelledExample[]): Promise<Prediction[]> {
  const chunk = backend.manifest.limits.maxInputsPerRequest;
  const deadline = performance.now() + GATE_DEADLINE_MS;
  const predictions: Prediction[] = [];
  for (let at = 0; at < examples.length; at += chunk) {
    const part = examples.slice(at, at + chunk);
    const { outputs } = await backend.classify(part.map((e) => e.text), { deadline });
    outputs.forEach((o, i) => {
      const example = part[i]!;
      predictions.push({ gold: example.label, predicted: o.label, confidence: o.confidence, ...(example.category !== undefined ? { category: example.category } : {}) });
    });
  }
  return predictions;
}

/**
 * The golden-file gate of a reload, the same check as `specialist eval --baseline-model`: the candidate's accuracy,
 * macro-F1, per-label F1 and per-category accuracy may fall by at most `margin` against the serving version's.
 */
export async function runReloadGate(settings: ReloadGateSettings, baseline: ModelBackend | undefined, candidate: ModelBackend): Promise<ReloadGateOutcome> {
  const started = performance.now();
  const labels = candidate.manifest.labels;
  const examples = await readGolden(settings.golden, labels);
  const [base, cand] = await Promise.all([baseline ? predict(baseline, examples) : undefined, predict(candidate, examples)]);
  const candReport = classificationReport(cand, labels);
  const baseReport = base ? classificationReport(base, labels) : undefined;
  const gate: GateResult = baseReport ? regressionGate(baseReport, candReport, settings.margin) : { passed: true, margin: settings.margin, checks: [] };
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
