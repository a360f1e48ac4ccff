import { describe, expect, it } from "vitest";
import { expectedCalibrationError } from "../../server/evaluation/ece.js";
import { fitTemperature } from "../../training/calibration/temperature.js";
import { chooseThreshold } from "../../training/calibration/threshold.js";
import { calibratedSoftmax } from "../../server/backends/classification-scores.js";
import { createRng, gaussian } from "../../training/random.js";

/** Two-class items whose true probability is sigmoid(z); the "model" reports z × 4, i.e. overconfident logits. */
function overconfident(n: number, seed: number) {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => {
    const z = gaussian(rng) * 2;
    const label = rng() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
    return { logits: [0, z * 4], label };
  });
}

function ece(items: Array<{ logits: number[]; label: number }>, temperature: number) {
  return expectedCalibrationError(
    items.map((item) => {
      const p = calibratedSoftmax(item.logits, temperature);
      const predicted = p[1]! > p[0]! ? 1 : 0;
      return { confidence: Math.max(p[0]!, p[1]!), correct: predicted === item.label };
    }),
  );
}

describe("calibration", () => {
  it("temperature scaling finds T ≈ 4 and lowers ECE on a miscalibrated fixture", () => {
    const validation = overconfident(4000, 1);
    const test = overconfident(4000, 2);
    const t = fitTemperature(validation);
    expect(t).toBeGreaterThan(3.3);
    expect(t).toBeLessThan(4.8);
    const before = ece(test, 1);
    const after = ece(test, t);
    expect(before).toBeGreaterThan(0.1);
    expect(after).toBeLessThan(0.03);
  });

  it("ECE is 0 for perfectly calibrated bins and |acc − conf| otherwise", () => {
    expect(expectedCalibrationError([{ confidence: 0.75, correct: true }, { confidence: 0.75, correct: true }, { confidence: 0.75, correct: true }, { confidence: 0.75, correct: false }])).toBeCloseTo(0, 10);
    expect(expectedCalibrationError([{ confidence: 0.95, correct: false }])).toBeCloseTo(0.95, 10);
  });
});

describe("threshold selection", () => {
  const items = (() => {
    const rng = createRng(5);
    return Array.from({ length: 2000 }, () => {
      const confidence = 0.5 + 0.5 * rng();
      return { confidence, correct: rng() < confidence };
    });
  })();

  it("meets a kept-accuracy target on the data it was chosen on, escalating as little as it can", () => {
    const choice = chooseThreshold(items, { kind: "kept-accuracy", value: 0.95 });
    expect(choice.met).toBe(true);
    const kept = items.filter((i) => i.confidence >= choice.threshold);
    expect(kept.filter((i) => i.correct).length / kept.length).toBeGreaterThanOrEqual(0.95);
    expect(choice.escalationRate).toBeCloseTo(1 - kept.length / items.length, 10);
    // One step lower would keep an item that breaks the target (counted or expected).
    const lower = items.filter((i) => i.confidence < choice.threshold).sort((a, b) => b.confidence - a.confidence)[0]!;
    const widened = [...kept, lower];
    const counted = widened.filter((i) => i.correct).length / widened.length;
    const expected = widened.reduce((a, i) => a + i.confidence, 0) / widened.length;
    expect(Math.min(counted, expected)).toBeLessThan(0.95);
  });

  it("meets a maximum escalation rate", () => {
    const choice = chooseThreshold(items, { kind: "max-escalation", value: 0.2 });
    expect(choice.escalationRate).toBeLessThanOrEqual(0.2);
    expect(choice.escalationRate).toBeGreaterThan(0.19);
  });

  it("escalates everything when the target cannot be met", () => {
    const choice = chooseThreshold([{ confidence: 0.9, correct: false }], { kind: "kept-accuracy", value: 0.99 });
    expect(choice).toMatchObject({ threshold: 1, escalationRate: 1, met: false });
  });
});
