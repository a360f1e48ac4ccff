import { performance } from "node:perf_hooks";
import { histogram, openLoop, type LoadResult } from "../load/load-generator.js";

export interface SoakOptions {
  origin: string;
  bodies: string[];
  rate: number;
  seconds: number;
  intervalSeconds: number;
  memoryMib: () => Promise<number>;
}

/** One interval of the run, by the time answers arrived. */
export interface SoakInterval {
  endSeconds: number;
  requests: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  rssMib: number;
}

export interface SoakResult {
  total: LoadResult;
  intervals: SoakInterval[];
  /** RSS after the first minute (allocations settle), at the end, and the growth between. */
  rss: { baselineMib: number; lastMib: number; maxMib: number; growth: number };
}

/** A long open-loop run at a fixed rate, with latency, errors and the server's memory per interval. */
export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const start = performance.now();
  const intervals: SoakInterval[] = [];
  let current = { h: histogram(), requests: 0, errors: 0 };
  const close = async () => {
    const done = current;
    current = { h: histogram(), requests: 0, errors: 0 };
    intervals.push({
      endSeconds: Math.round((performance.now() - start) / 1000),
      requests: done.requests,
      errors: done.errors,
      p50Ms: done.h.getValueAtPercentile(50) / 1000,
      p99Ms: done.h.getValueAtPercentile(99) / 1000,
      maxMs: done.h.maxValue / 1000,
      rssMib: await options.memoryMib(),
    });
  };
  // A server that dies mid-run cannot say its memory: the run ends with that, not with an unhandled rejection.
  let failure: Error | undefined;
  const timer = setInterval(() => close().catch((error: Error) => (failure ??= error)), options.intervalSeconds * 1000);
  let total: LoadResult;
  try {
    total = await openLoop({ origin: options.origin, path: "/v1/classify", bodies: options.bodies, durationSeconds: options.seconds, warmupSeconds: 0 }, options.rate, 1024, (_i, status, _body, latencyMs) => {
      current.requests++;
      if (status !== 200) current.errors++;
      current.h.recordValue(Math.max(1, Math.round(latencyMs * 1000)));
    });
  } finally {
    clearInterval(timer);
  }
  if (failure) throw new Error(`the soak stopped: the server's memory could not be read (${failure.message}); it may have died`, { cause: failure });
  await close();
  const warm = intervals.find((i) => i.endSeconds >= 60) ?? intervals[0]!;
  const last = intervals.at(-1)!;
  return {
    total,
    intervals,
    rss: { baselineMib: warm.rssMib, lastMib: last.rssMib, maxMib: Math.max(...intervals.map((i) => i.rssMib)), growth: (last.rssMib - warm.rssMib) / warm.rssMib },
  };
}
