import { addAnswer, emptyCounts, mergeCounts, type AnswerCounts } from "./drift-statistics.js";

export interface DriftMonitorOptions {
  /** Length of one stretch of the timeline. */
  bucketMs: number;
  /** How much history is kept per model. */
  keepMs: number;
  now?: () => number;
}

interface Bucket {
  start: number;
  counts: AnswerCounts;
}

/**
 * Live answers of each classification model in time buckets: label, calibrated confidence bin, and whether the
 * answer was under the threshold. Memory is bounded by keepMs / bucketMs buckets per model.
 */
export class DriftMonitor {
  private readonly buckets = new Map<string, Bucket[]>();
  private readonly now: () => number;

  constructor(private readonly options: DriftMonitorOptions) {
    this.now = options.now ?? Date.now;
  }

  observe(model: string, label: string, confidence: number, below: boolean): void {
    const now = this.now();
    const start = now - (now % this.options.bucketMs);
    let list = this.buckets.get(model);
    if (!list) this.buckets.set(model, (list = []));
    let last = list[list.length - 1];
    if (!last || last.start !== start) {
      list.push((last = { start, counts: emptyCounts() }));
      const oldest = now - this.options.keepMs;
      while (list.length > 0 && list[0]!.start + this.options.bucketMs <= oldest) list.shift();
    }
    addAnswer(last.counts, label, confidence, below);
  }

  /** The buckets of the last `ms` (those that overlap it), oldest first. */
  timeline(model: string, ms: number): Array<{ start: number; counts: AnswerCounts }> {
    const since = this.now() - ms;
    return (this.buckets.get(model) ?? []).filter((b) => b.start + this.options.bucketMs > since);
  }

  /** All answers of the last `ms`. */
  window(model: string, ms: number): AnswerCounts {
    return mergeCounts(this.timeline(model, ms).map((b) => b.counts));
  }

  models(): string[] {
    return [...this.buckets.keys()];
  }

  get bucketMs(): number {
    return this.options.bucketMs;
  }
}
