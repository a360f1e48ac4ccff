import { Pool } from "undici";
import { createRng } from "../../training/random.js";
import { fuzzRequest, type FuzzRequest, type FuzzTarget } from "./fuzz-requests.js";

/** An answer the server must not give: a 5xx, or an error without a stable code and message. */
export interface FuzzFailure {
  index: number;
  kind: string;
  method: string;
  path: string;
  status: number;
  problem: string;
  body: string;
}

export interface FuzzSummary {
  seed: number;
  requests: number;
  /** Requests the client library itself refused to send (e.g. a header value it will not encode). */
  notSent: number;
  statuses: Record<string, number>;
  byKind: Record<string, { requests: number; statuses: Record<string, number> }>;
  /** Every failure counted; the first 50 kept as samples. */
  failureCount: number;
  failures: FuzzFailure[];
  /** Process memory sampled every `sampleEvery` requests, MiB. */
  memory: Array<{ requests: number; mib: number }>;
  seconds: number;
}

export interface FuzzOptions {
  origin: string;
  seed: number;
  requests: number;
  concurrency: number;
  target: FuzzTarget;
  /** Memory of the server process, MiB: read in the test process or from the server's /metrics. */
  memoryMib: () => Promise<number>;
  sampleEvery: number;
}

/** What is wrong with an answer, or undefined when it is a fine one (a 2xx, or a 4xx with `{error: {code, message}}`). */
function problemWith(status: number, body: string): string | undefined {
  if (status >= 500) return `status ${status}`;
  if (status < 400) return undefined;
  try {
    const error = (JSON.parse(body) as { error?: { code?: unknown; message?: unknown } }).error;
    if (typeof error?.code !== "string" || !/^ERR_[A-Z_]+$/.test(error.code)) return "error without a stable code";
    if (typeof error.message !== "string" || !error.message) return "error without a message";
    return undefined;
  } catch {
    return "error body is not JSON";
  }
}

/** Sends `requests` generated requests from a fixed seed, `concurrency` at a time, and checks every answer. */
export async function runFuzz(options: FuzzOptions): Promise<FuzzSummary> {
  const rng = createRng(options.seed);
  const pool = new Pool(options.origin, { connections: options.concurrency, pipelining: 1 });
  const summary: FuzzSummary = { seed: options.seed, requests: 0, notSent: 0, statuses: {}, byKind: {}, failureCount: 0, failures: [], memory: [], seconds: 0 };
  const started = performance.now();
  let next = 0;
  const send = async (index: number, request: FuzzRequest) => {
    let status: number;
    let body: string;
    try {
      const response = await pool.request({ method: request.method as "POST", path: request.path, headers: request.headers, ...(request.body ? { body: request.body } : {}) });
      status = response.statusCode;
      body = await response.body.text();
    } catch (error) {
      const code = (error as { code?: string }).code ?? "";
      // undici refuses some header values before sending: the server never saw them.
      if (code === "UND_ERR_INVALID_ARG") {
        summary.notSent++;
        return;
      }
      status = 0;
      body = `${code} ${(error as Error).message}`;
    }
    summary.requests++;
    const kind = (summary.byKind[request.kind] ??= { requests: 0, statuses: {} });
    kind.requests++;
    kind.statuses[status] = (kind.statuses[status] ?? 0) + 1;
    summary.statuses[status] = (summary.statuses[status] ?? 0) + 1;
    // Refusing an oversized body may close the connection while the client is still writing it (RFC 9110 §15.5.14
    // allows it): the client then sees EPIPE or a reset instead of the 413. That is a refusal, not a failure.
    const closedEarly = status === 0 && request.kind === "oversized" && /EPIPE|ECONNRESET|UND_ERR_SOCKET/.test(body);
    const problem = status === 0 && !closedEarly ? `connection failed: ${body}` : problemWith(status, body);
    if (!problem) return;
    summary.failureCount++;
    if (summary.failures.length < 50) {
      summary.failures.push({ index, kind: request.kind, method: request.method, path: request.path.slice(0, 120), status, problem, body: body.slice(0, 300) });
    }
  };
  const worker = async () => {
    while (next < options.requests) {
      const index = next++;
      await send(index, fuzzRequest(rng, options.target));
      if ((index + 1) % options.sampleEvery === 0) summary.memory.push({ requests: index + 1, mib: await options.memoryMib() });
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  await pool.close();
  summary.seconds = (performance.now() - started) / 1000;
  return summary;
}
