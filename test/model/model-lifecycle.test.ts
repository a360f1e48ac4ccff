import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../server/http/start-server.js";
import { addVersion, waitFor } from "../helpers/model-versions.js";
import { metricValue, postJson, startTestServer, SURE } from "../helpers/server.js";

/** Models added and taken out of service without a restart: by the admin endpoints and by the repository watcher. */
let repository: string;
let server: RunningServer;

const classify = (model: string, input: string | string[] = SURE) => postJson(server, "/v1/classify", { model, input });
const served = async () => ((await (await fetch(`${server.url}/v1/models`)).json()) as { data: Array<{ id: string; status: string }> }).data.map((m) => `${m.id}:${m.status}`);
const unload = (name: string, query = "") => fetch(`${server.url}/admin/models/${name}${query}`, { method: "DELETE" }).then(async (r) => ({ status: r.status, json: (await r.json()) as any }));
const history = async (name: string) => (await (await fetch(`${server.url}/admin/models/${name}/history`)).json()) as any;

beforeAll(async () => {
  repository = await mkdtemp(join(tmpdir(), "lifecycle-"));
  await addVersion(repository, "1");
  // A batch of email-spam leaves after 1 s unless full: requests sit in its queue long enough to be seen there.
  const slowBatches = { batching: { maxBatchSize: 4096, maxQueueDelayMs: 1000 } };
  server = await startTestServer({ models: { repository, serve: "all", watchIntervalMs: 100, overrides: { "email-spam": slowBatches } } });
}, 60_000);

afterAll(async () => {
  await server?.close();
  await rm(repository, { recursive: true, force: true });
});

describe("hot add and remove", () => {
  it("refuses what it cannot do, with the code and what to do instead", async () => {
    const again = await postJson(server, "/admin/models/email-spam/load", {});
    expect(again.status).toBe(409);
    expect(again.json.error).toMatchObject({ code: "ERR_MODEL_ALREADY_SERVED", message: expect.stringContaining("/admin/models/email-spam/reload") });
    const missing = await postJson(server, "/admin/models/nope/load", {});
    expect(missing.status).toBe(404);
    expect(missing.json.error).toMatchObject({ code: "ERR_MODEL_NOT_FOUND", message: expect.stringContaining("no model named 'nope' in") });
    expect((await unload("nope")).json.error.code).toBe("ERR_MODEL_NOT_FOUND");
    expect((await postJson(server, "/admin/models/email-spam/load", { versoin: "1" })).status).toBe(400);
    expect((await fetch(`${server.url}/admin/models/nope/history`)).status).toBe(404);
    expect(await served()).toEqual(["email-spam:ready"]);
  });

  it("unloads a model once its queued and running requests are answered; it stays out until loaded again", async () => {
    const inputs = Array.from({ length: 8 }, (_, i) => `${SURE} ${i}`);
    const inFlight = Array.from({ length: 10 }, () => classify("email-spam", inputs));
    let queued = 0;
    await waitFor("inputs in the queue", async () => {
      queued = metricValue(await (await fetch(`${server.url}/metrics`)).text(), "specialist_queue_depth", 'model="email-spam"') ?? 0;
      return queued > 0;
    });
    const removed = await unload("email-spam", "?reason=retired");
    expect(removed).toMatchObject({ status: 200, json: { model: "email-spam", version: "1", drain_ms: expect.any(Number) } });
    const statuses = (await Promise.all(inFlight)).map((r) => (r.status === 200 ? 200 : r.json.error.code));
    // Requests whose inputs were queued when the unload began are answered; later ones are told the model is gone.
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(Math.ceil(queued / inputs.length));
    expect(statuses.every((s) => s === 200 || s === "ERR_MODEL_NOT_FOUND")).toBe(true);
    expect((await classify("email-spam")).json.error.code).toBe("ERR_MODEL_NOT_FOUND");
    // The watcher sees the folder on every scan but leaves an unloaded model out.
    await new Promise((r) => setTimeout(r, 500));
    expect(await served()).toEqual([]);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(503);

    const loaded = await postJson(server, "/admin/models/email-spam/load", { reason: "back in service" });
    expect(loaded).toMatchObject({ status: 200, json: { model: "email-spam", version: "1", gate: null } });
    expect((await classify("email-spam")).json).toMatchObject({ version: "1", results: [{ label: "spam" }] });
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);

    const h = await history("email-spam");
    expect(h.start_up).toEqual({ version: "1", removed: false, rejected_versions: [] });
    expect(h.decisions.map((d: any) => [d.action, d.version, d.reason])).toEqual([
      ["load", "1", "back in service"],
      ["unload", null, "retired"],
    ]);
    expect(h.decisions[0]).toMatchObject({ actor: "local", time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
  });

  it("the watcher serves a new model folder once complete, and unloads a model whose folder left", async () => {
    const dir = await addVersion(repository, "1", { name: "second" });
    await waitFor("the new model to serve", async () => (await served()).includes("second:ready"));
    expect((await classify("second")).json).toMatchObject({ model: "second", version: "1" });
    await rm(join(repository, "second"), { recursive: true });
    await waitFor("the model to leave", async () => !(await served()).some((m) => m.startsWith("second")));
    expect((await classify("second")).status).toBe(404);
    expect((await history("second")).decisions.map((d: any) => [d.action, d.actor])).toEqual([
      ["folder_removed", "watcher"],
      ["load", "watcher"],
    ]);
    // Removed with its folder, not by an admin: its return is a new model, served again.
    await addVersion(repository, "1", { name: "second" });
    await waitFor("the model to come back", async () => (await served()).includes("second:ready"));
    expect(dir).toBe(join(repository, "second", "1"));
  });
});
