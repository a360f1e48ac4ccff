import type { ClassificationReport } from "./classification-metrics.js";

export interface GateCheck {
  metric: string;
  baseline: number;
  candidate: number;
  drop: number;
  passed: boolean;
}

export interface GateResult {
  passed: boolean;
  margin: number;
  checks: GateCheck[];
}

/**
 * The golden-set regression gate: overall accuracy, each label's F1 and each category's accuracy may fall by at
 * most `margin` (absolute) against the baseline. A category the baseline lacks is reported, not gated.
 */
export function regressionGate(baseline: ClassificationReport, candidate: ClassificationReport, margin: number): GateResult {
  const checks: GateCheck[] = [];
  const check = (metric: string, base: number | undefined, cand: number | undefined) => {
    if (base === undefined) return;
    const value = cand ?? 0;
    const drop = base - value;
    checks.push({ metric, baseline: base, candidate: value, drop, passed: drop <= margin + 1e-12 });
  };
  check("accuracy", baseline.accuracy, candidate.accuracy);
  check("macro-F1", baseline.macroF1, candidate.macroF1);
  for (const [label, scores] of Object.entries(baseline.perClass)) check(`F1[${label}]`, scores.f1, candidate.perClass[label]?.f1);
  for (const [category, scores] of Object.entries(baseline.perCategory)) {
    check(`accuracy[${category}]`, scores.accuracy, candidate.perCategory[category]?.accuracy);
  }
  return { passed: checks.every((c) => c.passed), margin, checks };
}
