import { expectedCalibrationError } from "./ece.js";

export interface Prediction {
  gold: string;
  predicted: string;
  /** Calibrated probability of `predicted`. */
  confidence: number;
  category?: string;
}

export interface ClassScores {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface ClassificationReport {
  count: number;
  accuracy: number;
  macroF1: number;
  perClass: Record<string, ClassScores>;
  /** Accuracy and support per category (e.g. corpus folder), when the data has categories. */
  perCategory: Record<string, { accuracy: number; support: number }>;
  /** confusion[gold][predicted] = count. */
  confusion: Record<string, Record<string, number>>;
  /** Accuracy on the given share of most confident items, with the confidence at the cut. */
  coverage: Array<{ coverage: number; accuracy: number; threshold: number }>;
  ece: number;
}

export const COVERAGE_LEVELS = [1, 0.98, 0.95, 0.9, 0.8];

export function classificationReport(predictions: Prediction[], labels: string[]): ClassificationReport {
  const confusion: Record<string, Record<string, number>> = {};
  for (const gold of labels) confusion[gold] = Object.fromEntries(labels.map((p) => [p, 0]));
  let correct = 0;
  const categories = new Map<string, { correct: number; support: number }>();
  for (const p of predictions) {
    const row = (confusion[p.gold] ??= Object.fromEntries(labels.map((l) => [l, 0])));
    row[p.predicted] = (row[p.predicted] ?? 0) + 1;
    if (p.gold === p.predicted) correct++;
    if (p.category !== undefined) {
      const c = categories.get(p.category) ?? { correct: 0, support: 0 };
      c.support++;
      if (p.gold === p.predicted) c.correct++;
      categories.set(p.category, c);
    }
  }
  const perClass: Record<string, ClassScores> = {};
  for (const label of labels) {
    const tp = confusion[label]?.[label] ?? 0;
    const support = Object.values(confusion[label] ?? {}).reduce((a, b) => a + b, 0);
    const predictedAs = Object.values(confusion).reduce((a, row) => a + (row[label] ?? 0), 0);
    const precision = predictedAs ? tp / predictedAs : 0;
    const recall = support ? tp / support : 0;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    perClass[label] = { precision, recall, f1, support };
  }
  const sorted = [...predictions].sort((a, b) => b.confidence - a.confidence);
  const coverage = COVERAGE_LEVELS.map((level) => {
    const k = Math.max(1, Math.round(sorted.length * level));
    const kept = sorted.slice(0, k);
    return {
      coverage: level,
      accuracy: kept.filter((p) => p.gold === p.predicted).length / Math.max(1, kept.length),
      threshold: kept.at(-1)?.confidence ?? 1,
    };
  });
  return {
    count: predictions.length,
    accuracy: predictions.length ? correct / predictions.length : 0,
    macroF1: labels.reduce((a, l) => a + perClass[l]!.f1, 0) / labels.length,
    perClass,
    perCategory: Object.fromEntries(
      [...categories].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, c]) => [name, { accuracy: c.correct / c.support, support: c.support }]),
    ),
    confusion,
    coverage,
    ece: expectedCalibrationError(predictions.map((p) => ({ confidence: p.confidence, correct: p.gold === p.predicted }))),
  };
}
