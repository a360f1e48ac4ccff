import { performance } from "node:perf_hooks";
import type { EscalationService } from "./escalation-service.js";
import type { EscalationRequest } from "./escalation-types.js";

/**
 * Shadow mode, the live counterpart of `bench compare`: a sampled share of the inputs the specialist answered
 * confidently also go to the frontier, in the background. The caller's response never waits for them; they spend
 * the tenant's budget and rate limit like any escalation, are recorded in the ledger (`reason: shadow`) and
 * counted by `specialist_shadow_calls_total`, and are cancelled when the server stops.
 */
export class ShadowSampler {
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly stopping = new AbortController();

  constructor(
    private readonly escalation: EscalationService,
    /** Time a shadow call may take, retries included. */
    private readonly deadlineMs: number,
    private readonly random: () => number = Math.random,
  ) {}

  /** Starts a background call for this input with probability `rate`; says whether it did. */
  offer(request: Omit<EscalationRequest, "deadline" | "signal">, rate: number): boolean {
    if (rate <= 0 || this.stopping.signal.aborted || this.random() >= rate) return false;
    const call = this.escalation
      .escalate({ ...request, deadline: performance.now() + this.deadlineMs, signal: this.stopping.signal }, "shadow", this.deadlineMs)
      // escalate() turns every failure into an outcome; this only keeps a bug from becoming an unhandled rejection.
      .catch(() => undefined)
      .finally(() => this.inFlight.delete(call));
    this.inFlight.add(call);
    return true;
  }

  get pending(): number {
    return this.inFlight.size;
  }

  /** Cancels the calls still running and waits for them to be recorded, before the ledger closes. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await Promise.allSettled([...this.inFlight]);
  }
}
