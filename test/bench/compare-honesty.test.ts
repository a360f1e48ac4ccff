import { describe, expect, it } from "vitest";
import { breakEvenVsFrontier, sensitivity } from "../../bench/compare/sensitivity.js";
import { chooseCompareThreshold, sweepThresholds } from "../../bench/compare/threshold-choice.js";
import { difficultyErrors } from "../../bench/sim/difficulty-errors.js";
import { SimFrontier } from "../../bench/sim/sim-frontier.js";

describe("bench compare's honest parts", () => {
  it("chooses the threshold from validation predictions alone, the model's own without them", () => {
    // On validation, answers under 0.8 are wrong: the lowest threshold whose kept answers reach 85% is 0.8.
    const validation = [0.99, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.6].map((confidence) => ({ confidence, correct: confidence >= 0.8 }));
    const target = { kind: "kept-accuracy" as const, value: 0.85 };
    const choice = chooseCompareThreshold({ predictions: validation, name: "validation split" }, target, { threshold: 0.5, name: "m" });
    expect(choice).toMatchObject({ threshold: 0.8, source: "validation", data: "validation split", examples: 8, met: true });
    expect(chooseCompareThreshold(undefined, target, { threshold: 0.93, name: "m" })).toMatchObject({ threshold: 0.93, source: "model", examples: 0 });
    // The sweep shows other thresholds beside the chosen one, each once.
    expect(sweepThresholds(0.8, [0.7, 0.8, 0.99])).toEqual([0.7, 0.8, 0.99]);
  });

  it("tabulates cascade accuracy against the frontier's accuracy on the escalated inputs, with both break-evens", () => {
    // 10 inputs: 6 kept (5 right), 4 escalated (2 right by the specialist).
    const outcomes = [
      ...[0.99, 0.98, 0.97, 0.96, 0.95].map((confidence) => ({ confidence, correct: true })),
      { confidence: 0.94, correct: false },
      ...[0.6, 0.55].map((confidence) => ({ confidence, correct: true })),
      ...[0.52, 0.51].map((confidence) => ({ confidence, correct: false })),
    ];
    const s = sensitivity(outcomes, 0.9, [1, 0.5, 0.25].map((accuracy) => ({ accuracy, source: "assumed" })));
    expect(s.escalationRate).toBeCloseTo(0.4, 12);
    expect(s.specialistAccuracy).toBeCloseTo(0.7, 12);
    expect(s.specialistAccuracyOnEscalated).toBeCloseTo(0.5, 12);
    expect(s.rows.map((r) => r.cascadeAccuracy)).toEqual([0.9, 0.7, 0.6].map((x) => expect.closeTo(x, 12)));
    // At 50% on the escalated inputs the cascade only equals the specialist: the break-even.
    expect(s.breakEvenVsSpecialist).toBeCloseTo(0.5, 12);
    // Matching a frontier alone at 80% overall needs (0.8 − 0.5) / 0.4 = 75% on the escalated ones; 95% cannot be matched.
    expect(breakEvenVsFrontier(s, outcomes, 0.8)).toBeCloseTo(0.75, 12);
    expect(breakEvenVsFrontier(s, outcomes, 0.95)).toBeGreaterThan(1);
  });

  it("makes a simulated frontier wrong where inputs are hard, at the same mean error", () => {
    const difficulty = Array.from({ length: 1000 }, (_, i) => (i < 900 ? 0.01 : 0.6));
    const errors = difficultyErrors(difficulty, 0.02);
    expect(errors.mean).toBeCloseTo(0.02, 6);
    // The hard tenth carries most of the errors.
    const hard = errors.rates.slice(900).reduce((a, b) => a + b, 0);
    expect(hard / (errors.mean * 1000)).toBeGreaterThan(0.85);
    const sim = new SimFrontier({ labels: ["ham", "spam"], goldOf: () => "spam", errorOf: (u) => (u === "hard" ? 0.5 : 0), latency: { medianMs: 1, sigma: 0 }, errorRate: 0.02, seed: 1 });
    const wrongOn = (user: string) => Array.from({ length: 2000 }, () => sim.decide(user).label).filter((l) => l !== "spam").length;
    expect(wrongOn("easy")).toBe(0);
    expect(wrongOn("hard")).toBeGreaterThan(850);
  });
});
