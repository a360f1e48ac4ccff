import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { Ledger } from "../../server/ledger/ledger.js";
import type { ServerStarter } from "../compare/server-starters.js";
import { FakeFrontier } from "./fake-frontier.js";
import type { FaultMode } from "./fault-modes.js";

export interface FaultRunOptions {
  modes: readonly FaultMode[];
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

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0;

/** Every call the server wrote ahead, read from its ledger file after it stopped. */
function readCalls(path: string) {
  const ledger = new Ledger(path);
  try {
    return ledger.database.prepare("SELECT status, reserved_usd, cost_usd FROM frontier_calls").all() as Array<{ status: string; reserved_usd: number; cost_usd: number | null }>;
  } finally {
    ledger.close();
  }
}

/**
 * For each fault mode: a fresh server with default escalation settings (but `deadlineMs`) escalating to the stand-in,
 * `requests` classify requests on route `frontier` at `concurrency` in flight; then, from the answers, the stand-in's
 * count and the server's ledger: who answered, how fast, calls vs rows, spend vs reserved.
 */
export async function runFaults(options: FaultRunOptions): Promise<FaultRow[]> {
  const frontier = await new FakeFrontier().start();
  const dir = await mkdtemp(join(tmpdir(), "faults-"));
  const rows: FaultRow[] = [];
  try {
    for (const mode of options.modes) {
      frontier.reset();
      frontier.fallback = mode.behaviour;
      const ledgerPath = join(dir, `${mode.name}.sqlite`);
      const server = await options.start(
        {
          server: { host: "127.0.0.1", port: 0, logLevel: "error" },
          models: { repository: options.repository, serve: [options.model] },
          cache: { enabled: false },
          ledger: { path: ledgerPath },
          escalation: {
            deadlineMs: options.deadlineMs,
            defaultProvider: "standin",
            providers: { standin: { kind: "openai", model: "gpt-5-mini", baseURL: `${frontier.url}/v1`, apiKeyEnv: KEY_ENV } },
          },
        },
        { [KEY_ENV]: "sk-fault-bench" },
      );
      const latencies: number[] = [];
      const outcomes: Record<string, number> = {};
      let answered2xx = 0;
      let next = 0;
      try {
        const client = async () => {
          for (let i = next++; i < options.requests; i = next++) {
            const started = performance.now();
            const response = await fetch(`${server.origin}/v1/classify`, {
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
      } finally {
        await server.stop();
      }
      const calls = readCalls(ledgerPath);
      const sorted = [...latencies].sort((a, b) => a - b);
      const withinBudget = latencies.filter((ms) => ms <= options.deadlineMs + options.slackMs).length;
      const nonFiniteCosts = calls.filter((c) => c.status !== "pending" && !Number.isFinite(c.cost_usd)).length;
      const row: FaultRow = {
        mode: mode.name,
        what: mode.what,
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
      rows.push(row);
      options.log?.(formatRow(row));
    }
  } finally {
    await frontier.stop();
    await rm(dir, { recursive: true, force: true });
  }
  return rows;
}

export const FAULT_TABLE_HEADER = [
  "| mode | 2xx | within budget | outcomes | provider calls | ledger rows | spend / reserved USD | NaN costs | p50 / p99 ms | targets |",
  "|---|---|---|---|---|---|---|---|---|---|",
];

export function formatRow(r: FaultRow): string {
  const share = (n: number) => `${((100 * n) / r.requests).toFixed(0)}%`;
  const outcomes = Object.entries(r.outcomes)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n}`)
    .join(", ");
  return `| ${r.mode} | ${share(r.answered2xx)} | ${share(r.withinBudget)} | ${outcomes} | ${r.providerCalls} | ${r.ledgerRows} | ${r.spendUsd.toFixed(6)} / ${r.reservedUsd.toFixed(6)} | ${r.nonFiniteCosts} | ${r.latencyMs.p50.toFixed(0)} / ${r.latencyMs.p99.toFixed(0)} | ${r.targetsMet ? "met" : "MISSED"} |`;
}
