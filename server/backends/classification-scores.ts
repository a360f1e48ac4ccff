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

/** Turns one row of logits into the public answer: raw and temperature-scaled softmax over the labels. */
export function scoreLogits(
  logits: ArrayLike<number>,
  offset: number,
  labels: readonly string[],
  temperature: number,
  tokens: number,
  truncated: boolean,
): ClassificationOutput {
  const raw = calibratedSoftmax(logits, 1, offset, labels.length);
  const calibrated = calibratedSoftmax(logits, temperature, offset, labels.length);
  let best = 0;
  for (let i = 1; i < labels.length; i++) if (calibrated[i]! > calibrated[best]!) best = i;
  const scores: Record<string, number> = {};
  labels.forEach((label, i) => (scores[label] = calibrated[i]!));
  return { label: labels[best]!, score: raw[best]!, scores, confidence: calibrated[best]!, tokens, truncated };
}
