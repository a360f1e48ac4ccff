import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../server/http/start-server.js";
import { SimFrontier } from "../../bench/sim/sim-frontier.js";
import { postJson, startTestServer } from "../helpers/server.js";

// A reasoning model (500 hidden tokens before each answer) behind the OpenAI-compatible provider: with the plain
// output limit it never answers, and is billed for the tokens it spent; with reasoningEffort it has room.
const REASONING = 500;
let sim: SimFrontier;
const servers: RunningServer[] = [];

beforeAll(async () => {
  sim = await new SimFrontier({ labels: ["ham", "spam"], goldOf: () => "spam", latency: { medianMs: 5, sigma: 0.1 }, errorRate: 0, reasoningTokens: REASONING, seed: 1 }).start();
  process.env.SIM_REASONING_KEY = "simulated";
});

afterAll(async () => {
  for (const s of servers) await s.close();
  await sim?.stop();
});

async function serverWith(provider: Record<string, unknown>): Promise<RunningServer> {
  const server = await startTestServer({
    escalation: { defaultProvider: "thinker", providers: { thinker: { kind: "openai", model: "gpt-5-mini", baseURL: `${sim.url}/v1`, apiKeyEnv: "SIM_REASONING_KEY", maxRetries: 0, timeoutMs: 5_000, ...provider } } },
  });
  servers.push(server);
  return server;
}

const escalations = async (server: RunningServer) => ((await (await fetch(`${server.url}/v1/escalations?limit=1`)).json()) as { records: Array<Record<string, unknown>> }).records;

describe("reasoning models as the frontier", () => {
  it("with the plain 64-token limit, degrades with a message saying what to raise, billed for the tokens spent", async () => {
    const server = await serverWith({});
    const r = await postJson(server, "/v1/classify", { model: "email-spam", input: "Win a FREE prize", route: "frontier" });
    expect(r.status).toBe(200);
    expect(r.json.results[0]).toMatchObject({ degraded: true, degraded_reason: "invalid_answer" });
    const [row] = await escalations(server);
    // The provider's usage (64 output tokens spent thinking) is what is billed.
    expect(row).toMatchObject({ outcome: "degraded", usage_source: "provider" });
    expect(row!.cost_usd).toBeGreaterThan(0);
    expect(String(row!.message)).toContain("raise escalation.providers.thinker.maxOutputTokens (64)");
  });

  it("with reasoningEffort, sends it with room to think (4,096 tokens), and bills the reasoning as output", async () => {
    const server = await serverWith({ reasoningEffort: "low" });
    const before = sim.stats.requests;
    const r = await postJson(server, "/v1/classify", { model: "email-spam", input: "Win a FREE prize", route: "frontier" });
    expect(r.json.results[0]).toMatchObject({ label: "spam", served_by: "frontier", degraded: false });
    expect(sim.stats.requests).toBe(before + 1);
    const [row] = await escalations(server);
    expect(row).toMatchObject({ outcome: "answered" });
    expect(row!.output_tokens).toBeGreaterThan(REASONING);
  });

  it("refuses reasoningEffort on an anthropic provider, whose answer is a forced tool call", async () => {
    await expect(serverWith({ kind: "anthropic", reasoningEffort: "low" })).rejects.toThrow(/reasoningEffort/);
  });
});
