import type { Arrival } from "./stream.js";

/** Scores over one window of consecutive arrivals. */
export interface TimelinePoint {
  /** Arrival index at the window's end. */
  arrival: number;
  specialistAccuracy: number;
  servedAccuracy: number;
  escalationRate: number;
}

/**
 * Accuracy of the specialist alone, of what was served, and the escalation rate, per `window` arrivals. A last
 * window shorter than half of one joins the one before, so a handful of arrivals does not make a spike.
 */
export function timeline(arrivals: Arrival[], window: number): TimelinePoint[] {
  const points: TimelinePoint[] = [];
  for (let start = 0; start < arrivals.length; start += window) {
    const rest = arrivals.length - (start + window);
    const end = rest > 0 && rest < window / 2 ? arrivals.length : start + window;
    const slice = arrivals.slice(start, end);
    points.push({ arrival: start + slice.length, ...score(slice) });
    if (end === arrivals.length) break;
  }
  return points;
}

/** The three scores over a set of arrivals; an answer that was not 200 counts as wrong and not escalated. */
export function score(arrivals: Arrival[]): Omit<TimelinePoint, "arrival"> {
  const n = Math.max(1, arrivals.length);
  return {
    specialistAccuracy: arrivals.filter((a) => a.specialistLabel === a.gold).length / n,
    servedAccuracy: arrivals.filter((a) => a.label === a.gold).length / n,
    escalationRate: arrivals.filter((a) => a.escalated).length / n,
  };
}
