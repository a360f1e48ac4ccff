import * as hdr from "hdr-histogram-js";
import type { ClassificationOutput, ClassifyResult, ModelBackend } from "../backends/backend.js";
import type { SubmitOptions } from "../batching/dynamic-batcher.js";
import { ServingError } from "../errors/registry.js";
import type { ServingMetrics } from "../metrics/serving-metrics.js";

/** Background comparisons on the current version allowed at once; beyond it a canary request is not compared. */
const MAX_COMPARISONS_IN_FLIGHT = 32;
/** A comparison is background work: it may wait, but not forever. */
const COMPARISON_DEADLINE_MS = 30_000;

export interface LatencySummary {
  count: number;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
}

export interface CanaryReport {
  model: string;
  currentVersion: string;
  candidateVersion: string;
  share: number;
  startedAt: string;
  /** Requests and inputs the candidate answered. */
  requests: number;
  inputs: number;
  /** Requests the candidate failed on and the current version answered instead. */
  candidateErrors: number;
  /** Inputs also classified by the current version, and how many got the same label. */
  compared: number;
  agreed: number;
  agreement: number | null;
  /** Canary inputs left uncompared because the background comparisons were saturated or failed. */
  skipped: number;
  /** Per request on canary traffic: the candidate's queue + compute time, and the current version's on the same inputs. */
  latency: { candidate: LatencySummary; current: LatencySummary };
}

function newHistogram(): hdr.Histogram {
  // Microseconds, 1 µs to 10 min.
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });
}

function summary(h: hdr.Histogram): LatencySummary {
  const at = (p: number) => (h.totalCount ? h.getValueAtPercentile(p) / 1000 : null);
  return { count: h.totalCount, p50Ms: at(50), p95Ms: at(95), p99Ms: at(99) };
}

const micros = (ms: number) => Math.max(1, Math.round(ms * 1000));

/**
 * A candidate version serving a share of a model's traffic beside the current one. Each input the candidate answers
 * is classified again by the current version in the background, off the response path, so the operator sees how
 * often they agree and how their latencies compare on the same inputs before promoting or rolling back.
 */
export class Canary {
  readonly startedAt = new Date();
  private requests = 0;
  private inputs = 0;
  private candidateErrors = 0;
  private compared = 0;
  private agreed = 0;
  private skipped = 0;
  private inFlight = 0;
  private readonly candidateLatency = newHistogram();
  private readonly currentLatency = newHistogram();

  constructor(
    readonly candidate: ModelBackend,
    public share: number,
    private readonly metrics: ServingMetrics,
  ) {}

  private get labels() {
    return { model: this.candidate.manifest.name, version: this.candidate.manifest.version };
  }

  /** Whether this request goes to the candidate. */
  takes(random = Math.random()): boolean {
    return random < this.share;
  }

  /** The candidate failed this request; the current version answers it. */
  failed(): void {
    this.candidateErrors++;
    this.metrics.canaryRequests.inc({ ...this.labels, outcome: "failed" });
  }

  /** The candidate answered `texts` in `latencyMs`; the current version classifies them too, in the background. */
  answered(current: ModelBackend, texts: string[], outputs: ClassificationOutput[], latencyMs: number): void {
    this.requests++;
    this.inputs += texts.length;
    this.metrics.canaryRequests.inc({ ...this.labels, outcome: "answered" });
    this.candidateLatency.recordValue(micros(latencyMs));
    if (this.inFlight >= MAX_COMPARISONS_IN_FLIGHT) {
      this.skipped += texts.length;
      return;
    }
    this.inFlight++;
    current
      .classify(texts, { deadline: performance.now() + COMPARISON_DEADLINE_MS })
      .then((reference) => {
        this.currentLatency.recordValue(micros(reference.queueMs + reference.computeMs));
        reference.outputs.forEach((output, i) => {
          const same = output.label === outputs[i]?.label;
          this.compared++;
          if (same) this.agreed++;
          this.metrics.canaryComparisons.inc({ ...this.labels, agreed: String(same) });
        });
      })
      .catch(() => {
        this.skipped += texts.length;
      })
      .finally(() => this.inFlight--);
  }

  report(currentVersion: string): CanaryReport {
    return {
      model: this.candidate.manifest.name,
      currentVersion,
      candidateVersion: this.candidate.manifest.version,
      share: this.share,
      startedAt: this.startedAt.toISOString(),
      requests: this.requests,
      inputs: this.inputs,
      candidateErrors: this.candidateErrors,
      compared: this.compared,
      agreed: this.agreed,
      agreement: this.compared ? this.agreed / this.compared : null,
      skipped: this.skipped,
      latency: { candidate: summary(this.candidateLatency), current: summary(this.currentLatency) },
    };
  }

  /** Background comparisons still running (promote and rollback wait for them before releasing a version). */
  async settled(): Promise<void> {
    while (this.inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Where a request goes: the serving version, or a canary for its share of the traffic. */
export interface Routed {
  backend: ModelBackend;
  canary?: { trial: Canary; current: ModelBackend };
}

/**
 * Classifies on the routed backend. A canary that fails a request (other than by the caller's own deadline or
 * disconnect) is counted against it and the serving version answers instead: a canary must not cost users answers.
 */
export async function classifyRouted(routed: Routed, texts: string[], options: SubmitOptions): Promise<{ backend: ModelBackend; result: ClassifyResult }> {
  if (!routed.canary) return { backend: routed.backend, result: await routed.backend.classify(texts, options) };
  const { trial, current } = routed.canary;
  try {
    const result = await routed.backend.classify(texts, options);
    trial.answered(current, texts, result.outputs, result.queueMs + result.computeMs);
    return { backend: routed.backend, result };
  } catch (error) {
    if (error instanceof ServingError && (error.code === "ERR_DEADLINE_EXCEEDED" || error.code === "ERR_CLIENT_CLOSED")) throw error;
    trial.failed();
    return { backend: current, result: await current.classify(texts, options) };
  }
}
