import { describe, expect, it } from "vitest";
import { DEFAULT_COSTS, frontierUsdPerWorkloadRequest, hostUsdPerRequest, monthlyCost } from "../../bench/compare/cost-model.js";

// gpt-5-mini list prices: $0.25 per million input tokens, $2 per million output tokens.
const MINI = { inputUsdPerMTok: 0.25, outputUsdPerMTok: 2 };

describe("cost arithmetic (checked by hand)", () => {
  it("prices a frontier call of the classic workload: (1,500 + 100) × $0.25/M + 6 × $2/M = $0.000412", () => {
    expect(frontierUsdPerWorkloadRequest(MINI, DEFAULT_COSTS, 100, 6)).toBeCloseTo(0.000412, 12);
  });

  it("spreads a $0.10/hour host over 100 req/s at 50%: $0.10 / 180,000 requests", () => {
    expect(hostUsdPerRequest(DEFAULT_COSTS, 100)).toBeCloseTo(0.1 / 180_000, 15);
  });

  it("projects a month: 3 M requests, frontier-only $1,236; a cascade escalating 5% on one host $61.80 + $72", () => {
    const frontier = monthlyCost(DEFAULT_COSTS, { usesSpecialist: false, escalationRate: 1, capacityPerSecond: 100, frontierUsdPerCall: 0.000412 });
    expect(frontier).toEqual({ hosts: 0, hostUsd: 0, frontierUsd: expect.closeTo(1236, 9), totalUsd: expect.closeTo(1236, 9) });
    const cascade = monthlyCost(DEFAULT_COSTS, { usesSpecialist: true, escalationRate: 0.05, capacityPerSecond: 100, frontierUsdPerCall: 0.000412 });
    expect(cascade.hosts).toBe(1);
    expect(cascade.hostUsd).toBeCloseTo(72, 9);
    expect(cascade.frontierUsd).toBeCloseTo(61.8, 9);
    expect(cascade.totalUsd).toBeCloseTo(133.8, 9);
  });

  it("adds hosts when the mean rate needs them: 10 M a day (115.7/s) on 100 req/s hosts at 50% needs 3", () => {
    const big = { ...DEFAULT_COSTS, requestsPerDay: 10_000_000 };
    expect(monthlyCost(big, { usesSpecialist: true, escalationRate: 0, capacityPerSecond: 100, frontierUsdPerCall: 0 }).hosts).toBe(3);
  });
});
