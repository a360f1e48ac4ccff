/** Where a call's token counts came from: the provider's `usage`, counted here, or none (charged at the reserve). */
export type UsageSource = "provider" | "counted" | "reserved" | "none";

/** A frontier call about to be made: recorded, with its worst-case cost reserved, before the request leaves. */
export interface PendingCall {
  time: Date;
  tenant: string;
  /** The HTTP request that caused it, to find a call from a log line and back. */
  requestId: string;
  provider: string;
  frontierModel: string;
  /** Why the escalation happened: `low_confidence`, `shadow`, `output_invalid`. */
  reason: string;
  /** 1 for the first try, 2 for the first retry… */
  attempt: number;
  reservedUsd: number;
}

/** What a call turned out to cost, and how it ended. */
export interface CallSettlement {
  costUsd: number;
  usageSource: UsageSource;
  inputTokens: number | null;
  outputTokens: number | null;
  /** `ok`, or the failure class (`timeout`, `invalid_answer`, …). */
  result: string;
  /** What went wrong, with secrets removed; null on success. */
  message: string | null;
  latencyMs: number;
}

/** Calls a stopped process left pending, counted at their worst case (`unknown_outcome`) when they were recovered. */
export interface RecoveredCalls {
  calls: number;
  usd: number;
}

export interface TenantSpend {
  day: string;
  /** Settled calls, plus calls whose outcome a crash left unknown (at their reserved cost). */
  committedUsd: number;
  /** Worst cases of calls in flight. */
  reservedUsd: number;
}

/**
 * Frontier spend, written ahead: a call is recorded as `pending` at its worst case before it is made, in the same
 * atomic step as the budget check, and settled after. A call the provider received is therefore always counted,
 * even when the process dies mid-call. Asynchronous so that a shared store can serve several replicas.
 */
export interface SpendBook {
  /**
   * When the tenant's committed + reserved spend on the call's UTC day plus `call.reservedUsd` stays within
   * `limitUsd`, records the call as pending and returns its id; otherwise records nothing and returns undefined.
   */
  reserve(call: PendingCall, limitUsd: number): Promise<number | undefined>;
  /** Gives back the reserve of a call that was recorded but will not be made (its escalation was refused after all). */
  release(id: number): Promise<void>;
  /** Replaces the call's reserve by its actual cost (which may exceed it when a provider counts more tokens). */
  settle(id: number, settlement: CallSettlement): Promise<void>;
  spend(tenant: string, now: Date): Promise<TenantSpend>;
}

/** Nano-USD: integers, so that thousands of small amounts add up exactly. */
export const NANO = 1e9;
export const utcDay = (now: Date) => now.toISOString().slice(0, 10);

/** An amount in nano-USD, rounded up; refuses what is not a finite, non-negative number so no NaN reaches a budget. */
export function toNano(usd: number): number {
  if (!Number.isFinite(usd) || usd < 0) throw new RangeError(`a spend amount must be a finite non-negative number, got ${usd}`);
  return Math.ceil(usd * NANO);
}
