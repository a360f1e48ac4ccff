import type { Tenant } from "../auth/tenants.js";
import type { Priority } from "../batching/dynamic-batcher.js";

/** Who asks and under what terms: everything a front door knows about a request besides its body. */
export interface Caller {
  tenant: Tenant;
  /** The request's id, in log lines and ledger rows. */
  requestId: string;
  /** Aborted when the caller goes away: its queued work leaves the queues, its escalations stop. */
  signal: AbortSignal;
  /** performance.now() time the request arrived; deadlines count from it. */
  arrived: number;
  /** Told which served model the request resolved to, before any work (for metric labels, also on errors). */
  onModel?(name: string): void;
  /** `background` (batch jobs): queued behind interactive requests. Default `interactive`. */
  priority?: Priority;
  /** This caller's own deadline when the request sets none, and its cap (batch lines wait behind interactive traffic). */
  deadlineMs?: number;
  /** Escalations may go through the provider's Batch API (`batch.frontierBatch`): a batch job's lines. */
  frontierBatch?: boolean;
}

export interface DeadlineSettings {
  /** Deadline of a request that sets none. */
  requestDeadlineMs: number;
  /** Cap on the deadline a caller may set. */
  maxRequestDeadlineMs: number;
}

/** performance.now() time by which the request must be answered. */
export function deadlineOf(caller: Caller, requested: number | undefined, settings: DeadlineSettings, fallbackMs = settings.requestDeadlineMs): number {
  if (caller.deadlineMs !== undefined) return caller.arrived + Math.min(requested ?? caller.deadlineMs, caller.deadlineMs);
  return caller.arrived + Math.min(requested ?? fallbackMs, settings.maxRequestDeadlineMs);
}
