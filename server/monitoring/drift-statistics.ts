import { z } from "zod";
import { belowThreshold } from "../escalation/confidence-policy.js";

/** Confidence histogram bins: ten of width 0.1 over [0, 1] (the last one closed). */
export const CONFIDENCE_BINS = 10;

export function confidenceBin(confidence: number): number {
  return Math.min(CONFIDENCE_BINS - 1, Math.max(0, Math.floor(confidence * CONFIDENCE_BINS)));
}

/**
 * What a model's answers looked like on held-out data when it was made: the share of each predicted label, the
 * calibrated confidence histogram and the share below the threshold. Serving compares live traffic with it.
 */
export const DriftReference = z.object({
  source: z.string(),
  count: z.number().int().nonnegative(),
  labelShares: z.record(z.string(), z.number()),
  /** Share of answers per confidence bin (CONFIDENCE_BINS of them); absent when only label shares are known. */
  confidenceHistogram: z.array(z.number()).length(CONFIDENCE_BINS).optional(),
  escalationRate: z.number(),
});
export type DriftReference = z.infer<typeof DriftReference>;

/** Counts of one stretch of answers. */
export interface AnswerCounts {
  count: number;
  labels: Record<string, number>;
  confidence: number[];
  below: number;
}

export function emptyCounts(): AnswerCounts {
  return { count: 0, labels: {}, confidence: new Array<number>(CONFIDENCE_BINS).fill(0), below: 0 };
}

export function addAnswer(counts: AnswerCounts, label: string, confidence: number, below: boolean): void {
  counts.count++;
  counts.labels[label] = (counts.labels[label] ?? 0) + 1;
  counts.confidence[confidenceBin(confidence)]!++;
  if (below) counts.below++;
}

export function mergeCounts(parts: AnswerCounts[]): AnswerCounts {
  const total = emptyCounts();
  for (const part of parts) {
    total.count += part.count;
    total.below += part.below;
    for (const [label, n] of Object.entries(part.labels)) total.labels[label] = (total.labels[label] ?? 0) + n;
    part.confidence.forEach((n, i) => (total.confidence[i]! += n));
  }
  return total;
}

export function labelShares(counts: AnswerCounts, labels: readonly string[]): Record<string, number> {
  return Object.fromEntries(labels.map((l) => [l, counts.count ? (counts.labels[l] ?? 0) / counts.count : 0]));
}

export function histogramShares(counts: AnswerCounts): number[] {
  return counts.confidence.map((n) => (counts.count ? n / counts.count : 0));
}

/** Empty bins get this share, so that a bin seen on one side only adds a large but finite term. */
const EPSILON = 1e-4;

/**
 * Population stability index, Σ (live − ref) · ln(live / ref) over the bins. Rules of thumb: under 0.1 stable,
 * 0.1 to 0.25 a moderate shift, above 0.25 a significant one.
 */
export function psi(reference: readonly number[], live: readonly number[]): number {
  let total = 0;
  reference.forEach((r, i) => {
    const expected = Math.max(r, EPSILON);
    const actual = Math.max(live[i] ?? 0, EPSILON);
    total += (actual - expected) * Math.log(actual / expected);
  });
  return total;
}

/** The reference of a set of predictions (label and calibrated confidence each) under a threshold. */
export function driftReferenceOf(answers: ReadonlyArray<{ label: string; confidence: number }>, labels: readonly string[], threshold: number, source: string): DriftReference {
  const counts = emptyCounts();
  for (const a of answers) addAnswer(counts, a.label, a.confidence, belowThreshold(a.confidence, threshold));
  return { source, count: counts.count, labelShares: labelShares(counts, labels), confidenceHistogram: histogramShares(counts), escalationRate: counts.count ? counts.below / counts.count : 0 };
}
