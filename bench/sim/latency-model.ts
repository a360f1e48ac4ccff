import { gaussian } from "../../training/random.js";

/** Log-normal call latency: `medianMs` × e^(σ·Z). */
export interface LatencyModel {
  medianMs: number;
  sigma: number;
}

/** z of the 5th and 95th percentiles of a standard normal. */
export const Z95 = 1.6449;

/**
 * Default simulated frontier latency: the "typical 800–5,000 ms of a frontier call" (the range the benchmark issue
 * states for GPT-5 / Claude class APIs on short structured answers) taken as the 5th and 95th percentiles of a
 * log-normal: median √(800 × 5000) = 2,000 ms, σ = ln(5000 / 800) / (2 × 1.6449) = 0.557. A simulation, not a
 * measurement of any provider.
 */
export const DEFAULT_SIM_LATENCY: LatencyModel = fromRange(800, 5000);

/** The log-normal whose 5th and 95th percentiles are `p5Ms` and `p95Ms`. */
export function fromRange(p5Ms: number, p95Ms: number): LatencyModel {
  return { medianMs: Math.sqrt(p5Ms * p95Ms), sigma: Math.log(p95Ms / p5Ms) / (2 * Z95) };
}

export function sampleLatency(model: LatencyModel, rng: () => number): number {
  return model.medianMs * Math.exp(model.sigma * gaussian(rng));
}
