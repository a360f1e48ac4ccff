import { describe, expect, it } from "vitest";
import { countCallsWithoutRow } from "../../bench/fleet/calls-without-row.js";

const BASE = "Hi Bob, the meeting moved to 3pm tomorrow (see the agenda).";

describe("the fleet scenario's calls without a write-ahead row", () => {
  // Regression: "#1" is a prefix of "#12", and a prefix match gave #12's call to request #1, which had no row.
  it("matches each call to its request on the whole number", () => {
    const requestOfText = new Map([1, 12, 120].map((n) => [`${BASE} #${n}`, `req-${n}`]));
    const prompt = (n: number) => `Classify this email:\n${BASE} #${n}\nAnswer with one label.`;
    const count = (rows: number[]) => countCallsWithoutRow({ base: BASE, callTexts: [prompt(12), prompt(120)], requestOfText, rowRequests: new Set(rows.map((n) => `req-${n}`)) });
    expect(count([12, 120])).toBe(0);
    expect(count([1, 12])).toBe(1);
    expect(count([1])).toBe(2);
  });

  it("counts a call whose text names no request", () => {
    const requestOfText = new Map([[`${BASE} #1`, "req-1"]]);
    expect(countCallsWithoutRow({ base: BASE, callTexts: ["something else"], requestOfText, rowRequests: new Set(["req-1"]) })).toBe(1);
  });
});
