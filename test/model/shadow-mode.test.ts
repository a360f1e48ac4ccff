import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { hashApiKey } from "../../server/auth/tenants.js";
import type { ServerConfigInput } from "../../server/config/schema.js";
import type { RunningServer } from "../../server/http/start-server.js";
import { Ledger } from "../../server/ledger/ledger.js";
import { FakeFrontier, fakeEscalation } from "../helpers/fake-frontier.js";
import { metricValue, postJson, startTestServer, SURE, UNSURE } from "../helpers/server.js";

const KEYS = { alice: "sk-alice-0123456789", broke: "sk-broke-0123456789" };
const auth = (key: string) => ({ headers: { authorization: `Bearer ${key}` } });
let frontier: FakeFrontier;
let server: RunningServer;
let dir: string;

function config(ledgerPath: string, timeoutMs = 300): ServerConfigInput {
  return {
    cache: { enabled: false },
    models: { overrides: { "email-spam": { threshold: 0.9, escalation: { shadowRate: 1 } } } },
    escalation: { ...fakeEscalation(frontier, { timeoutMs, maxRetries: 0 }), shadowDeadlineMs: Math.max(5_000, 2 * timeoutMs) },
    auth: { tenants: { alice: { keys: [hashApiKey(KEYS.alice)], role: "admin" }, broke: { keys: [hashApiKey(KEYS.broke)], dailyBudgetUsd: 0 } } },
    ledger: { path: ledgerPath, storeInputs: true },
  };
}

const classify = (s: RunningServer, input: string, key = KEYS.alice) => postJson(s, "/v1/classify", { model: "email-spam", input }, auth(key));
async function settled(s: RunningServer): Promise<void> {
  const giveUp = Date.now() + 5_000;
  while (s.context.shadow.pending > 0 && Date.now() < giveUp) await new Promise((r) => setTimeout(r, 10));
}

beforeAll(async () => {
  frontier = await new FakeFrontier().start();
  dir = await mkdtemp(join(tmpdir(), "shadow-"));
  server = await startTestServer(config(join(dir, "ledger.sqlite")));
});

afterAll(async () => {
  await server?.close();
  await frontier?.stop();
  await rm(dir, { recursive: true, force: true });
});

beforeEach(() => frontier.reset());

describe("shadow mode", () => {
  it("answers at once and asks the frontier in the background: the response does not wait for a hanging call", async () => {
    frontier.next({ kind: "hang" });
    const r = await classify(server, SURE);
    expect(r.status).toBe(200);
    expect(r.json.results[0]).toMatchObject({ served_by: "specialist", escalated: false, degraded: false });
    expect(r.json.usage.cost_usd).toBe(0);
    expect(server.context.shadow.pending).toBe(1);
    await settled(server);
    expect(frontier.seen).toHaveLength(1);
  });

  it("records agreement, latency and cost in the ledger, the admin report and metrics, apart from escalations", async () => {
    const metrics = async () => (await fetch(`${server.url}/metrics`)).text();
    const escalationsBefore = metricValue(await metrics(), "specialist_escalations_total", 'model="email-spam"') ?? 0;
    await classify(server, SURE);
    await settled(server);
    const text = await metrics();
    expect(metricValue(text, "specialist_shadow_calls_total", 'model="email-spam"', 'outcome="answered"', 'agree="true"')).toBe(1);
    expect(metricValue(text, "specialist_escalations_total", 'model="email-spam"') ?? 0).toBe(escalationsBefore);
    const report = await fetch(`${server.url}/admin/shadow`, auth(KEYS.alice)).then((x) => x.json() as Promise<any>);
    const row = report.models.find((m: { model: string }) => m.model === "email-spam");
    expect(row).toMatchObject({ shadow_rate: 1, calls: 2, answered: 1, agreement: 1 });
    expect(row.frontier_latency_ms.p50).toBeGreaterThan(0);
    expect(row.cost_usd).toBeGreaterThan(0);
  });

  it("never shadows inputs that escalate, and spends only the tenant's budget", async () => {
    const unsure = await classify(server, UNSURE);
    expect(unsure.json.results[0].served_by).toBe("frontier");
    await settled(server);
    expect(frontier.seen).toHaveLength(1);
    const broke = await classify(server, SURE, KEYS.broke);
    expect(broke.json.results[0].served_by).toBe("specialist");
    await settled(server);
    expect(frontier.seen).toHaveLength(1);
  });

  it("cancels a running shadow call when the server stops, and records it before the ledger closes", async () => {
    const path = join(dir, "stopping.sqlite");
    // Only the stop may end the hanging call: a busy machine can take longer than a short call timeout to stop
    // (which then recorded `timeout`).
    const stopping = await startTestServer(config(path, 30_000));
    frontier.fallback = { kind: "hang" };
    await classify(stopping, SURE);
    expect(stopping.context.shadow.pending).toBe(1);
    await stopping.close();
    const ledger = new Ledger(path);
    try {
      const rows = (await ledger.listEscalations({ limit: 10 }));
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ reason: "shadow", outcome: "degraded", failure: "cancelled" });
    } finally {
      ledger.close();
    }
  });
});
