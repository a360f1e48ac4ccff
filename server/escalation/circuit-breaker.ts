import { performance } from "node:perf_hooks";
import type { BreakerSettings } from "../config/escalation-schema.js";

export type BreakerState = "closed" | "open" | "half_open";

export interface BreakerPermit {
  probe: boolean;
}

/**
 * Closed: calls pass and their outcomes fill a sliding window; a run of `consecutiveFailures` failures, or a failure
 * share of at least `failureRate` over the window once `minCalls` were made, opens it. Open: no calls for
 * `coolDownMs`. Half-open: `halfOpenProbes` calls pass; all succeed → closed with an empty window; one fails → open.
 */
export class CircuitBreaker {
  private current: BreakerState = "closed";
  private outcomes: boolean[] = [];
  private consecutive = 0;
  private openedAt = 0;
  private probesStarted = 0;
  private probesSucceeded = 0;

  constructor(
    private readonly settings: BreakerSettings,
    private readonly onChange: (state: BreakerState) => void = () => {},
    private readonly now: () => number = () => performance.now(),
  ) {}

  get state(): BreakerState {
    if (this.current === "open" && this.now() - this.openedAt >= this.settings.coolDownMs) this.become("half_open");
    return this.current;
  }

  /** A permit to call, or undefined while open (or while the half-open probes are all out). */
  acquire(): BreakerPermit | undefined {
    const state = this.state;
    if (state === "closed") return { probe: false };
    if (state === "half_open" && this.probesStarted < this.settings.halfOpenProbes) {
      this.probesStarted++;
      return { probe: true };
    }
    return undefined;
  }

  succeeded(permit: BreakerPermit): void {
    if (permit.probe) {
      if (this.current !== "half_open") return;
      if (++this.probesSucceeded >= this.settings.halfOpenProbes) this.become("closed");
      return;
    }
    if (this.current !== "closed") return;
    this.consecutive = 0;
    this.push(true);
  }

  failed(permit: BreakerPermit): void {
    if (permit.probe) {
      if (this.current === "half_open") this.open();
      return;
    }
    if (this.current !== "closed") return;
    this.consecutive++;
    this.push(false);
    const failures = this.outcomes.filter((ok) => !ok).length;
    const rateTripped = this.outcomes.length >= this.settings.minCalls && failures / this.outcomes.length >= this.settings.failureRate;
    if (this.consecutive >= this.settings.consecutiveFailures || rateTripped) this.open();
  }

  /** A call given up for reasons that say nothing of the provider (the client left): frees a probe slot. */
  abandoned(permit: BreakerPermit): void {
    if (permit.probe && this.current === "half_open") this.probesStarted--;
  }

  private push(ok: boolean): void {
    this.outcomes.push(ok);
    if (this.outcomes.length > this.settings.window) this.outcomes.shift();
  }

  private open(): void {
    this.openedAt = this.now();
    this.become("open");
  }

  private become(state: BreakerState): void {
    if (state === this.current) return;
    this.current = state;
    this.probesStarted = 0;
    this.probesSucceeded = 0;
    if (state === "closed") {
      this.outcomes = [];
      this.consecutive = 0;
    }
    this.onChange(state);
  }
}
