import { Gauge, type Registry } from "prom-client";
import type { ServerConfig } from "../config/schema.js";
import type { ModelManifest } from "../models/manifest.js";
import { DriftMonitor } from "./drift-monitor.js";
import { readDriftReference } from "./drift-reference.js";
import { histogramShares, labelShares, psi, type AnswerCounts, type DriftReference } from "./drift-statistics.js";

export type DriftSettings = ServerConfig["metrics"]["drift"];

/** A served model as drift needs it: its folder (for the reference) and manifest. */
export interface DriftSubject {
  dir: string;
  manifest: ModelManifest;
}

export interface DriftReport {
  model: string;
  version: string;
  windowMinutes: number;
  answers: number;
  minAnswers: number;
  reference: DriftReference | null;
  live: { labelShares: Record<string, number>; confidenceHistogram: number[]; escalationRate: number | null };
  /** Null with fewer than minAnswers answers in the window, or no reference for that signal. */
  psi: { labels: number | null; confidence: number | null };
  timeline: Array<{ start: string; answers: number; escalationRate: number | null; labelShares: Record<string, number> }>;
}

/**
 * Live answers against what the model did on held-out data when it was made: the label shares, the confidence
 * histogram and the escalation rate, with a population stability index for the first two. Served on the admin
 * API and as the gauge specialist_drift_psi{model, signal}.
 */
export class DriftWatch {
  readonly monitor: DriftMonitor;
  private readonly references = new Map<string, Promise<DriftReference | undefined>>();

  constructor(
    private readonly settings: DriftSettings,
    registry: Registry,
    subjects: () => DriftSubject[],
  ) {
    this.monitor = new DriftMonitor({ bucketMs: settings.bucketSeconds * 1000, keepMs: settings.keepHours * 3_600_000 });
    const watch = this;
    new Gauge({
      name: "specialist_drift_psi",
      help: "Population stability index of the last metrics.drift.windowMinutes of answers against the model's reference (signal: labels or confidence); absent below metrics.drift.minAnswers answers.",
      labelNames: ["model", "signal"] as const,
      registers: [registry],
      async collect() {
        this.reset();
        for (const subject of subjects()) {
          const scores = (await watch.scores(subject)).psi;
          if (scores.labels !== null) this.set({ model: subject.manifest.name, signal: "labels" }, scores.labels);
          if (scores.confidence !== null) this.set({ model: subject.manifest.name, signal: "confidence" }, scores.confidence);
        }
      },
    });
  }

  observe(model: string, label: string, confidence: number, below: boolean): void {
    this.monitor.observe(model, label, confidence, below);
  }

  reference(subject: DriftSubject): Promise<DriftReference | undefined> {
    let found = this.references.get(subject.dir);
    if (!found) this.references.set(subject.dir, (found = readDriftReference(subject.dir, subject.manifest.labels)));
    return found;
  }

  /** The window's counts and both scores, without the timeline (what a metrics scrape needs). */
  async scores(subject: DriftSubject, windowMinutes = this.settings.windowMinutes) {
    const { manifest } = subject;
    const live = this.monitor.window(manifest.name, windowMinutes * 60_000);
    const reference = (await this.reference(subject)) ?? null;
    const enough = live.count >= this.settings.minAnswers;
    const labelsNow = labelShares(live, manifest.labels);
    const histogramNow = histogramShares(live);
    return {
      live,
      reference,
      labelShares: labelsNow,
      confidenceHistogram: histogramNow,
      psi: {
        labels: enough && reference ? psi(manifest.labels.map((l) => reference.labelShares[l] ?? 0), manifest.labels.map((l) => labelsNow[l]!)) : null,
        confidence: enough && reference?.confidenceHistogram ? psi(reference.confidenceHistogram, histogramNow) : null,
      },
    };
  }

  async report(subject: DriftSubject, windowMinutes = this.settings.windowMinutes): Promise<DriftReport> {
    const { manifest } = subject;
    const scored = await this.scores(subject, windowMinutes);
    return {
      model: manifest.name,
      version: manifest.version,
      windowMinutes,
      answers: scored.live.count,
      minAnswers: this.settings.minAnswers,
      reference: scored.reference,
      live: { labelShares: scored.labelShares, confidenceHistogram: scored.confidenceHistogram, escalationRate: rate(scored.live) },
      psi: scored.psi,
      timeline: this.monitor.timeline(manifest.name, windowMinutes * 60_000).map((b) => ({
        start: new Date(b.start).toISOString(),
        answers: b.counts.count,
        escalationRate: rate(b.counts),
        labelShares: labelShares(b.counts, manifest.labels),
      })),
    };
  }
}

const rate = (counts: AnswerCounts) => (counts.count ? counts.below / counts.count : null);
