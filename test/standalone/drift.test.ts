import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DriftMonitor } from "../../server/monitoring/drift-monitor.js";
import { readDriftReference } from "../../server/monitoring/drift-reference.js";
import { confidenceBin, driftReferenceOf, psi } from "../../server/monitoring/drift-statistics.js";

describe("drift statistics", () => {
  it("scores no shift as 0 and a large one above the 0.25 rule of thumb", () => {
    expect(psi([0.7, 0.3], [0.7, 0.3])).toBeCloseTo(0, 10);
    expect(psi([0.7, 0.3], [0.66, 0.34])).toBeLessThan(0.1);
    expect(psi([0.7, 0.3], [0.2, 0.8])).toBeGreaterThan(0.25);
    // A bin the reference never saw adds a large but finite term.
    expect(Number.isFinite(psi([1, 0], [0.5, 0.5]))).toBe(true);
  });

  it("bins confidences by tenths, 1.0 in the last bin", () => {
    expect([0, 0.05, 0.5, 0.93, 1].map(confidenceBin)).toEqual([0, 0, 5, 9, 9]);
  });

  it("builds a reference from predictions under the threshold rule", () => {
    const ref = driftReferenceOf([{ label: "ham", confidence: 0.99 }, { label: "spam", confidence: 0.6 }, { label: "ham", confidence: 0.95 }, { label: "ham", confidence: 0.9 }], ["ham", "spam"], 0.93, "t");
    expect(ref).toMatchObject({ count: 4, labelShares: { ham: 0.75, spam: 0.25 }, escalationRate: 0.5 });
    expect(ref.confidenceHistogram![9]).toBe(0.75);
  });
});

describe("drift monitor", () => {
  it("keeps answers in time buckets, drops those older than keepMs, and windows by time", () => {
    let now = 1_000_000;
    const monitor = new DriftMonitor({ bucketMs: 60_000, keepMs: 10 * 60_000, now: () => now });
    monitor.observe("m", "ham", 0.99, false);
    monitor.observe("m", "spam", 0.6, true);
    now += 5 * 60_000;
    monitor.observe("m", "ham", 0.97, false);
    expect(monitor.window("m", 2 * 60_000)).toMatchObject({ count: 1, labels: { ham: 1 }, below: 0 });
    expect(monitor.window("m", 60 * 60_000)).toMatchObject({ count: 3, labels: { ham: 2, spam: 1 }, below: 1 });
    expect(monitor.timeline("m", 60 * 60_000).map((b) => b.counts.count)).toEqual([2, 1]);
    now += 20 * 60_000;
    monitor.observe("m", "ham", 0.97, false);
    expect(monitor.timeline("m", 60 * 60_000).map((b) => b.counts.count)).toEqual([1]);
    expect(monitor.window("other", 60_000).count).toBe(0);
  });
});

describe("drift reference of a model folder", () => {
  it("reads metrics.json's reference, else the test split's shares, else none", async () => {
    const dir = await mkdtemp(join(tmpdir(), "drift-ref-"));
    try {
      expect(await readDriftReference(dir, ["ham", "spam"])).toBeUndefined();
      await writeFile(join(dir, "metrics.json"), JSON.stringify({ test: { count: 10, perClass: { ham: { support: 8 }, spam: { support: 2 } } }, threshold: { test: { escalationRate: 0.1 } } }));
      expect(await readDriftReference(dir, ["ham", "spam"])).toMatchObject({ count: 10, labelShares: { ham: 0.8, spam: 0.2 }, escalationRate: 0.1 });
      const reference = driftReferenceOf([{ label: "spam", confidence: 0.99 }], ["ham", "spam"], 0.9, "validation");
      await writeFile(join(dir, "metrics.json"), JSON.stringify({ reference }));
      expect(await readDriftReference(dir, ["ham", "spam"])).toEqual(reference);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
