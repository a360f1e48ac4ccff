import { describe, expect, it } from "vitest";
import { classificationReport, type Prediction } from "../../server/evaluation/classification-metrics.js";
import { regressionGate } from "../../server/evaluation/regression-gate.js";

const LABELS = ["ham", "spam"];

/** `n` items of a category, `wrong` of them misclassified. */
function items(category: string, n: number, wrong: number): Prediction[] {
  return Array.from({ length: n }, (_, i) => {
    const gold = i % 2 === 0 ? "spam" : "ham";
    const predicted = i < wrong ? (gold === "spam" ? "ham" : "spam") : gold;
    return { gold, predicted, confidence: 0.9, category };
  });
}

describe("regression gate: minimum support", () => {
  // The case from the issue: 7.5 points better overall, worse on two categories of 4 and 2 golden items.
  const baseline = classificationReport([...items("bulk", 80, 10), ...items("tiny-a", 4, 0), ...items("tiny-b", 2, 0)], LABELS);
  const candidate = classificationReport([...items("bulk", 80, 2), ...items("tiny-a", 4, 1), ...items("tiny-b", 2, 1)], LABELS);

  it("reports categories with fewer golden items than minSupport without letting them block", () => {
    const gate = regressionGate(baseline, candidate, 0.01, 20);
    expect(candidate.accuracy - baseline.accuracy).toBeGreaterThan(0.05);
    expect(gate.passed).toBe(true);
    expect(gate.minSupport).toBe(20);
    const tiny = gate.checks.filter((c) => c.metric.startsWith("accuracy[tiny"));
    expect(tiny.map((c) => [c.metric, c.support, c.drop > 0.01])).toEqual([
      ["accuracy[tiny-a]", 4, true],
      ["accuracy[tiny-b]", 2, true],
    ]);
    for (const check of tiny) expect(check.skipped).toMatch(/^\d golden items, fewer than minSupport 20: reported, not gated$/);
    expect(gate.checks.find((c) => c.metric === "accuracy[bulk]")).toMatchObject({ support: 80, passed: true });
    expect(gate.checks.find((c) => c.metric === "accuracy")?.skipped).toBeUndefined();
  });

  it("blocks on the same drops once the categories have the support asked for", () => {
    const gate = regressionGate(baseline, candidate, 0.01, 2);
    expect(gate.passed).toBe(false);
    expect(gate.checks.filter((c) => !c.passed).map((c) => c.metric)).toEqual(["accuracy[tiny-a]", "accuracy[tiny-b]"]);
  });

  it("always gates overall accuracy and macro-F1, whatever their support", () => {
    const worse = classificationReport([...items("bulk", 80, 20), ...items("tiny-a", 4, 0), ...items("tiny-b", 2, 0)], LABELS);
    const gate = regressionGate(baseline, worse, 0.01, 1000);
    expect(gate.passed).toBe(false);
    expect(gate.checks.filter((c) => !c.passed).map((c) => c.metric)).toEqual(["accuracy", "macro-F1"]);
    expect(gate.checks.filter((c) => c.skipped).length).toBe(gate.checks.length - 2);
  });
});
