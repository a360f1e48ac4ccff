import type { ClassificationOutput } from "./backend.js";

/** Turns one row of logits into the public answer: raw and temperature-scaled softmax over the labels. */
export function scoreLogits(
  logits: ArrayLike<number>,
  offset: number,
  labels: readonly string[],
  temperature: number,
  tokens: number,
  truncated: boolean,
): ClassificationOutput {
  const n = labels.length;
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, logits[offset + i]!);
  let rawSum = 0;
  let calSum = 0;
  const raw = new Array<number>(n);
  const cal = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const z = logits[offset + i]! - max;
    raw[i] = Math.exp(z);
    cal[i] = Math.exp(z / temperature);
    rawSum += raw[i]!;
    calSum += cal[i]!;
  }
  let best = 0;
  for (let i = 1; i < n; i++) if (cal[i]! > cal[best]!) best = i;
  const scores: Record<string, number> = {};
  for (let i = 0; i < n; i++) scores[labels[i]!] = cal[i]! / calSum;
  return {
    label: labels[best]!,
    score: raw[best]! / rawSum,
    scores,
    confidence: cal[best]! / calSum,
    tokens,
    truncated,
  };
}
