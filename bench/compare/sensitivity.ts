import { belowThreshold } from "../../server/escalation/confidence-policy.js";

/** The specialist's answer to one test input: its calibrated confidence and whether it was right. */
export interface SpecialistOutcome {
  confidence: number;
  correct: boolean;
}

export interface SensitivityRow {
  /** The frontier's accuracy on the inputs the cascade escalates. */
  frontierAccuracyOnEscalated: number;
  cascadeAccuracy: number;
  /** Where the row comes from: an assumed accuracy, or a frontier arm measured on the same escalated inputs. */
  source: string;
}

export interface Sensitivity {
  threshold: number;
  escalationRate: number;
  specialistAccuracy: number;
  /** The specialist's own accuracy on the inputs it escalates: a frontier must beat this for the cascade to help. */
  specialistAccuracyOnEscalated: number;
  /** Accuracy on escalated inputs above which the cascade beats the specialist alone (= the specialist's own there). */
  breakEvenVsSpecialist: number;
  rows: SensitivityRow[];
}

/**
 * Cascade accuracy as a function of the frontier's accuracy on what is escalated, for the specialist's answers at
 * one threshold: kept answers count as the specialist's, escalated ones as right at the given rate. Escalation rate
 * (and so cost) does not depend on it. The break-even against a frontier alone of overall accuracy F is
 * `(F − kept right share) / escalated share` (see `breakEvenVsFrontier`).
 */
export function sensitivity(outcomes: readonly SpecialistOutcome[], threshold: number, levels: Array<{ accuracy: number; source: string }>): Sensitivity {
  const n = Math.max(1, outcomes.length);
  const escalated = outcomes.filter((o) => belowThreshold(o.confidence, threshold));
  const keptRight = outcomes.filter((o) => !belowThreshold(o.confidence, threshold) && o.correct).length;
  const escalatedRight = escalated.filter((o) => o.correct).length;
  const specialistAccuracyOnEscalated = escalated.length ? escalatedRight / escalated.length : 1;
  return {
    threshold,
    escalationRate: escalated.length / n,
    specialistAccuracy: outcomes.filter((o) => o.correct).length / n,
    specialistAccuracyOnEscalated,
    breakEvenVsSpecialist: specialistAccuracyOnEscalated,
    rows: levels.map(({ accuracy, source }) => ({ frontierAccuracyOnEscalated: accuracy, cascadeAccuracy: (keptRight + accuracy * escalated.length) / n, source })),
  };
}

/**
 * The accuracy on escalated inputs the frontier needs for the cascade to match a frontier alone of overall accuracy
 * `frontierAlone`; above 1, the cascade cannot match it (its kept answers already lose more than that).
 */
export function breakEvenVsFrontier(s: Sensitivity, outcomes: readonly SpecialistOutcome[], frontierAlone: number): number {
  const n = Math.max(1, outcomes.length);
  const keptRight = outcomes.filter((o) => !belowThreshold(o.confidence, s.threshold) && o.correct).length / n;
  return s.escalationRate > 0 ? (frontierAlone - keptRight) / s.escalationRate : Infinity;
}
