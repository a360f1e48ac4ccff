import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openLoop } from "../../bench/load/load-generator.js";

// A server that does 40 ms of work per request, one request at a time: 25 per second at most.
let server: Server;
let origin = "";
const arrivals: number[] = [];
let busyUntil = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const now = performance.now();
      arrivals.push(now);
      busyUntil = Math.max(busyUntil, now) + 40;
      setTimeout(() => res.end("{}"), busyUntil - now);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe("open-loop load generator", () => {
  it("sends on schedule without waiting for answers, and counts latency from the intended send time", async () => {
    // A server that answers nothing until all 50 requests are in: a generator that waited for answers would stall.
    const held: Array<() => void> = [];
    const barrier = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        held.push(() => res.end("{}"));
        if (held.length === 50) for (const answer of held) answer();
      });
    });
    await new Promise<void>((resolve) => barrier.listen(0, "127.0.0.1", resolve));
    try {
      const seen: number[] = [];
      const at = `http://127.0.0.1:${(barrier.address() as AddressInfo).port}`;
      const result = await openLoop({ origin: at, path: "/", bodies: ["{}"], durationSeconds: 1, warmupSeconds: 0 }, 50, 256, (i) => seen.push(i));
      expect(result.requests).toBe(50);
      expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
      // The first request, due at 0, was answered only once the last (due at 0.98 s) arrived: its wait counts.
      expect(result.latencyMs.max).toBeGreaterThan(900);
      expect(result.cdf.map((p) => p.ms)).toEqual([...result.cdf.map((p) => p.ms)].sort((a, b) => a - b));
    } finally {
      barrier.closeAllConnections();
      await new Promise((resolve) => barrier.close(resolve));
    }
  });

  it("counts requests beyond its backlog bound as errors instead of holding them (regression: a long soak ran out of memory)", async () => {
    const before = arrivals.length;
    const seen: number[] = [];
    const result = await openLoop({ origin, path: "/", bodies: ["{}"], durationSeconds: 1, warmupSeconds: 0, maxBacklog: 5 }, 50, 256, (i) => seen.push(i));
    expect(result.requests).toBe(50);
    expect(seen).toHaveLength(50);
    // At most 5 wait at a time and the server answers 25 a second: some of the 50 were never sent.
    expect(result.errors).toBeGreaterThan(0);
    expect(arrivals.length - before).toBe(50 - result.errors);
  });
});
