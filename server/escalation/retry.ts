import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { FrontierError } from "./frontier-error.js";

export interface RetryOptions {
  maxRetries: number;
  baseDelayMs: number;
  /** Limit of one attempt. */
  timeoutMs: number;
  /** performance.now() time by which the last attempt must have ended: the end of the escalation's time budget. */
  deadline: number;
  /** The deadline is the caller's (its request ends before the escalation budget would). */
  deadlineIsCallers: boolean;
  signal: AbortSignal;
  random: () => number;
  onRetry?: (error: FrontierError, delayMs: number) => void;
}

/** How long one attempt may take, and what set that limit. */
export interface AttemptLimit {
  /** Whole milliseconds: SDKs refuse fractional timeouts. */
  timeoutMs: number;
  /** The time left before the deadline, not the provider's `timeoutMs`, set it. */
  cutByDeadline: boolean;
}

/** Below this much time left an attempt cannot succeed against a real API: give up instead. */
export const MIN_ATTEMPT_MS = 20;

/**
 * At most `maxRetries` more attempts, each bounded by the time left, for retryable failures only. The wait is
 * the provider's Retry-After when it gave one, else exponential back-off with jitter (×0.5–1.5); a wait that
 * would not leave time for another attempt ends the loop at once, so the caller can degrade within its deadline.
 */
export async function withRetries<T>(attempt: (limit: AttemptLimit, index: number) => Promise<T>, options: RetryOptions): Promise<T> {
  for (let retry = 0; ; retry++) {
    const remaining = Math.floor(options.deadline - performance.now());
    if (remaining < MIN_ATTEMPT_MS) {
      const whose = options.deadlineIsCallers ? "the request's deadline" : "the escalation's time budget";
      throw new FrontierError("timeout", `no time left for a frontier call within ${whose}`, { callerDeadline: options.deadlineIsCallers });
    }
    try {
      return await attempt({ timeoutMs: Math.min(options.timeoutMs, remaining), cutByDeadline: remaining < options.timeoutMs }, retry);
    } catch (caught) {
      // Only provider failures are retried; anything else (budget refused, a bug) ends the loop as it is.
      if (!(caught instanceof FrontierError)) throw caught;
      const error = caught;
      if (!error.retryable || retry >= options.maxRetries || options.signal.aborted) throw error;
      const delayMs = error.options.retryAfterMs ?? options.baseDelayMs * 2 ** retry * (0.5 + options.random());
      if (performance.now() + delayMs + MIN_ATTEMPT_MS > options.deadline) throw error;
      options.onRetry?.(error, delayMs);
      await sleep(delayMs, undefined, { signal: options.signal }).catch(() => {
        throw new FrontierError("aborted", "the request was cancelled while waiting to retry");
      });
    }
  }
}
