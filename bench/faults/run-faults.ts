import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { Ledger } from "../../server/ledger/ledger.js";
import type { ServerStarter } from "../compare/server-starters.js";
import { FakeFrontier } from "./fake-frontier.js";
import type { FaultMode } from "./fault-modes.js";

/** The provider's circuit breaker as configured by default, or off so that every request meets the fault. */
export type BreakerChoice = "default" | "off";

export interface FaultRunOptions {
  modes: readonly FaultMode[];
  breakers: readonly BreakerChoice[];
  requests: number;
  concurrency: number;
  /** `escalation.deadlineMs` of the servers under test. */
  deadlineMs: number;
  /** How late past the budget an answer may come and still count as within it. */
  slackMs: number;
  start: ServerStarter;
  repository: string;
  model: string;
  log?: (line: string) => void;
}

export interface FaultRow {
  mode: string;
  what: string;
  breaker: BreakerChoice;
  requests: number;
  answered2xx: number;
  withinBudget: number;
  /** Results by who answered and why not the frontier: `frontier`, or the degraded reason. */
  outcomes: Record<string, number>;
  providerCalls: number;
  ledgerRows: number;
  pendingRows: number;
  spendUsd: number;
  reservedUsd: number;
  nonFiniteCosts: number;
  latencyMs: { p50: number; p99: number; max: number };
  targetsMet: boolean;
}

/** Distinct short business notes: nothing in the stand-in depends on them, and the cache is off anyway. */
const text = (i: number) => `Hi Bob, the meeting ${i} moved to 3pm tomorrow, see the agenda attached.`;
const KEY_ENV = "FAULT_BENCH_FRONTIER_KEY";
/** Requests that only reach the specialist, sent before measuring so a cold server's first batches are not timed. */
const WARMUP_REQUESTS = 50;
const NEVER_OPENS = { consecutiveFailures: 1_000_000, minCalls: 1_000_000 };

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0;

async function warmUp(origin: string, model: string): Promise<void> {
  for (let i = 0; i < WARMUP_REQUESTS; i += 10) {
    await Promise.all(
      Array.from({ length: 10 }, (_, k) =>
        fetch(`${origin}/v1/classify`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model, input: text(-1 - i - k), route: "specialist" }) }).then((r) => r.text()),
      ),
    );
  }
}

/** Every call the server wrote ahead, read from its ledger file after it stopped. */
function readCalls(path: string) {
  const ledger = new Ledger(path);
  try {
    return ledger.database.prepare("SELECT status, reserved_usd, cost_usd FROM frontier_calls").all() as Array<{ status: string; reserved_usd: number; cost_usd: number | null }>;
  } finally {
    ledger.close();
  }
}

/** Answers to `requests` escalating requests sent `concurrency` at a time: who answered each, and how long it took. */
async function drive(origin: string, options: FaultRunOptions) {
  const latencies: number[] = [];
  const outcomes: Record<string, number> = {};
  let answered2xx = 0;
  let next = 0;
  const client = async () => {
    for (let i = next++; i < options.requests; i = next++) {
      const started = performance.now();
      const response = await fetch(`${origin}/v1/classify`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: options.model, input: text(i), route: "frontier" }),
      }).catch(() => undefined);
      const body = response ? ((await response.json().catch(() => undefined)) as { results?: Array<{ served_by: string; degraded_reason?: string }> } | undefined) : undefined;
      latencies.push(performance.now() - started);
      const result = body?.results?.[0];
      if (response && response.status >= 200 && response.status < 300 && result) answered2xx++;
      const key = result ? (result.degraded_reason ?? result.served_by) : `http_${response?.status ?? "error"}`;
      outcomes[key] = (outcomes[key] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, client));
  return { latencies, outcomes, answered2xx };
}

