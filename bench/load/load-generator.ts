import { performance } from "node:perf_hooks";
import * as hdr from "hdr-histogram-js";
import { Pool } from "undici";

export interface LoadResult {
  mode: "closed" | "open";
  /** Clients (closed loop) or target arrival rate per second (open loop). */
  level: number;
  requests: number;
  errors: number;
  seconds: number;
  /** Answered requests per second: failures are not counted (a fast 500 must not raise a server's figure). */
  throughput: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number; mean: number };
  /** Latency at percentiles 1…99.9, for CDF charts. */
  cdf: Array<{ percentile: number; ms: number }>;
}

/** What a caller may do with each answer (open loop): request index, status, body, latency from the due time. */
export type ResponseHandler = (index: number, status: number, body: string, latencyMs: number) => void;

const CDF_PERCENTILES = [1, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 97.5, 99, 99.5, 99.9];

export interface LoadOptions {
  origin: string;
  path: string;
  /** Request bodies, used in turn. */
  bodies: string[];
  durationSeconds: number;
  warmupSeconds?: number;
  /** Open loop: unanswered requests held before further ones are counted as errors unsent (default MAX_BACKLOG). */
  maxBacklog?: number;
}

export function histogram() {
  // Microseconds, up to 60 s, 3 significant digits.
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3, useWebAssembly: false });
}

function summarise(h: hdr.Histogram) {
  return {
    latencyMs: {
      p50: h.getValueAtPercentile(50) / 1000,
      p95: h.getValueAtPercentile(95) / 1000,
      p99: h.getValueAtPercentile(99) / 1000,
      max: h.maxValue / 1000,
      mean: h.mean / 1000,
    },
    cdf: CDF_PERCENTILES.map((percentile) => ({ percentile, ms: h.getValueAtPercentile(percentile) / 1000 })),
  };
}

async function send(pool: Pool, path: string, body: string): Promise<boolean> {
  const response = await pool.request({ method: "POST", path, headers: { "content-type": "application/json" }, body });
  await response.body.dump();
  return response.statusCode === 200;
}

async function sendReading(pool: Pool, path: string, body: string): Promise<{ status: number; text: string }> {
  const response = await pool.request({ method: "POST", path, headers: { "content-type": "application/json" }, body });
  return { status: response.statusCode, text: await response.body.text() };
}

/**
 * Closed loop: `clients` connections, each sending its next request when the previous answer arrives
 * (what "N concurrent clients" means). Latency is measured per request from send to last byte.
 */
export async function closedLoop(options: LoadOptions, clients: number): Promise<LoadResult> {
  const pool = new Pool(options.origin, { connections: clients, pipelining: 1 });
  const h = histogram();
  let requests = 0;
  let errors = 0;
  let next = 0;
  const warmupEnd = performance.now() + (options.warmupSeconds ?? 1) * 1000;
  const end = warmupEnd + options.durationSeconds * 1000;
  let measuredStart = 0;
  const client = async () => {
    while (performance.now() < end) {
      const body = options.bodies[next++ % options.bodies.length]!;
      const t0 = performance.now();
      const ok = await send(pool, options.path, body).catch(() => false);
      const t1 = performance.now();
      if (t0 < warmupEnd) continue;
      if (!measuredStart) measuredStart = t0;
      requests++;
      if (!ok) errors++;
      h.recordValue(Math.max(1, Math.round((t1 - t0) * 1000)));
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  const seconds = (performance.now() - (measuredStart || warmupEnd)) / 1000;
  await pool.close();
  return { mode: "closed", level: clients, requests, errors, seconds, throughput: (requests - errors) / seconds, ...summarise(h) };
}

/**
 * Open loop at a fixed arrival rate: request i is due at start + i / rate whether or not earlier ones have been
 * answered, and its latency counts from that due time, so a stalled server cannot hide its queueing
 * (no coordinated omission). A server slower than the rate makes requests pile up on this side: past
 * `MAX_BACKLOG` unanswered ones, a due request is not sent and counts as an error (status 0), so an overloaded run
 * reports errors instead of exhausting the generator's memory (a 45-minute soak on a busy machine did).
 */
/** Unanswered requests an open loop holds before it stops sending (about 1 KiB of generator memory each). */
export const MAX_BACKLOG = 100_000;

export async function openLoop(options: LoadOptions, ratePerSecond: number, maxConnections = 256, onResponse?: ResponseHandler): Promise<LoadResult> {
  const pool = new Pool(options.origin, { connections: maxConnections, pipelining: 1 });
  const h = histogram();
  let requests = 0;
  let errors = 0;
  const warmup = (options.warmupSeconds ?? 1) * ratePerSecond;
  const total = Math.round((options.durationSeconds + (options.warmupSeconds ?? 1)) * ratePerSecond);
  const start = performance.now();
  // Only the unanswered requests are kept: a long run must not hold every settled promise.
  const inFlight = new Set<Promise<void>>();
  let measuredStart = 0;
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / ratePerSecond;
    // Never early: a timer may fire up to a millisecond late, which then counts in the latency, as it should.
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, Math.ceil(wait)));
    const body = options.bodies[i % options.bodies.length]!;
    const measured = i >= warmup;
    if (measured && !measuredStart) measuredStart = due;
    if (inFlight.size >= (options.maxBacklog ?? MAX_BACKLOG)) {
      onResponse?.(i, 0, `not sent: ${inFlight.size} requests unanswered`, performance.now() - due);
      if (measured) (requests++, errors++);
      continue;
    }
    const pending: Promise<void> = sendReading(pool, options.path, body)
      .catch((error: Error) => ({ status: 0, text: error.message }))
      .then(({ status, text }) => {
        inFlight.delete(pending);
        const latencyMs = performance.now() - due;
        onResponse?.(i, status, text, latencyMs);
        if (!measured) return;
        requests++;
        if (status !== 200) errors++;
        h.recordValue(Math.max(1, Math.round(latencyMs * 1000)));
      });
    inFlight.add(pending);
  }
  await Promise.all(inFlight);
  const seconds = (performance.now() - measuredStart) / 1000;
  await pool.close();
  return { mode: "open", level: ratePerSecond, requests, errors, seconds, throughput: (requests - errors) / seconds, ...summarise(h) };
}
