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

  it("refuses a stale second label, undoes a label, and resolves several items all or none", async () => {
    const ids: number[] = [];
    // Variants of the unsure input; those still under the threshold are queued (each is a new item).
    for (const name of ["Bob", "Alice", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi"]) {
      const input = UNSURE.replace("Bob", name);
      const id = (await postJson(server, "/v1/classify", { model: "email-spam", input })).json.results[0].review_id;
      if (id !== undefined && ids.length < 3) ids.push(id);
    }
    expect(ids).toHaveLength(3);
    const [a, b, c] = ids as [number, number, number];
    expect((await postJson(server, `/admin/reviews/${a}`, { label: "spam" })).status).toBe(200);
    const twice = await postJson(server, `/admin/reviews/${a}`, { label: "ham" });
    expect(twice.status).toBe(409);
    expect(twice.json.error.code).toBe("ERR_REVIEW_ALREADY_RESOLVED");
    expect(twice.json.error.message).toContain("as 'spam' by local");
    expect((await get("/admin/reviews?status=resolved")).items.find((i: { id: number }) => i.id === a)).toMatchObject({ human_label: "spam" });

    // All or none: one resolved item in the set changes nothing.
    const stale = await postJson(server, "/admin/reviews/resolve", { ids: [b, a], label: "ham" });
    expect(stale.status).toBe(409);
    expect((await get("/admin/reviews?status=open")).items.map((i: { id: number }) => i.id)).toContain(b);
    const unknownLabel = await postJson(server, "/admin/reviews/resolve", { ids: [b, c], label: "phishing" });
    expect(unknownLabel.status).toBe(400);

    const undone = await postJson(server, `/admin/reviews/${a}/reopen`, {});
    expect(undone.json).toMatchObject({ id: a, status: "open", human_label: null, resolved_by: null });
    const again = await postJson(server, `/admin/reviews/${a}/reopen`, {});
    expect(again.status).toBe(409);
    expect(again.json.error.code).toBe("ERR_REVIEW_NOT_RESOLVED");

    const bulk = await postJson(server, "/admin/reviews/resolve", { ids: [a, b, c], label: "ham" });
    expect(bulk.status).toBe(200);
    expect(bulk.json.items.map((i: { id: number; human_label: string }) => [i.id, i.human_label])).toEqual([[a, "ham"], [b, "ham"], [c, "ham"]]);
    // The caller's own view (read only) shows them too.
    expect((await get("/v1/reviews?status=resolved")).items.map((i: { id: number }) => i.id)).toEqual(expect.arrayContaining(ids));
  });

  it("does not queue confident answers", async () => {
    const r = await postJson(server, "/v1/classify", { model: "email-spam", input: SURE });
    expect(r.json.results[0].review_id).toBeUndefined();
  });
});
