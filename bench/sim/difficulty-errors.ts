/** How a simulated frontier's errors depend on the input: p(x) = min(cap, k · d(x)^γ), mean `meanError`. */
export interface DifficultyErrors {
  /** Per-input error probability, in the order of the difficulties given. */
  rates: number[];
  k: number;
  gamma: number;
  cap: number;
  /** The mean of `rates`: `meanError`, unless the cap keeps it lower. */
  mean: number;
}

/**
 * Error probabilities that grow with an input's difficulty `d` ∈ [0, 1] (e.g. 1 − an independent model's probability
 * of the gold label), scaled so that they average `meanError` over the inputs: a frontier as accurate on the whole
 * set as a flat error rate, but wrong where inputs are hard, as real models are. `k` is found by bisection.
 */
export function difficultyErrors(difficulty: readonly number[], meanError: number, gamma = 1, cap = 0.9): DifficultyErrors {
  const ratesFor = (k: number) => difficulty.map((d) => Math.min(cap, k * Math.max(0, d) ** gamma));
  const meanOf = (rates: number[]) => rates.reduce((a, b) => a + b, 0) / Math.max(1, rates.length);
  let lo = 0;
  let hi = 1;
  while (meanOf(ratesFor(hi)) < meanError && hi < 1e12) hi *= 2;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (meanOf(ratesFor(mid)) < meanError) lo = mid;
    else hi = mid;
  }
  const rates = ratesFor(hi);
  return { rates, k: hi, gamma, cap, mean: meanOf(rates) };
}
