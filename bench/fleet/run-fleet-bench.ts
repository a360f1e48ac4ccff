import { closedLoop, type LoadResult } from "../load/load-generator.js";
import type { ServerConfigInput } from "../../server/config/schema.js";
import { FakeFrontier } from "../faults/fake-frontier.js";
import { startFleet } from "./local-fleet.js";
import { startPostgres, startRedis } from "./state-servers.js";
import { median } from "../load/median.js";

const UNSURE = "Hi Bob, the meeting moved to 3pm tomorrow, see the agenda attached.";

export interface FleetBenchOptions {
  command: string[];
  modelsDir: string;
  /** Closed-loop clients of the throughput runs. */
  clients: number;
  /** Clients of the latency comparison: few, so that p50 is the time of one request, not of a queue. */
  latencyClients: number;
  seconds: number;
  rounds: number;
  replicas: number[];
  log?: (line: string) => void;
}

export interface FleetRun {
  state: "embedded" | "shared";
  replicas: number;
  clients: number;
  load: LoadResult;
}

export interface FleetBenchResult {
  /** Every request escalates to a stand-in frontier that answers at once: the cost measured is the cascade's own. */
  runs: FleetRun[];
  /** Median over rounds of p50 latency, one replica: embedded store vs PostgreSQL + Redis, and the difference. */
  p50Ms: { embedded: number; shared: number; addedPerEscalation: number };
  throughput: Array<{ replicas: number; requestsPerSecond: number; p99Ms: number }>;
}

/**
 * Cascaded traffic (every input escalates) through haproxy: (1) one replica on the embedded store against one on
 * PostgreSQL + Redis, alternated `rounds` times, for the latency the shared state adds to an escalation; (2) 1, 2, 3…
 * replicas on the shared state, for throughput and p99. On a 2-core machine more replicas add no compute: the
 * point is what the shared state costs.
 */
export async function runFleetBench(options: FleetBenchOptions): Promise<FleetBenchResult> {
  const log = options.log ?? (() => {});
  const [postgres, redis, frontier] = await Promise.all([startPostgres(), startRedis(), new FakeFrontier().start()]);
  try {
    const bodies = Array.from({ length: 5_000 }, (_, i) => JSON.stringify({ model: "email-spam", input: `${UNSURE} #${i}` }));
    const config = (shared: { postgres: string; redis: string } | undefined, ledger: string): ServerConfigInput => ({
      server: { logLevel: "warn" },
      cache: { enabled: false },
      metrics: { defaultMetrics: false },
      models: { repository: options.modelsDir, serve: ["email-spam"], overrides: { "email-spam": { threshold: 0.9 } } },
      escalation: { defaultProvider: "stand-in", providers: { "stand-in": { kind: "openai", model: "gpt-5-mini", baseURL: `${frontier.url}/v1`, apiKeyEnv: "FLEET_FRONTIER_KEY", maxRetries: 0 } } },
      auth: { open: { dailyBudgetUsd: 1_000_000, escalationsPerMinute: 10_000_000 } },
      ledger: { path: ledger },
      ...(shared ? { state: { postgres: { url: shared.postgres }, redis: { url: shared.redis } } } : {}),
    });
    const measure = async (state: "embedded" | "shared", replicas: number, clients: number): Promise<FleetRun> => {
      const shared = state === "shared" ? { postgres: await postgres.newDatabase(), redis: redis.url } : undefined;
      const fleet = await startFleet({ replicas, config: config(shared, ":memory:"), env: { FLEET_FRONTIER_KEY: "sk-stand-in" }, command: options.command });
      try {
        const load = await closedLoop({ origin: fleet.origin, path: "/v1/classify", bodies, durationSeconds: options.seconds, warmupSeconds: 2 }, clients);
        log(`${state}, ${replicas} replica(s), ${clients} clients: ${load.throughput.toFixed(0)} req/s, p50 ${load.latencyMs.p50.toFixed(2)} ms, p99 ${load.latencyMs.p99.toFixed(1)} ms, ${load.errors} errors`);
        return { state, replicas, clients, load };
      } finally {
        await fleet.stop();
      }
    };

    const runs: FleetRun[] = [];
    for (let round = 0; round < options.rounds; round++) {
      runs.push(await measure("embedded", 1, options.latencyClients));
      runs.push(await measure("shared", 1, options.latencyClients));
    }
    for (let round = 0; round < options.rounds; round++) {
      for (const replicas of options.replicas) runs.push(await measure("shared", replicas, options.clients));
    }
    const latencyRuns = runs.filter((r) => r.clients === options.latencyClients && r.replicas === 1);
    const p50 = (state: "embedded" | "shared") => median(latencyRuns.filter((r) => r.state === state).map((r) => r.load.latencyMs.p50));
    const p50Ms = { embedded: p50("embedded"), shared: p50("shared"), addedPerEscalation: p50("shared") - p50("embedded") };
    const throughput = options.replicas.map((replicas) => {
      const of = runs.filter((r) => r.state === "shared" && r.replicas === replicas && r.clients === options.clients);
      return { replicas, requestsPerSecond: median(of.map((r) => r.load.throughput)), p99Ms: median(of.map((r) => r.load.latencyMs.p99)) };
    });
    return { runs, p50Ms, throughput };
  } finally {
    await frontier.stop();
    await redis.stop();
    await postgres.stop();
  }
}