/** One mode with one breaker choice, on a fresh server and ledger. */
async function runMode(frontier: FakeFrontier, dir: string, mode: FaultMode, breaker: BreakerChoice, options: FaultRunOptions): Promise<FaultRow> {
  frontier.reset();
  frontier.fallback = mode.behaviour;
  const ledgerPath = join(dir, `${mode.name}-${breaker}.sqlite`);
  const provider = { kind: "openai" as const, model: "gpt-5-mini", baseURL: `${frontier.url}/v1`, apiKeyEnv: KEY_ENV };
  const server = await options.start(
    {
      server: { host: "127.0.0.1", port: 0, logLevel: "error" },
      models: { repository: options.repository, serve: [options.model] },
      cache: { enabled: false },
      ledger: { path: ledgerPath },
      escalation: { deadlineMs: options.deadlineMs, defaultProvider: "standin", providers: { standin: breaker === "off" ? { ...provider, breaker: NEVER_OPENS } : provider } },
    },
    { [KEY_ENV]: "sk-fault-bench" },
  );
  let driven: Awaited<ReturnType<typeof drive>>;
  try {
    await warmUp(server.origin, options.model);
    driven = await drive(server.origin, options);
  } finally {
    await server.stop();
  }
  const { latencies, outcomes, answered2xx } = driven;
  const calls = readCalls(ledgerPath);
  const sorted = [...latencies].sort((a, b) => a - b);
  const withinBudget = latencies.filter((ms) => ms <= options.deadlineMs + options.slackMs).length;
  const nonFiniteCosts = calls.filter((c) => c.status !== "pending" && !Number.isFinite(c.cost_usd)).length;
  return {
    mode: mode.name,
    what: mode.what,
    breaker,
    requests: options.requests,
    answered2xx,
    withinBudget,
    outcomes,
    providerCalls: frontier.seen.length,
    ledgerRows: calls.length,
    pendingRows: calls.filter((c) => c.status === "pending").length,
    spendUsd: calls.reduce((sum, c) => sum + (c.cost_usd ?? c.reserved_usd), 0),
    reservedUsd: calls.reduce((sum, c) => sum + c.reserved_usd, 0),
    nonFiniteCosts,
    latencyMs: { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? 0 },
    targetsMet: answered2xx === options.requests && withinBudget === options.requests && nonFiniteCosts === 0 && calls.length === frontier.seen.length,
  };
}

/**
 * For each breaker choice and fault mode: a fresh server with default escalation settings (but `deadlineMs`, and the
 * breaker when it is off) escalating to the stand-in; after a warm-up on the specialist alone, `requests` classify
 * requests on route `frontier` at `concurrency` in flight; then, from the answers, the stand-in's count and the
 * server's ledger: who answered, how fast, calls vs rows, spend vs reserved.
 */
export async function runFaults(options: FaultRunOptions): Promise<FaultRow[]> {
  const frontier = await new FakeFrontier().start();
  const dir = await mkdtemp(join(tmpdir(), "faults-"));
  const rows: FaultRow[] = [];
  try {
    for (const breaker of options.breakers) {
      for (const mode of options.modes) {
        const row = await runMode(frontier, dir, mode, breaker, options);
        rows.push(row);
        options.log?.(formatRow(row));
      }
    }
  } finally {
    await frontier.stop();
    await rm(dir, { recursive: true, force: true });
  }
  return rows;
}

export const FAULT_TABLE_HEADER = [
  "| mode | breaker | 2xx | within budget | outcomes | provider calls | ledger rows | spend / reserved USD | NaN costs | p50 / p99 ms | targets |",
  "|---|---|---|---|---|---|---|---|---|---|---|",
];

export function formatRow(r: FaultRow): string {
  const share = (n: number) => `${((100 * n) / r.requests).toFixed(0)}%`;
  const outcomes = Object.entries(r.outcomes)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n}`)
    .join(", ");
  return `| ${r.mode} | ${r.breaker} | ${share(r.answered2xx)} | ${share(r.withinBudget)} | ${outcomes} | ${r.providerCalls} | ${r.ledgerRows} | ${r.spendUsd.toFixed(6)} / ${r.reservedUsd.toFixed(6)} | ${r.nonFiniteCosts} | ${r.latencyMs.p50.toFixed(0)} / ${r.latencyMs.p99.toFixed(0)} | ${r.targetsMet ? "met" : "MISSED"} |`;
}
