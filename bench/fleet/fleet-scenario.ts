import { performance } from "node:perf_hooks";
import pg from "pg";
import { hashApiKey } from "../../server/auth/tenants.js";
import type { ServerConfigInput } from "../../server/config/schema.js";
import { FakeFrontier } from "../faults/fake-frontier.js";
import { countCallsWithoutRow } from "./calls-without-row.js";
import { startFleet, type LocalFleet } from "./local-fleet.js";
import { startPostgres, startRedis } from "./state-servers.js";

/** Unsure enough that the bundled model escalates it (confidence ≈ 0.63 < 0.9); numbered so that each is distinct. */
const UNSURE = "Hi Bob, the meeting moved to 3pm tomorrow, see the agenda attached.";
const TENANTS = { alpha: "sk-fleet-alpha", beta: "sk-fleet-beta", gamma: "sk-fleet-gamma", ops: "sk-fleet-ops" } as const;

export interface FleetScenarioOptions {
  /** How to start the CLI: `[dist/cli/main.js]`, or `["--import", "tsx", "cli/main.ts"]`. */
  command: string[];
  modelsDir: string;
  replicas?: number;
  requests?: number;
  /** Daily budget of each of the two spending tenants. */
  budgetUsd?: number;
  /** The stand-in frontier's latency: slow, so that many calls are in flight when a replica is killed. */
  frontierDelayMs?: number;
  rateLimitPerMinute?: number;
  log?: (line: string) => void;
}

export interface TenantBooks {
  tenant: string;
  budgetUsd: number;
  /** Settled costs plus calls of unknown outcome at their worst case. */
  committedUsd: number;
  reservedUsd: number;
}

export interface FleetScenarioResult {
  replicas: number;
  requests: number;
  answered: { ok: number; failed: number; byFrontier: number; overBudget: number };
  /** A replica was SIGKILLed when this many responses had arrived. */
  killedAfterResponses: number;
  tenants: TenantBooks[];
  /** Requests the stand-in frontier received, and write-ahead rows in PostgreSQL (by status). */
  providerCalls: number;
  callRows: { total: number; settled: number; unknownOutcome: number; pending: number };
  /** Calls the frontier received that have no row: spend the books do not know of. */
  callsWithoutRow: number;
  /** Answers served by the frontier (acknowledged to the caller) whose escalation row is missing. */
  acknowledgedRowsLost: number;
  /** Requests through the balancer after the kill, and how many failed. */
  /** `statuses`: how many got each HTTP status (0: no response, with `errors` saying why). */
  afterKill: { requests: number; failed: number; statuses: Record<string, number>; errors: string[] };
  rateLimit: { perMinute: number; requests: number; escalated: number; overshoot: number };
  killSwitch: { requests: number; escalated: number; disabled: number };
}

type Answer = { status: number; body: any; requestId: string; text: string };

const countBy = (keys: string[]) => keys.reduce<Record<string, number>>((counts, k) => ({ ...counts, [k]: (counts[k] ?? 0) + 1 }), {});

/**
 * The fleet under faults: `replicas` servers sharing PostgreSQL and Redis behind haproxy, two tenants with small
 * budgets sending `requests` concurrent requests that all escalate to a slow stand-in frontier, one replica killed
 * with SIGKILL mid-run. Then a third tenant's rate limit across the replicas, and a kill switch flipped on one replica.
 * Returns what the books say against what happened; the caller decides what must hold.
 */
