import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { hashApiKey } from "../../server/auth/tenants.js";
import type { ServerConfigInput } from "../../server/config/schema.js";
import type { RunningServer } from "../../server/http/start-server.js";
import { FakeFrontier, fakeEscalation } from "../helpers/fake-frontier.js";
import { metricValue, postJson, startTestServer, SURE, UNSURE, WALL_CLOCK_SLACK_MS } from "../helpers/server.js";

const KEYS = { alice: "sk-alice-0123456789", bob: "sk-bob-0123456789", admin: "sk-admin-0123456789", dave: "sk-dave-0123456789" };
const auth = (key: string) => ({ headers: { authorization: `Bearer ${key}` } });

let frontier: FakeFrontier;
let server: RunningServer;
let dir: string;

function escalationConfig(overrides: { provider?: Record<string, unknown>; tenants?: Record<string, unknown> } = {}): ServerConfigInput {
  return {
    server: { requestDeadlineMs: 2_000 },
    // These tests send the same texts again and again: each must reach the specialist and the frontier.
    cache: { enabled: false },
    models: { overrides: { "email-spam": { threshold: 0.9 } } },
    escalation: fakeEscalation(frontier, {
      timeoutMs: 400,
      maxRetries: 1,
      retryBaseDelayMs: 10,
      breaker: { consecutiveFailures: 1000, minCalls: 1000 },
      ...overrides.provider,
    }),
    auth: {
      tenants: {
        alice: { keys: [hashApiKey(KEYS.alice)] },
        bob: { keys: [hashApiKey(KEYS.bob)] },
        admin: { keys: [hashApiKey(KEYS.admin)], role: "admin" },
        dave: { keys: [hashApiKey(KEYS.dave)], escalationsPerMinute: 2 },
        ...overrides.tenants,
      },
    },
  };
}

const classify = (s: RunningServer, input: string | string[], key = KEYS.alice, extra: Record<string, unknown> = {}) =>
  postJson(s, "/v1/classify", { model: "email-spam", input, ...extra }, auth(key));
const getJson = async (s: RunningServer, path: string, key: string) => {
  const response = await fetch(`${s.url}${path}`, auth(key));
  return { status: response.status, json: (await response.json()) as any };
};

beforeAll(async () => {
  frontier = await new FakeFrontier().start();
  dir = await mkdtemp(join(tmpdir(), "escalation-"));
  server = await startTestServer({ ...escalationConfig(), ledger: { path: join(dir, "ledger.sqlite"), storeInputs: true } });
});

afterAll(async () => {
  await server?.close();
  await frontier?.stop();
  await rm(dir, { recursive: true, force: true });
});

beforeEach(() => frontier.reset());

