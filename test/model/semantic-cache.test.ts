import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { hashApiKey } from "../../server/auth/tenants.js";
import type { RunningServer } from "../../server/http/start-server.js";
import { FakeFrontier, fakeEscalation } from "../helpers/fake-frontier.js";
import { metricValue, postJson, startTestServer, UNSURE } from "../helpers/server.js";

// The bundled email-spam model.json carries a calibrated semanticCache block (specialist calibrate-cache).
let frontier: FakeFrontier;
let server: RunningServer;

beforeAll(async () => {
  frontier = await new FakeFrontier().start();
  server = await startTestServer({
    models: { overrides: { "email-spam": { threshold: 0.9 } } },
    escalation: fakeEscalation(frontier, { maxRetries: 0 }),
    auth: { tenants: { a: { keys: [hashApiKey("key-a")] }, b: { keys: [hashApiKey("key-b")] } } },
    cache: { semantic: { enabled: true } },
  });
});

afterAll(async () => {
  await server?.close();
  await frontier?.stop();
});

beforeEach(() => frontier.reset());

const classify = (input: string | string[], key = "key-a") => postJson(server, "/v1/classify", { model: "email-spam", input }, { headers: { authorization: `Bearer ${key}` } });

describe("semantic cache", () => {
  it("answers a near-duplicate of an escalated text with the frontier's answer, without a call", async () => {
    const paid = await classify(UNSURE);
    expect(paid.json.results[0]).toMatchObject({ served_by: "frontier", label: "ham" });
    const variant = UNSURE.replace("Bob", "Dana").replace("3pm", "4pm");
    const reused = await classify(variant);
    const result = reused.json.results[0];
    const threshold = server.context.registry.get("email-spam").manifest.semanticCache!.similarity;
    expect(result).toMatchObject({ served_by: "cache", cached_from: "frontier", label: "ham", escalated: false, degraded: false, below_threshold: true });
    expect(result.similarity).toBeGreaterThanOrEqual(threshold);
    expect(result.frontier).toBeUndefined();
    expect(reused.json.usage.cost_usd).toBe(0);
    expect(frontier.seen).toHaveLength(1);
    // Then the exact cache keeps it as a frontier answer.
    expect((await classify(variant)).json.results[0]).toMatchObject({ served_by: "cache", cached_from: "frontier", label: "ham" });
  });

  it("sends the negated text to the frontier, however close its words", async () => {
    const negated = UNSURE.replace("moved", "has not moved");
    const r = await classify(negated);
    expect(r.json.results[0]).toMatchObject({ served_by: "frontier", escalated: true });
    expect(frontier.seen).toHaveLength(1);
  });

  it("is bypassed by a forced frontier route, which asks the frontier itself", async () => {
    const r = await postJson(server, "/v1/classify", { model: "email-spam", input: UNSURE.replace("Bob", "Eve"), route: "frontier" }, { headers: { authorization: "Bearer key-a" } });
    expect(r.json.results[0]).toMatchObject({ served_by: "frontier", escalated: true });
    expect(frontier.seen).toHaveLength(1);
  });

  it("never answers another tenant with one tenant's frontier answers", async () => {
    const r = await classify(UNSURE.replace("Bob", "Kim"), "key-b");
    expect(r.json.results[0].served_by).toBe("frontier");
    expect(frontier.seen).toHaveLength(1);
  });

  it("counts hits, misses and negations", async () => {
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metricValue(metrics, "specialist_semantic_cache_lookups_total", 'result="hit"')).toBeGreaterThanOrEqual(1);
    expect(metricValue(metrics, "specialist_semantic_cache_lookups_total", 'result="miss"')).toBeGreaterThanOrEqual(2);
    expect(metricValue(metrics, "specialist_semantic_cache_lookups_total", 'result="negation"')).toBe(1);
    expect(metricValue(metrics, "specialist_semantic_cache_entries")).toBeGreaterThanOrEqual(3);
  });
});
