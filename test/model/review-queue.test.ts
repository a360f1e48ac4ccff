import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../server/http/start-server.js";
import { FakeFrontier, fakeEscalation } from "../helpers/fake-frontier.js";
import { postJson, startTestServer, SURE, UNSURE } from "../helpers/server.js";

let frontier: FakeFrontier;
let server: RunningServer;

beforeAll(async () => {
  frontier = await new FakeFrontier().start();
  // No tenants: the open loopback mode, where the caller acts as the admin tenant "local".
  server = await startTestServer({
    models: { overrides: { "email-spam": { threshold: 0.9, escalation: { onLowConfidence: "both" } } } },
    escalation: fakeEscalation(frontier),
    ledger: { storeInputs: true },
  });
});

afterAll(async () => {
  await server?.close();
  await frontier?.stop();
});

const get = async (path: string) => (await fetch(`${server.url}${path}`)).json() as Promise<any>;

describe("human review queue", () => {
  it("queues low-confidence inputs with the frontier's label, lists them and resolves one with a human label", async () => {
    const r = await postJson(server, "/v1/classify", { model: "email-spam", input: UNSURE });
    const result = r.json.results[0];
    expect(result).toMatchObject({ served_by: "frontier", escalated: true });
    expect(result.review_id).toBeGreaterThan(0);

    const open = await get("/admin/reviews?status=open");
    expect(open.items[0]).toMatchObject({ id: result.review_id, status: "open", specialist_label: "spam", frontier_label: "ham", input_text: UNSURE, tenant: "local" });

    const wrong = await postJson(server, `/admin/reviews/${result.review_id}`, { label: "phishing" });
    expect(wrong.status).toBe(400);
    expect(wrong.json.error.message).toContain("ham, spam");

    const resolved = await postJson(server, `/admin/reviews/${result.review_id}`, { label: "ham" });
    expect(resolved.status).toBe(200);
    expect(resolved.json).toMatchObject({ status: "resolved", human_label: "ham", resolved_by: "local" });
    expect((await get("/admin/reviews?status=open")).items.some((i: { id: number }) => i.id === result.review_id)).toBe(false);

    const missing = await postJson(server, "/admin/reviews/999999", { label: "ham" });
    expect(missing.status).toBe(404);
    expect(missing.json.error.code).toBe("ERR_REVIEW_NOT_FOUND");
  });

  it("does not queue confident answers", async () => {
    const r = await postJson(server, "/v1/classify", { model: "email-spam", input: SURE });
    expect(r.json.results[0].review_id).toBeUndefined();
  });
});
