import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashApiKey } from "../../server/auth/tenants.js";
import type { ServerConfigInput } from "../../server/config/schema.js";
import type { RunningServer } from "../../server/http/start-server.js";
import { FakeFrontier, fakeEscalation } from "../helpers/fake-frontier.js";
import { postJson, startTestServer, UNSURE } from "../helpers/server.js";
import { startPostgres, startRedis, stateTestsEnabled, type PostgresServer, type RedisServer } from "../helpers/state-servers.js";

/**
 * Two real servers sharing one PostgreSQL and one Redis, as two replicas of a fleet do: what one records, spends,
 * limits or switches, the other sees. (The 3-replica fleet behind a load balancer is bench/fleet's.)
 */
const enabled = stateTestsEnabled();
const KEYS = { acme: "sk-acme-fleet", admin: "sk-admin-fleet" };
let postgres: PostgresServer;
let redis: RedisServer;
let frontier: FakeFrontier;
let replicas: RunningServer[] = [];

beforeAll(async () => {
  if (!enabled) return;
  [postgres, redis, frontier] = await Promise.all([startPostgres(), startRedis(), new FakeFrontier().start()]);
});

afterAll(async () => {
  for (const r of replicas) await r.close();
  await frontier?.stop();
  await redis?.stop();
  await postgres?.stop();
});

async function fleet(n: number, tenant: Record<string, unknown> = {}): Promise<RunningServer[]> {
  for (const r of replicas) await r.close();
  frontier.reset();
  const url = await postgres.newDatabase();
  const config: ServerConfigInput = {
    cache: { enabled: false },
    models: { overrides: { "email-spam": { threshold: 0.9 } } },
    escalation: fakeEscalation(frontier, { maxRetries: 0, breaker: { consecutiveFailures: 3 } }),
    auth: { tenants: { acme: { keys: [hashApiKey(KEYS.acme)], ...tenant }, admin: { keys: [hashApiKey(KEYS.admin)], role: "admin" } } },
    ledger: { storeInputs: true },
    state: { postgres: { url }, redis: { url: redis.url, keyPrefix: `${url.slice(-8)}:` } },
  };
  replicas = [];
  for (let i = 0; i < n; i++) replicas.push(await startTestServer(config));
  return replicas;
}

const auth = (key: string) => ({ headers: { authorization: `Bearer ${key}` } });
const classify = (s: RunningServer, input: string) => postJson(s, "/v1/classify", { model: "email-spam", input }, auth(KEYS.acme));
const getJson = async (s: RunningServer, path: string) => (await fetch(`${s.url}${path}`, auth(KEYS.admin))).json() as Promise<any>;

describe.runIf(enabled)("replicas sharing PostgreSQL and Redis", () => {
  it("share one ledger: an escalation answered by one replica is listed by the other", async () => {
    const [a, b] = await fleet(2);
    const r = await classify(a!, UNSURE);
    expect(r.json.results[0]).toMatchObject({ served_by: "frontier", degraded: false });
    const { records } = await getJson(b!, "/v1/escalations");
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ tenant: "acme", outcome: "answered", calls: 1, input_text: UNSURE });
  });

  it("hold one daily budget between them: concurrent escalations on both never spend past it", async () => {
    const [a, b] = await fleet(2, { dailyBudgetUsd: 0.0005 });
    frontier.fallback = { kind: "answer", delayMs: 50 };
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => classify(i % 2 ? a! : b!, `${UNSURE} ${i}`)));
    const outcomes = results.map((r) => r.json.results[0]);
    const answered = outcomes.filter((o) => o.served_by === "frontier").length;
    expect(answered).toBeGreaterThan(0);
    expect(outcomes.filter((o) => o.degraded_reason === "over_budget").length).toBe(40 - answered);
    // Each replica reports the same books: every call the frontier saw, settled, within the budget.
    for (const replica of [a!, b!]) {
      const acme = (await getJson(replica, "/admin/escalation")).tenants.find((t: { id: string }) => t.id === "acme");
      expect(acme.reserved_usd).toBe(0);
      expect(acme.spent_usd).toBeGreaterThan(0);
      expect(acme.spent_usd).toBeLessThanOrEqual(0.0005);
    }
    expect(frontier.seen).toHaveLength(answered);
  });

  it("share one rate-limit window", async () => {
    const [a, b] = await fleet(2, { escalationsPerMinute: 3 });
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => classify(i % 2 ? a! : b!, `${UNSURE} rate ${i}`)));
    const reasons = results.map((r) => r.json.results[0].degraded_reason ?? r.json.results[0].served_by);
    expect(reasons.filter((x) => x === "frontier")).toHaveLength(3);
    expect(reasons.filter((x) => x === "rate_limited")).toHaveLength(7);
  });

  it("switch escalation off on every replica when it is flipped on one", async () => {
    const [a, b] = await fleet(2);
    const flip = await postJson(a!, "/admin/escalation", { enabled: false }, auth(KEYS.admin));
    expect(flip.status).toBe(200);
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await classify(b!, UNSURE)).json.results[0]).toMatchObject({ served_by: "specialist", degraded_reason: "escalation_disabled" });
    expect((await getJson(b!, "/admin/escalation")).enabled).toBe(false);
    await postJson(b!, "/admin/escalation", { enabled: true }, auth(KEYS.admin));
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await classify(a!, UNSURE)).json.results[0].served_by).toBe("frontier");
  });

  it("keep answering, flagged state_unavailable, while Redis is down", async () => {
    const [a] = await fleet(1);
    await redis.stop();
    try {
      const r = await classify(a!, UNSURE);
      expect(r.status).toBe(200);
      expect(r.json.results[0]).toMatchObject({ served_by: "specialist", degraded: true, degraded_reason: "state_unavailable" });
    } finally {
      await redis.start();
    }
  });
});
