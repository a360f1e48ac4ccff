import type { ClassificationReport } from "./classification-metrics.js";

/** Golden items a label or category needs before its score may block: below it, one item moves accuracy by 5 points or more. */
export const DEFAULT_MIN_SUPPORT = 20;

export interface GateCheck {
  metric: string;
  baseline: number;
  candidate: number;
  drop: number;
  passed: boolean;
  /** Golden items behind a per-label or per-category score. */
  support?: number;
  /** Why the check was reported but did not count (too few golden items). */
  skipped?: string;
}

export interface GateResult {
  passed: boolean;
  margin: number;
  minSupport: number;
  checks: GateCheck[];
}

/**
 * The golden-set regression gate: overall accuracy, each label's F1 and each category's accuracy may fall by at
 * most `margin` (absolute) against the baseline. A category the baseline lacks is reported, not gated; so is a
 * label or category with fewer than `minSupport` golden items, whose score is mostly noise.
 */
export function regressionGate(baseline: ClassificationReport, candidate: ClassificationReport, margin: number, minSupport = DEFAULT_MIN_SUPPORT): GateResult {
  const checks: GateCheck[] = [];
  const check = (metric: string, base: number | undefined, cand: number | undefined, support?: number) => {
    if (base === undefined) return;
    const value = cand ?? 0;
    const drop = base - value;
    const result: GateCheck = { metric, baseline: base, candidate: value, drop, passed: drop <= margin + 1e-12 };
    if (support !== undefined) {
      result.support = support;
      if (support < minSupport) {
        result.passed = true;
        result.skipped = `${support} golden items, fewer than minSupport ${minSupport}: reported, not gated`;
      }
    }
    checks.push(result);
  };
  check("accuracy", baseline.accuracy, candidate.accuracy);
  check("macro-F1", baseline.macroF1, candidate.macroF1);
  for (const [label, scores] of Object.entries(baseline.perClass)) check(`F1[${label}]`, scores.f1, candidate.perClass[label]?.f1, scores.support);
  for (const [category, scores] of Object.entries(baseline.perCategory)) {
    check(`accuracy[${category}]`, scores.accuracy, candidate.perCategory[category]?.accuracy, scores.support);
  }
  return { passed: checks.every((c) => c.passed), margin, minSupport, checks };
}
