import { describe, expect, it } from "vitest";
import type { Arrival } from "../../bench/flywheel/stream.js";
import { score, timeline } from "../../bench/flywheel/timeline.js";

const arrival = (index: number, fields: Partial<Arrival>): Arrival => ({
  index, gold: "spam", label: "spam", specialistLabel: "spam", escalated: false, servedBy: "specialist", version: "1", status: 200, ...fields,
});

describe("flywheel timeline", () => {
  it("scores the specialist alone, what was served and the escalation rate separately", () => {
    const arrivals = [
      arrival(0, {}),
      arrival(1, { specialistLabel: "ham", escalated: true, servedBy: "frontier" }), // the frontier fixed it
      arrival(2, { specialistLabel: "ham", label: "ham" }), // wrong and confident
      arrival(3, { status: 503, label: "<error>", specialistLabel: "<error>" }), // an error counts as wrong
    ];
    expect(score(arrivals)).toEqual({ specialistAccuracy: 0.25, servedAccuracy: 0.5, escalationRate: 0.25 });
  });

  it("cuts windows in order and folds a short tail into the last full window", () => {
    const arrivals = Array.from({ length: 230 }, (_, i) => arrival(i, { escalated: i >= 100 }));
    const points = timeline(arrivals, 100);
    expect(points.map((p) => p.arrival)).toEqual([100, 230]);
    expect(points.map((p) => p.escalationRate)).toEqual([0, 1]);
    const longer = Array.from({ length: 260 }, (_, i) => arrival(i, {}));
    expect(timeline(longer, 100).map((p) => p.arrival)).toEqual([100, 200, 260]);
  });
});