describe("escalation below the threshold", () => {
  it("sends only the unsure input to the frontier and answers with its label", async () => {
    const r = await classify(server, [SURE, UNSURE]);
    expect(r.status).toBe(200);
    const [sure, unsure] = r.json.results;
    expect(sure).toMatchObject({ served_by: "specialist", escalated: false, degraded: false, below_threshold: false, label: "spam" });
    expect(unsure).toMatchObject({ served_by: "frontier", escalated: true, degraded: false, below_threshold: true, specialist_label: "spam", label: "ham" });
    expect(unsure.frontier).toMatchObject({ provider: "fake", model: "gpt-5-mini", label: "ham" });
    expect(unsure.frontier.cost_usd).toBeGreaterThan(0);
    expect(r.json.usage.cost_usd).toBeCloseTo(unsure.frontier.cost_usd, 12);
    expect(frontier.seen).toHaveLength(1);
    expect(frontier.seen[0]!.text).toContain(UNSURE);
    expect(frontier.seen[0]!.authorization).toBe("Bearer sk-frontier-test");
    expect(frontier.seen[0]!.body.response_format.type).toBe("json_schema");
  });

  it("records the escalation in the ledger, readable by its tenant", async () => {
    await classify(server, UNSURE);
    const { status, json } = await getJson(server, "/v1/escalations?limit=1", KEYS.alice);
    expect(status).toBe(200);
    expect(json.records[0]).toMatchObject({ tenant: "alice", model: "email-spam", outcome: "answered", frontier_label: "ham", specialist_label: "spam", input_text: UNSURE });
    expect(json.records[0].input_hash).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it("retries a 429 whose Retry-After fits the deadline, then answers", async () => {
    frontier.next({ kind: "status", status: 429, retryAfter: "0.05" });
    const r = await classify(server, UNSURE);
    expect(r.json.results[0]).toMatchObject({ served_by: "frontier", degraded: false });
    expect(frontier.seen).toHaveLength(2);
  });
});

describe("every frontier fault gives the specialist's answer, flagged, within the deadline", () => {
  const faults: Array<[string, () => void, string]> = [
    ["an answer that is not JSON", () => frontier.next({ kind: "raw", text: "I think it is ham" }), "invalid_answer"],
    ["a label outside the label set", () => frontier.next({ kind: "answer", label: "phishing" }), "invalid_answer"],
    ["429 with a Retry-After past the deadline", () => frontier.next({ kind: "status", status: 429, retryAfter: "30" }), "rate_limited"],
    ["500 twice (retries used up)", () => frontier.next({ kind: "status", status: 500 }, { kind: "status", status: 500 }), "server_error"],
    ["400 (not retried)", () => frontier.next({ kind: "status", status: 400 }), "client_error"],
    ["a hang (timeout twice)", () => { frontier.fallback = { kind: "hang" }; }, "timeout"],
    ["a connection reset twice", () => frontier.next({ kind: "reset" }, { kind: "reset" }), "connection"],
  ];
  for (const [name, arrange, reason] of faults) {
    it(name, async () => {
      arrange();
      const started = performance.now();
      const r = await classify(server, [SURE, UNSURE], KEYS.alice, { deadline_ms: 1_500 });
      const elapsed = performance.now() - started;
      expect(r.status).toBe(200);
      expect(r.json.results[0]).toMatchObject({ served_by: "specialist", degraded: false });
      expect(r.json.results[1]).toMatchObject({ served_by: "specialist", label: "spam", escalated: true, degraded: true, degraded_reason: reason });
      expect(elapsed).toBeLessThan(1_500 + WALL_CLOCK_SLACK_MS);
    });
  }

  it("does not retry a 400 but does retry a 500", async () => {
    frontier.next({ kind: "status", status: 400 });
    await classify(server, UNSURE);
    expect(frontier.seen).toHaveLength(1);
    frontier.reset();
    frontier.next({ kind: "status", status: 500 });
    const r = await classify(server, UNSURE);
    expect(frontier.seen).toHaveLength(2);
    expect(r.json.results[0].served_by).toBe("frontier");
  });
});

describe("authentication and tenants", () => {
  it("rejects a missing or wrong key with 401", async () => {
    const none = await postJson(server, "/v1/classify", { model: "email-spam", input: "x" });
    expect(none.status).toBe(401);
    expect(none.json.error.code).toBe("ERR_UNAUTHORIZED");
    const wrong = await classify(server, "x", "sk-not-a-key");
    expect(wrong.status).toBe(401);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it("keeps a tenant's records from another tenant", async () => {
    await classify(server, UNSURE, KEYS.bob);
    const own = await getJson(server, "/v1/escalations", KEYS.alice);
    expect(own.json.records.every((r: { tenant: string }) => r.tenant === "alice")).toBe(true);
    const other = await getJson(server, "/v1/escalations?tenant=bob", KEYS.alice);
    expect(other.status).toBe(403);
    expect(other.json.error.code).toBe("ERR_FORBIDDEN");
    const asAdmin = await getJson(server, "/v1/escalations?tenant=bob", KEYS.admin);
    expect(asAdmin.json.records.length).toBeGreaterThan(0);
    expect(asAdmin.json.records.every((r: { tenant: string }) => r.tenant === "bob")).toBe(true);
  });

  it("keeps users off admin routes", async () => {
    expect((await getJson(server, "/admin/escalation", KEYS.alice)).status).toBe(403);
    expect((await postJson(server, "/admin/escalation", { enabled: false }, auth(KEYS.alice))).status).toBe(403);
    expect((await getJson(server, "/admin/escalation", KEYS.admin)).status).toBe(200);
  });
});

describe("forced routes", () => {
  it("route frontier escalates even a sure input; route specialist never escalates an unsure one; neither uses the cache", async () => {
    const forced = await classify(server, [SURE, UNSURE], KEYS.alice, { route: "frontier" });
    expect(forced.json.results.map((r: { served_by: string }) => r.served_by)).toEqual(["frontier", "frontier"]);
    expect(forced.json.results[0]).toMatchObject({ below_threshold: false, escalated: true, degraded: false });
    const local = await classify(server, UNSURE, KEYS.alice, { route: "specialist" });
    expect(local.json.results[0]).toMatchObject({ served_by: "specialist", below_threshold: true, escalated: false, degraded: false });
    expect(frontier.seen).toHaveLength(2);
    const again = await classify(server, [SURE, UNSURE], KEYS.alice, { route: "frontier" });
    expect(again.json.results.map((r: { served_by: string }) => r.served_by)).toEqual(["frontier", "frontier"]);
  });
});

describe("kill switch", () => {
  it("turns escalation off and on without a restart", async () => {
    const off = await postJson(server, "/admin/escalation", { enabled: false }, auth(KEYS.admin));
    expect(off.json.enabled).toBe(false);
    const r = await classify(server, UNSURE);
    expect(r.json.results[0]).toMatchObject({ served_by: "specialist", degraded: true, degraded_reason: "escalation_disabled" });
    expect(frontier.seen).toHaveLength(0);
    await postJson(server, "/admin/escalation", { enabled: true }, auth(KEYS.admin));
    expect((await classify(server, UNSURE)).json.results[0].served_by).toBe("frontier");
  });
});

describe("budgets", () => {
  it("200 concurrent escalations against a budget for 50 spend at most the budget", async () => {
    const probe = await classify(server, UNSURE);
    const perCall = probe.json.results[0].frontier.cost_usd as number;
    const budget = 50 * perCall;
    const carol = "sk-carol-0123456789";
    const budgeted = await startTestServer({
      ...escalationConfig({ tenants: { carol: { keys: [hashApiKey(carol)], dailyBudgetUsd: budget, escalationsPerMinute: 10_000 } } }),
    });
    try {
      frontier.fallback = { kind: "answer", delayMs: 100 };
      const answers = await Promise.all(Array.from({ length: 200 }, () => classify(budgeted, UNSURE, carol)));
      expect(answers.every((a) => a.status === 200)).toBe(true);
      const results = answers.map((a) => a.json.results[0]);
      const answered = results.filter((r) => r.served_by === "frontier");
      const refused = results.filter((r) => r.degraded_reason === "over_budget");
      expect(answered.length + refused.length).toBe(200);
      expect(answered.length).toBeGreaterThan(0);
      expect(answered.length).toBeLessThanOrEqual(50);
      expect(refused.length).toBeGreaterThan(0);
      const spent = answered.reduce((sum, r) => sum + r.frontier.cost_usd, 0);
      expect(spent).toBeLessThanOrEqual(budget + 1e-12);
      const status = await getJson(budgeted, "/admin/escalation", KEYS.admin);
      const carolSpend = status.json.tenants.find((t: { id: string }) => t.id === "carol");
      expect(carolSpend.spent_usd).toBeLessThanOrEqual(budget + 1e-12);
      expect(carolSpend.reserved_usd).toBe(0);
      expect(frontier.seen.length).toBe(answered.length + 1);
    } finally {
      await budgeted.close();
    }
  });
});

describe("rate limits", () => {
  it("caps a tenant's escalations per minute and answers the rest from the specialist", async () => {
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push((await classify(server, UNSURE, KEYS.dave)).json.results[0]);
    expect(answers.map((a) => a.served_by)).toEqual(["frontier", "frontier", "specialist"]);
    expect(answers[2]).toMatchObject({ degraded: true, degraded_reason: "rate_limited" });
    expect(frontier.seen).toHaveLength(2);
    // Other tenants are not affected.
    expect((await classify(server, UNSURE, KEYS.alice)).json.results[0].served_by).toBe("frontier");
  });
});

describe("circuit breaker", () => {
  it("opens after consecutive failures, makes no calls while open, and closes after a good probe", async () => {
    const breaking = await startTestServer(
      escalationConfig({ provider: { maxRetries: 0, breaker: { consecutiveFailures: 3, minCalls: 1000, coolDownMs: 300 } } }),
    );
    try {
      frontier.fallback = { kind: "status", status: 500 };
      for (let i = 0; i < 3; i++) expect((await classify(breaking, UNSURE)).json.results[0].degraded_reason).toBe("server_error");
      const open = await classify(breaking, UNSURE);
      expect(open.json.results[0].degraded_reason).toBe("circuit_open");
      expect(frontier.seen).toHaveLength(3);
      const metrics = await (await fetch(`${breaking.url}/metrics`)).text();
      expect(metricValue(metrics, "specialist_breaker_state", 'provider="fake"')).toBe(2);
      await new Promise((r) => setTimeout(r, 350));
      frontier.fallback = { kind: "answer" };
      expect((await classify(breaking, UNSURE)).json.results[0].served_by).toBe("frontier");
      expect((await classify(breaking, UNSURE)).json.results[0].served_by).toBe("frontier");
      const after = await (await fetch(`${breaking.url}/metrics`)).text();
      expect(metricValue(after, "specialist_breaker_state", 'provider="fake"')).toBe(0);
    } finally {
      await breaking.close();
    }
  });
});

describe("Anthropic Messages", () => {
  it("escalates through the official Anthropic SDK with a forced tool call", async () => {
    const anthropic = await startTestServer(escalationConfig({ provider: { kind: "anthropic", model: "claude-haiku-4-5", baseURL: frontier.url } }));
    try {
      const r = await classify(anthropic, UNSURE);
      expect(r.json.results[0]).toMatchObject({ served_by: "frontier", label: "ham", frontier: { model: "claude-haiku-4-5" } });
      expect(frontier.seen[0]!.path).toBe("/v1/messages");
      // The SDK sends the key as x-api-key or (newer releases) as a bearer token.
      expect(frontier.seen[0]!.apiKey ?? frontier.seen[0]!.authorization).toContain("sk-frontier-test");
      expect(frontier.seen[0]!.body.tool_choice).toMatchObject({ type: "tool" });
      frontier.next({ kind: "raw", text: "ham" });
      expect((await classify(anthropic, UNSURE)).json.results[0].degraded_reason).toBe("invalid_answer");
    } finally {
      await anthropic.close();
    }
  });
});