export async function runFleetScenario(options: FleetScenarioOptions): Promise<FleetScenarioResult> {
  const log = options.log ?? (() => {});
  const replicaCount = options.replicas ?? 3;
  const requests = options.requests ?? 200;
  const budgetUsd = options.budgetUsd ?? 0.005;
  const perMinute = options.rateLimitPerMinute ?? 10;
  const [postgres, redis, frontier] = await Promise.all([startPostgres(), startRedis(), new FakeFrontier().start()]);
  let fleet: LocalFleet | undefined;
  const databaseUrl = await postgres.newDatabase();
  const db = new pg.Client(databaseUrl);
  try {
    await db.connect();
    frontier.fallback = { kind: "answer", delayMs: options.frontierDelayMs ?? 300 };
    const config: ServerConfigInput = {
      server: { logLevel: "warn", shutdownGraceMs: 2_000 },
      cache: { enabled: false },
      models: { repository: options.modelsDir, serve: ["email-spam"], overrides: { "email-spam": { threshold: 0.9 } } },
      escalation: {
        defaultProvider: "stand-in",
        providers: { "stand-in": { kind: "openai", model: "gpt-5-mini", baseURL: `${frontier.url}/v1`, apiKeyEnv: "FLEET_FRONTIER_KEY", maxRetries: 0, timeoutMs: 5_000 } },
        deadlineMs: 8_000,
      },
      auth: {
        tenants: {
          alpha: { keys: [hashApiKey(TENANTS.alpha)], dailyBudgetUsd: budgetUsd, escalationsPerMinute: 100_000 },
          beta: { keys: [hashApiKey(TENANTS.beta)], dailyBudgetUsd: budgetUsd, escalationsPerMinute: 100_000 },
          gamma: { keys: [hashApiKey(TENANTS.gamma)], escalationsPerMinute: perMinute },
          ops: { keys: [hashApiKey(TENANTS.ops)], role: "admin" },
        },
      },
      ledger: { storeInputs: true },
      state: { postgres: { url: databaseUrl }, redis: { url: redis.url }, replicaTimeoutMs: 2_000 },
    };
    fleet = await startFleet({ replicas: replicaCount, config, env: { FLEET_FRONTIER_KEY: "sk-stand-in" }, command: options.command });
    log(`${replicaCount} replicas behind haproxy at ${fleet.origin}`);
    const origin = fleet.origin;
    let sequence = 0;
    const classify = async (tenant: keyof typeof TENANTS): Promise<Answer> => {
      const requestId = `fleet-${tenant}-${++sequence}`;
      const text = `${UNSURE} #${sequence}`;
      try {
        const response = await fetch(`${origin}/v1/classify`, {
          method: "POST",
          // A connection per request: a kept-alive socket the balancer closed when the replica behind it died would
          // fail the next request on the client's side, which says nothing of the fleet.
          headers: { "content-type": "application/json", authorization: `Bearer ${TENANTS[tenant]}`, "x-request-id": requestId, connection: "close" },
          body: JSON.stringify({ model: "email-spam", input: text, deadline_ms: 20_000 }),
        });
        return { status: response.status, body: await response.json().catch(() => null), requestId, text };
      } catch (error) {
        return { status: 0, body: String((error as Error).cause ?? error), requestId, text };
      }
    };

    // 1. Two tenants, all at once, all escalating; one replica killed once a third of the answers are in.
    let arrived = 0;
    let killedAfterResponses = -1;
    const killAt = Math.floor(requests / 3);
    const started = performance.now();
    const answers = await Promise.all(
      Array.from({ length: requests }, (_, i) =>
        classify(i % 2 ? "beta" : "alpha").then(async (answer) => {
          if (++arrived === killAt) {
            killedAfterResponses = arrived;
            await fleet!.kill(1);
            log(`killed replica 1 (SIGKILL) after ${killAt} of ${requests} answers, ${((performance.now() - started) / 1000).toFixed(1)} s in`);
          }
          return answer;
        }),
      ),
    );
    const ok = answers.filter((a) => a.status === 200);
    const results = ok.map((a) => a.body.results[0]);
    log(`${ok.length} of ${requests} answered (${requests - ok.length} failed: the killed replica's requests in flight)`);

    // The balancer routes around the dead replica.
    const after = await Promise.all(Array.from({ length: 30 }, (_, i) => classify(i % 2 ? "beta" : "alpha")));
    // The dead replica's pending calls are recovered once its heartbeat is older than replicaTimeoutMs.
    const giveUp = Date.now() + 15_000;
    while ((await db.query("SELECT COUNT(*)::int AS n FROM frontier_calls WHERE status = 'pending'")).rows[0].n > 0 && Date.now() < giveUp) await new Promise((r) => setTimeout(r, 200));

    const books = await db.query<{ tenant: string; committed_nano: string; reserved_nano: string }>("SELECT tenant, committed_nano::text, reserved_nano::text FROM tenant_spend ORDER BY tenant");
    const tenants: TenantBooks[] = books.rows
      .filter((r) => r.tenant === "alpha" || r.tenant === "beta")
      .map((r) => ({ tenant: r.tenant, budgetUsd, committedUsd: Number(r.committed_nano) / 1e9, reservedUsd: Number(r.reserved_nano) / 1e9 }));
    const rows = (await db.query<{ status: string; n: number }>("SELECT status, COUNT(*)::int AS n FROM frontier_calls GROUP BY status")).rows;
    const count = (status: string) => rows.find((r) => r.status === status)?.n ?? 0;
    const callRows = { total: rows.reduce((s, r) => s + r.n, 0), settled: count("settled"), unknownOutcome: count("unknown_outcome"), pending: count("pending") };
    const rowRequests = new Set((await db.query<{ request_id: string }>("SELECT request_id FROM frontier_calls")).rows.map((r) => r.request_id));
    const requestOfText = new Map([...answers, ...after].map((a) => [a.text, a.requestId]));
    const callsWithoutRow = countCallsWithoutRow({ base: UNSURE, callTexts: frontier.seen.map((call) => call.text), requestOfText, rowRequests });
    const escalationRows = new Set((await db.query<{ request_id: string }>("SELECT request_id FROM escalations")).rows.map((r) => r.request_id));
    const acknowledged = [...answers, ...after].filter((a) => a.status === 200 && a.body.results[0].served_by === "frontier");
    const acknowledgedRowsLost = acknowledged.filter((a) => !escalationRows.has(a.requestId)).length;
    const providerCalls = frontier.seen.length;

    // 2. One rate-limit window across the replicas still up.
    const limited = await Promise.all(Array.from({ length: perMinute * 4 }, () => classify("gamma")));
    const escalatedUnderLimit = limited.filter((a) => a.status === 200 && a.body.results[0].served_by === "frontier").length;

    // 3. The kill switch flipped on one replica stops escalation on all.
    const flip = await fetch(`${fleet.replicas[0]!.origin}/admin/escalation`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${TENANTS.ops}` },
      body: JSON.stringify({ enabled: false }),
    });
    if (flip.status !== 200) throw new Error(`the kill switch answered ${flip.status}`);
    await new Promise((r) => setTimeout(r, 1_000));
    const switched = await Promise.all(Array.from({ length: 20 }, (_, i) => classify(i % 2 ? "beta" : "alpha")));
    const switchedResults = switched.filter((a) => a.status === 200).map((a) => a.body.results[0]);

    return {
      replicas: replicaCount,
      requests,
      answered: {
        ok: ok.length,
        failed: requests - ok.length,
        byFrontier: results.filter((r) => r.served_by === "frontier").length,
        overBudget: results.filter((r) => r.degraded_reason === "over_budget").length,
      },
      killedAfterResponses,
      tenants,
      providerCalls,
      callRows,
      callsWithoutRow,
      acknowledgedRowsLost,
      afterKill: { requests: after.length, failed: after.filter((a) => a.status !== 200).length, statuses: countBy(after.map((a) => String(a.status))), errors: [...new Set(after.filter((a) => a.status === 0).map((a) => String(a.body)))] },
      rateLimit: { perMinute, requests: limited.length, escalated: escalatedUnderLimit, overshoot: Math.max(0, escalatedUnderLimit - perMinute) },
      killSwitch: { requests: switched.length, escalated: switchedResults.filter((r) => r.served_by === "frontier").length, disabled: switchedResults.filter((r) => r.degraded_reason === "escalation_disabled").length },
    };
  } finally {
    await fleet?.stop();
    await db.end().catch(() => undefined);
    await frontier.stop();
    await redis.stop();
    await postgres.stop();
  }
}
