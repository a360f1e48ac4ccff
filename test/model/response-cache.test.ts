import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { hashApiKey } from "../../server/auth/tenants.js";
import type { RunningServer } from "../../server/http/start-server.js";
import { FakeFrontier, fakeEscalation } from "../helpers/fake-frontier.js";
import { metricValue, postJson, startTestServer, SURE, UNSURE } from "../helpers/server.js";

let frontier: FakeFrontier;
let server: RunningServer;

beforeAll(async () => {
  frontier = await new FakeFrontier().start();
  server = await startTestServer({
    models: { overrides: { "email-spam": { threshold: 0.9 } } },
    escalation: fakeEscalation(frontier, { maxRetries: 0 }),
    auth: { tenants: { a: { keys: [hashApiKey("key-a")] }, b: { keys: [hashApiKey("key-b")] } } },
  });
});

afterAll(async () => {
  await server?.close();
  await frontier?.stop();
});

beforeEach(() => frontier.reset());

const classify = (input: string | string[], key = "key-a") => postJson(server, "/v1/classify", { model: "email-spam", input }, { headers: { authorization: `Bearer ${key}` } });

describe("response cache", () => {
  it("answers a repeated input from the cache, white space and Unicode form aside", async () => {
    const first = await classify(SURE);
    expect(first.json.results[0].served_by).toBe("specialist");
    const again = await classify(`  ${SURE.replace(" ", "\n\t ")} `);
    expect(again.json.results[0]).toMatchObject({ served_by: "cache", cached_from: "specialist", label: first.json.results[0].label, confidence: first.json.results[0].confidence });
    expect(again.json.timings.compute_ms).toBe(0);
  });

  it("keeps frontier answers, so an input is paid for once", async () => {
    const paid = await classify(UNSURE);
    expect(paid.json.results[0].served_by).toBe("frontier");
    const cached = await classify([UNSURE, SURE]);
    expect(cached.json.results.map((r: { served_by: string }) => r.served_by)).toEqual(["cache", "cache"]);
    expect(cached.json.results[0]).toMatchObject({ cached_from: "frontier", label: "ham", escalated: false });
    expect(cached.json.results[0].frontier).toBeUndefined();
    expect(cached.json.usage.cost_usd).toBe(0);
    expect(frontier.seen).toHaveLength(1);
  });

  it("is bypassed by a forced route, which neither reads nor fills it", async () => {
    const text = "Hi Carl, lunch is at noon on Thursday, bring the slides.";
    const forced = await postJson(server, "/v1/classify", { model: "email-spam", input: [SURE, text], route: "specialist" }, { headers: { authorization: "Bearer key-a" } });
    expect(forced.json.results.map((r: { served_by: string }) => r.served_by)).toEqual(["specialist", "specialist"]);
    const after = await classify(text);
    expect(after.json.results[0].served_by).not.toBe("cache");
  });

  it("does not keep degraded answers", async () => {
    const text = "Hi Ann, the review moved to Friday, see the notes attached.";
    frontier.next({ kind: "status", status: 500 });
    expect((await classify(text)).json.results[0]).toMatchObject({ degraded: true });
    expect((await classify(text)).json.results[0]).toMatchObject({ served_by: "frontier", degraded: false });
  });

  it("never shares answers between tenants", async () => {
    const text = "Dear team, lunch is at noon on Thursday, see the menu attached.";
    await classify(text, "key-a");
    const other = await classify(text, "key-b");
    expect(other.json.results[0].served_by).not.toBe("cache");
  });

  it("counts hits and misses", async () => {
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metricValue(metrics, "specialist_cache_lookups_total", 'result="hit"')).toBeGreaterThanOrEqual(3);
    expect(metricValue(metrics, "specialist_cache_lookups_total", 'result="miss"')).toBeGreaterThanOrEqual(4);
    expect(metricValue(metrics, "specialist_cache_entries")).toBeGreaterThanOrEqual(3);
  });
});
