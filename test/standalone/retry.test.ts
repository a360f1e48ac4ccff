import { performance } from "node:perf_hooks";
import { describe, expect, it } from "vitest";
import { FrontierError, parseRetryAfter } from "../../server/escalation/frontier-error.js";
import { withRetries, type AttemptLimit } from "../../server/escalation/retry.js";

const options = (overrides: Partial<Parameters<typeof withRetries>[1]> = {}) => ({
  maxRetries: 2,
  baseDelayMs: 1,
  timeoutMs: 1000,
  deadline: performance.now() + 5000,
  deadlineIsCallers: false,
  signal: new AbortController().signal,
  random: () => 0.5,
  ...overrides,
});

function script(...outcomes: Array<FrontierError | string>) {
  const calls: AttemptLimit[] = [];
  const attempt = async (limit: AttemptLimit) => {
    calls.push(limit);
    const next = outcomes.shift();
    if (next instanceof FrontierError) throw next;
    return next ?? "ok";
  };
  return { attempt, calls };
}

describe("retries", () => {
  it("retries retryable failures up to maxRetries, then gives the last error", async () => {
    const { attempt, calls } = script(new FrontierError("server_error", "a"), new FrontierError("connection", "b"), new FrontierError("timeout", "c"));
    await expect(withRetries(attempt, options())).rejects.toMatchObject({ failure: "timeout" });
    expect(calls).toHaveLength(3);
  });

  it("never retries a client error or an invalid answer", async () => {
    for (const failure of ["client_error", "invalid_answer"] as const) {
      const { attempt, calls } = script(new FrontierError(failure, "x"));
      await expect(withRetries(attempt, options())).rejects.toMatchObject({ failure });
      expect(calls).toHaveLength(1);
    }
  });

  it("waits Retry-After when it fits the deadline, and gives up at once when it does not", async () => {
    const fits = script(new FrontierError("rate_limited", "x", { retryAfterMs: 30 }), "ok");
    const started = performance.now();
    expect(await withRetries(fits.attempt, options())).toBe("ok");
    expect(performance.now() - started).toBeGreaterThanOrEqual(29);
    const late = script(new FrontierError("rate_limited", "x", { retryAfterMs: 10_000 }), "ok");
    const before = performance.now();
    await expect(withRetries(late.attempt, options({ deadline: performance.now() + 500 }))).rejects.toMatchObject({ failure: "rate_limited" });
    // Far below the 10 s it was told to wait: a loaded host may add delay, never 10 s.
    expect(performance.now() - before).toBeLessThan(5_000);
    expect(late.calls).toHaveLength(1);
  });

  it("bounds each attempt by the time left before the deadline, and says so", async () => {
    const { attempt, calls } = script("ok");
    await withRetries(attempt, options({ timeoutMs: 3000, deadline: performance.now() + 200 }));
    expect(calls[0]!.timeoutMs).toBeLessThanOrEqual(200);
    expect(calls[0]!.cutByDeadline).toBe(true);
    const roomy = script("ok");
    await withRetries(roomy.attempt, options({ timeoutMs: 300, deadline: performance.now() + 5000 }));
    expect(roomy.calls[0]).toEqual({ timeoutMs: 300, cutByDeadline: false });
  });

  // Regression: a fractional limit (deadline − now) reached the SDK, which refuses it ("timeout must be an integer").
  it("hands out whole milliseconds only", async () => {
    for (let i = 0; i < 20; i++) {
      const { attempt, calls } = script("ok");
      await withRetries(attempt, options({ timeoutMs: 3000, deadline: performance.now() + 200 + Math.random() }));
      expect(Number.isInteger(calls[0]!.timeoutMs)).toBe(true);
    }
  });

  it("does not start an attempt when no time is left, and says whose deadline it was", async () => {
    const { attempt, calls } = script("ok");
    await expect(withRetries(attempt, options({ deadline: performance.now() + 5, deadlineIsCallers: true }))).rejects.toMatchObject({
      failure: "timeout",
      options: { callerDeadline: true },
    });
    expect(calls).toHaveLength(0);
  });

  it("passes other errors through untouched", async () => {
    const boom = new RangeError("not a provider failure");
    await expect(withRetries(async () => { throw boom; }, options())).rejects.toBe(boom);
  });

  it("reads Retry-After as seconds or as an HTTP date", () => {
    expect(parseRetryAfter("2")).toBe(2000);
    expect(parseRetryAfter(new Date(Date.now() + 3000).toUTCString(), Date.now())).toBeGreaterThan(1000);
    expect(parseRetryAfter("soon")).toBeUndefined();
  });
});
