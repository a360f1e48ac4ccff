import { describe, expect, it } from "vitest";
import { BreakerSettings } from "../../server/config/escalation-schema.js";
import { CircuitBreaker, type BreakerState } from "../../server/escalation/circuit-breaker.js";

function breaker(settings: Partial<BreakerSettings>) {
  let now = 0;
  const changes: BreakerState[] = [];
  const b = new CircuitBreaker(BreakerSettings.parse(settings), (s) => changes.push(s), () => now);
  return { b, changes, advance: (ms: number) => (now += ms) };
}
const fail = (b: CircuitBreaker) => b.failed(b.acquire()!);
const pass = (b: CircuitBreaker) => b.succeeded(b.acquire()!);

describe("circuit breaker", () => {
  it("opens on a run of consecutive failures and refuses calls while open", () => {
    const { b, changes } = breaker({ consecutiveFailures: 3, minCalls: 100 });
    fail(b);
    fail(b);
    pass(b); // the run starts again
    fail(b);
    fail(b);
    expect(b.state).toBe("closed");
    fail(b);
    expect(b.state).toBe("open");
    expect(b.acquire()).toBeUndefined();
    expect(changes).toEqual(["open"]);
  });

  it("opens on the failure rate over its window once minCalls were made", () => {
    const { b } = breaker({ consecutiveFailures: 100, failureRate: 0.5, window: 10, minCalls: 6 });
    for (const ok of [true, false, true, false, true]) (ok ? pass : fail)(b);
    expect(b.state).toBe("closed"); // 2 of 5, below minCalls anyway
    fail(b); // 3 of 6 = 50%
    expect(b.state).toBe("open");
  });

  it("half-opens after the cool-down, lets only the probes through, and closes when they succeed", () => {
    const { b, advance, changes } = breaker({ consecutiveFailures: 1, coolDownMs: 1000, halfOpenProbes: 2 });
    fail(b);
    advance(999);
    expect(b.acquire()).toBeUndefined();
    advance(1);
    const first = b.acquire()!;
    const second = b.acquire()!;
    expect([first.probe, second.probe]).toEqual([true, true]);
    expect(b.acquire()).toBeUndefined();
    b.succeeded(first);
    expect(b.state).toBe("half_open");
    b.succeeded(second);
    expect(b.state).toBe("closed");
    expect(changes).toEqual(["open", "half_open", "closed"]);
  });

  it("goes back to open when a probe fails, and frees the slot of an abandoned probe", () => {
    const { b, advance } = breaker({ consecutiveFailures: 1, coolDownMs: 10 });
    fail(b);
    advance(10);
    const probe = b.acquire()!;
    b.abandoned(probe);
    const again = b.acquire()!;
    expect(again.probe).toBe(true);
    b.failed(again);
    expect(b.state).toBe("open");
  });

  it("ignores late outcomes of calls started before it opened", () => {
    const { b } = breaker({ consecutiveFailures: 1, coolDownMs: 10 });
    const early = b.acquire()!;
    fail(b);
    b.succeeded(early);
    expect(b.state).toBe("open");
  });
});
