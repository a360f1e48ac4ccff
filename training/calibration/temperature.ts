import { calibratedSoftmax } from "../../server/backends/classification-scores.js";

export interface ScoredExample {
  logits: ArrayLike<number>;
  label: number;
}

export function negativeLogLikelihood(examples: ScoredExample[], temperature: number): number {
  let total = 0;
  for (const e of examples) total -= Math.log(Math.max(calibratedSoftmax(e.logits, temperature)[e.label]!, 1e-15));
  return total / Math.max(1, examples.length);
}

/**
 * Temperature scaling (Guo et al., 2017): the one scalar T that minimises the validation NLL of calibratedSoftmax(logits / T).
 * The NLL is convex in 1/T, so a golden-section search over log T finds it.
 */
export function fitTemperature(examples: ScoredExample[]): number {
  if (examples.length === 0) return 1;
  const phi = (Math.sqrt(5) - 1) / 2;
  let lo = Math.log(0.05);
  let hi = Math.log(20);
  const f = (logT: number) => negativeLogLikelihood(examples, Math.exp(logT));
  let a = hi - phi * (hi - lo);
  let b = lo + phi * (hi - lo);
  let fa = f(a);
  let fb = f(b);
  for (let i = 0; i < 80; i++) {
    if (fa < fb) {
      hi = b;
      b = a;
      fb = fa;
      a = hi - phi * (hi - lo);
      fa = f(a);
    } else {
      lo = a;
      a = b;
      fa = fb;
      b = lo + phi * (hi - lo);
      fb = f(b);
    }
  }
  return Math.exp((lo + hi) / 2);
}
