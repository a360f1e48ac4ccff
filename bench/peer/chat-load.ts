import { performance } from "node:perf_hooks";
import { Pool } from "undici";
import { histogram } from "../load/load-generator.js";

export interface ChatLoadResult {
  clients: number;
  stream: boolean;
  requests: number;
  errors: number;
  /** The first failure's status and text, to tell a server's refusals from the load's faults. */
  firstError?: string;
  /** Requests sent again because the server had closed the kept-alive connection they went out on. */
  reconnects: number;
  seconds: number;
  /** Answered requests per second (failures not counted: a fast 500 must not raise a server's figure). */
  throughput: number;
  /** Completion tokens per second, as each server's `usage` (or its streamed chunks) counts them. */
  tokensPerSecond: number;
  latencyMs: { p50: number; p99: number };
  /** Streamed runs: from sending to the first chunk with text. */
  firstTokenMs?: { p50: number; p99: number };
}

interface Answer {
  ok: boolean;
  tokens: number;
  firstTokenAt?: number;
  error?: string;
}

async function plainAnswer(pool: Pool, path: string, body: string): Promise<Answer> {
  const response = await pool.request({ method: "POST", path, headers: { "content-type": "application/json" }, body });
  const text = await response.body.text();
  if (response.statusCode !== 200) return { ok: false, tokens: 0, error: `HTTP ${response.statusCode}: ${text.slice(0, 300)}` };
  return { ok: true, tokens: (JSON.parse(text) as { usage?: { completion_tokens?: number } }).usage?.completion_tokens ?? 0 };
}

/** Reads a server-sent event stream: the time of the first chunk carrying text, and the chunks with text (tokens). */
async function streamedAnswer(pool: Pool, path: string, body: string): Promise<Answer> {
  const response = await pool.request({ method: "POST", path, headers: { "content-type": "application/json" }, body });
  if (response.statusCode !== 200) return { ok: false, tokens: 0, error: `HTTP ${response.statusCode}: ${(await response.body.text()).slice(0, 300)}` };
  let pending = "";
  let tokens = 0;
  let firstTokenAt: number | undefined;
  let done = false;
  let last = "";
  for await (const chunk of response.body) {
    pending += (chunk as Buffer).toString();
    let end: number;
    while ((end = pending.indexOf("\n\n")) >= 0) {
      const event = pending.slice(0, end).trim();
      pending = pending.slice(end + 2);
      if (!event.startsWith("data:")) continue;
      const data = event.slice(5).trim();
      last = data;
      if (data === "[DONE]") {
        done = true;
        continue;
      }
      const content = (JSON.parse(data) as { choices?: Array<{ delta?: { content?: string | null } }> }).choices?.[0]?.delta?.content;
      if (typeof content === "string" && content.length > 0) {
        tokens++;
        firstTokenAt ??= performance.now();
      }
    }
  }
  return { ok: done, tokens, ...(firstTokenAt === undefined ? {} : { firstTokenAt }), ...(done ? {} : { error: `stream ended without [DONE] after: ${last.slice(0, 300)}` }) };
}

/**
 * Closed loop of chat completions: `clients` connections, each sending its next request when the previous answer
 * is complete. Unlike the classification load generator it reads every answer, for the tokens and first-token time.
 */
export async function chatLoop(origin: string, bodies: string[], clients: number, seconds: number, stream: boolean, warmupSeconds = 1): Promise<ChatLoadResult> {
  const pool = new Pool(origin, { connections: clients, pipelining: 1 });
  const latency = histogram();
  const firstToken = histogram();
  let requests = 0;
  let errors = 0;
  let firstError: string | undefined;
  let tokens = 0;
  let reconnects = 0;
  let next = 0;
  const warmupEnd = performance.now() + warmupSeconds * 1000;
  const end = warmupEnd + seconds * 1000;
  let measuredStart = 0;
  const client = async () => {
    while (performance.now() < end) {
      const body = bodies[next++ % bodies.length]!;
      const t0 = performance.now();
      const send = () => (stream ? streamedAnswer : plainAnswer)(pool, "/v1/chat/completions", body);
      const answer = await send()
        .catch((error: Error & { code?: string }) => {
          // A kept-alive connection the server closed as this request went out on it (llama-server closes some
          // after a streamed answer): the request was never read, so it goes again on a new connection, once.
          if (error.code !== "UND_ERR_SOCKET") throw error;
          reconnects++;
          return send();
        })
        .catch((error: Error): Answer => ({ ok: false, tokens: 0, error: error.message }));
      const t1 = performance.now();
      if (t0 < warmupEnd) continue;
      measuredStart ||= t0;
      requests++;
      if (!answer.ok) (errors++, (firstError ??= answer.error));
      tokens += answer.tokens;
      latency.recordValue(Math.max(1, Math.round((t1 - t0) * 1000)));
      if (answer.firstTokenAt !== undefined) firstToken.recordValue(Math.max(1, Math.round((answer.firstTokenAt - t0) * 1000)));
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  const elapsed = (performance.now() - (measuredStart || warmupEnd)) / 1000;
  await pool.close();
  const percentiles = (h: ReturnType<typeof histogram>) => ({ p50: h.getValueAtPercentile(50) / 1000, p99: h.getValueAtPercentile(99) / 1000 });
  return {
    clients,
    stream,
    requests,
    errors,
    ...(firstError === undefined ? {} : { firstError }),
    reconnects,
    seconds: elapsed,
    throughput: (requests - errors) / elapsed,
    tokensPerSecond: tokens / elapsed,
    latencyMs: percentiles(latency),
    ...(stream ? { firstTokenMs: percentiles(firstToken) } : {}),
  };
}
