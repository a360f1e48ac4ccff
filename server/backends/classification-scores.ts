import type { ClassificationOutput } from "./backend.js";

/** Calibrated probabilities: softmax of `logits / temperature` over `count` entries from `offset` (temperature 1: the raw model). */
export function calibratedSoftmax(logits: ArrayLike<number>, temperature = 1, offset = 0, count = logits.length - offset): number[] {
  let max = -Infinity;
  for (let i = 0; i < count; i++) max = Math.max(max, logits[offset + i]! / temperature);
  const out = new Array<number>(count);
  let sum = 0;
  for (let i = 0; i < count; i++) sum += out[i] = Math.exp(logits[offset + i]! / temperature - max);
  for (let i = 0; i < count; i++) out[i] = out[i]! / sum;
  return out;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/**
 * A multi-label answer: each label's own probability (sigmoid of logit / temperature), the labels at 0.5 or above,
 * and the confidence of that whole set: the product over labels of the probability of the side it was put on.
 */
function multiLabelScores(logits: ArrayLike<number>, offset: number, labels: readonly string[], temperature: number, tokens: number, truncated: boolean): ClassificationOutput {
  const scores: Record<string, number> = {};
  const chosen: string[] = [];
  let best = 0;
  let confidence = 1;
  let score = 1;
  labels.forEach((label, i) => {
    const logit = logits[offset + i]!;
    const p = sigmoid(logit / temperature);
    const raw = sigmoid(logit);
    scores[label] = p;
    if (p >= 0.5) chosen.push(label);
    if (p > scores[labels[best]!]!) best = i;
    confidence *= Math.max(p, 1 - p);
    score *= Math.max(raw, 1 - raw);
  });
  return { label: labels[best]!, labels: chosen, score, scores, confidence, tokens, truncated };
}

/** Turns one row of logits into the public answer: raw and temperature-scaled softmax over the labels (sigmoids when multi-label). */
export function scoreLogits(
  logits: ArrayLike<number>,
  offset: number,
  labels: readonly string[],
  temperature: number,
  tokens: number,
  truncated: boolean,
  multiLabel = false,
): ClassificationOutput {
  if (multiLabel) return multiLabelScores(logits, offset, labels, temperature, tokens, truncated);
  const raw = calibratedSoftmax(logits, 1, offset, labels.length);
  const calibrated = calibratedSoftmax(logits, temperature, offset, labels.length);
  let best = 0;
  for (let i = 1; i < labels.length; i++) if (calibrated[i]! > calibrated[best]!) best = i;
  const scores: Record<string, number> = {};
  labels.forEach((label, i) => (scores[label] = calibrated[i]!));
  return { label: labels[best]!, score: raw[best]!, scores, confidence: calibrated[best]!, tokens, truncated };
}
