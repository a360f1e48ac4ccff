import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashApiKey } from "../../server/auth/tenants.js";
import type { RunningServer } from "../../server/http/start-server.js";
import { addVersion, waitFor } from "../helpers/model-versions.js";
import { metricValue, postJson, startTestServer, SURE, UNSURE } from "../helpers/server.js";

const KEYS = { admin: "sk-admin-canary-0123", user: "sk-user-canary-0123" };
const auth = (key: string) => ({ headers: { authorization: `Bearer ${key}` } });
const tenants = { admin: { keys: [hashApiKey(KEYS.admin)], role: "admin" as const }, user: { keys: [hashApiKey(KEYS.user)] } };
let repository: string;
let server: RunningServer;

const classify = (input: string[]) => postJson(server, "/v1/classify", { model: "email-spam", input }, auth(KEYS.user));
const admin = async (method: "GET" | "POST", path: string, body?: unknown, key = KEYS.admin) => {
  if (method === "POST") return postJson(server, `/admin/models/email-spam${path}`, body ?? {}, auth(key));
  const r = await fetch(`${server.url}/admin/models/email-spam${path}`, auth(key));
  return { status: r.status, headers: r.headers, json: (await r.json()) as any };
};
const report = async () => (await admin("GET", "/canary")).json;

/** `requests` classify calls of two inputs each from eight clients; returns the version each was answered by. */
async function traffic(requests: number): Promise<string[]> {
  const versions: string[] = [];
  let next = 0;
  const client = async () => {
    while (next < requests) {
      const i = next++;
      const r = await classify([`${SURE} ${i}`, `${UNSURE} ${i}`]);
      expect(r.status).toBe(200);
      versions.push(r.json.version);
    }
  };
  await Promise.all(Array.from({ length: 8 }, client));
  return versions;
}

/** Every canary input has been compared with the current version (or skipped). */
const settled = () => waitFor("the canary comparisons", async () => ((r) => r.compared + r.skipped === r.inputs)(await report()));

beforeAll(async () => {
  repository = await mkdtemp(join(tmpdir(), "canary-"));
  await addVersion(repository, "1");
  await addVersion(repository, "2");
  await addVersion(repository, "3", { flipped: true });
  await addVersion(repository, "4", { corrupt: true });
  server = await startTestServer({
    server: { bodyLimitBytes: 16 * 1024 * 1024 },
    models: { repository, serve: ["email-spam"], overrides: { "email-spam": { version: "1" } } },
    auth: { tenants },
  });
});

afterAll(async () => {
  await server?.close();
  await rm(repository, { recursive: true, force: true });
});

describe("canary", () => {
  it("sends the configured share to the candidate and measures its agreement and latency against the current version on the same inputs", async () => {
    expect((await admin("POST", "/canary", { version: "2", share: 0.5 }, KEYS.user)).status).toBe(403);
    const started = await admin("POST", "/canary", { version: "2", share: 0.5 });
    expect(started.status).toBe(200);
    expect(started.json).toMatchObject({ model: "email-spam", current_version: "1", candidate_version: "2", share: 0.5, requests: 0, agreement: null });
    const models = await fetch(`${server.url}/v1/models`, auth(KEYS.user)).then((r) => r.json() as Promise<any>);
    expect(models.data[0]).toMatchObject({ version: "1", canary: { version: "2", share: 0.5 } });

    const versions = await traffic(200);
    const canaried = versions.filter((v) => v === "2").length;
    // Binomial(200, 0.5): 60–140 is more than 5 standard deviations either side.
    expect(canaried).toBeGreaterThan(60);
    expect(canaried).toBeLessThan(140);
    expect(versions.filter((v) => v === "1").length).toBe(200 - canaried);

    await settled();
    const r = await report();
    expect(r).toMatchObject({ requests: canaried, inputs: 2 * canaried, candidate_errors: 0, agreement: 1 });
    expect(r.compared).toBeGreaterThan(0);
    expect(r.agreed).toBe(r.compared);
    expect(r.latency.candidate.count).toBe(canaried);
    expect(r.latency.current.count).toBe(r.compared / 2);
    expect(r.latency.candidate.p95_ms).toBeGreaterThan(0);
    expect(r.latency.current.p95_ms).toBeGreaterThan(0);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metricValue(metrics, "specialist_canary_requests_total", 'version="2"', 'outcome="answered"')).toBe(canaried);
    expect(metricValue(metrics, "specialist_canary_comparisons_total", 'version="2"', 'agreed="true"')).toBe(r.compared);
  });

  it("keeps one candidate at a time: another version or a reload is refused until it is promoted or rolled back", async () => {
    const other = await admin("POST", "/canary", { version: "3", share: 0.1 });
    expect(other.status).toBe(409);
    expect(other.json.error).toMatchObject({ code: "ERR_CANARY_ACTIVE", message: expect.stringContaining("version 2") });
    const reload = await admin("POST", "/reload", { version: "2" });
    expect(reload.status).toBe(409);
    expect(reload.json.error.code).toBe("ERR_CANARY_ACTIVE");
  });

  it("changes the share when started again with the same version (0: no traffic)", async () => {
    const changed = await admin("POST", "/canary", { version: "2", share: 0 });
    expect(changed.json.share).toBe(0);
    expect(new Set(await traffic(20))).toEqual(new Set(["1"]));
  });

  it("promotes the candidate: it serves everything and the old version is released", async () => {
    const promoted = await admin("POST", "/canary/promote");
    expect(promoted.status).toBe(200);
    expect(promoted.json).toMatchObject({ model: "email-spam", previous_version: "1", version: "2", canary: { candidate_version: "2" } });
    const gone = await admin("GET", "/canary");
    expect(gone.status).toBe(404);
    expect(gone.json.error.code).toBe("ERR_CANARY_NOT_FOUND");
    expect(new Set(await traffic(20))).toEqual(new Set(["2"]));
    const models = await fetch(`${server.url}/v1/models`, auth(KEYS.user)).then((r) => r.json() as Promise<any>);
    expect(models.data[0].canary).toBeUndefined();
  });

  it("shows a regressed candidate's disagreement, and rolls it back", async () => {
    expect((await admin("POST", "/canary", { version: "3", share: 1 })).status).toBe(200);
    expect(new Set(await traffic(30))).toEqual(new Set(["3"]));
    await settled();
    const r = await report();
    expect(r.compared).toBeGreaterThan(0);
    expect(r.agreement).toBe(0);
    const rolledBack = await admin("POST", "/canary/rollback");
    expect(rolledBack.status).toBe(200);
    expect(rolledBack.json).toMatchObject({ candidate_version: "3", current_version: "2", agreement: 0 });
    expect(new Set(await traffic(20))).toEqual(new Set(["2"]));
  });

  it("answers with the serving version when the candidate fails a request, and counts it against the candidate", async () => {
    expect((await admin("POST", "/canary", { version: "3", share: 1 })).status).toBe(200);
    const candidate = server.context.registry.route("email-spam").backend;
    expect(candidate.manifest.version).toBe("3");
    const batches = async () => metricValue(await (await fetch(`${server.url}/metrics`)).text(), "specialist_batch_size_count", 'model="email-spam"') ?? 0;
    const before = await batches();
    // Long texts without white space: the candidate's worker must tokenize all of them, long enough to be stopped mid-batch.
    const slow = classify(Array.from({ length: 32 }, (_, i) => `${i},` + "word,salad,of,assorted,tokens,for,the,tokenizer,to,chew,".repeat(1700)));
    await waitFor("the candidate's batch to start", async () => (await batches()) > before, 20_000, 5);
    await Promise.all(candidate.workerThreads!().map((w) => w.terminate()));
    const answered = await slow;
    expect(answered.status).toBe(200);
    expect(answered.json.version).toBe("2");
    expect(answered.json.results).toHaveLength(32);
    const r = (await admin("POST", "/canary/rollback")).json;
    expect(r).toMatchObject({ candidate_version: "3", candidate_errors: 1, requests: 0 });
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metricValue(metrics, "specialist_canary_requests_total", 'version="3"', 'outcome="failed"')).toBe(1);
  });

  it("refuses a candidate that fails to load, the serving version, and unknown models, and keeps serving", async () => {
    const broken = await admin("POST", "/canary", { version: "4", share: 0.5 });
    expect(broken.status).toBe(422);
    expect(broken.json.error).toMatchObject({ code: "ERR_RELOAD_FAILED", message: expect.stringContaining("version 2 keeps serving") });
    expect((await admin("GET", "/canary")).status).toBe(404);
    const same = await admin("POST", "/canary", { version: "2", share: 0.5 });
    expect(same.status).toBe(400);
    expect(same.json.error.message).toContain("is the one serving");
    const unknown = await postJson(server, "/admin/models/nope/canary", { version: "2", share: 0.5 }, auth(KEYS.admin));
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.code).toBe("ERR_MODEL_NOT_FOUND");
    expect((await admin("POST", "/canary", { version: "2", share: 2 })).status).toBe(400);
    expect(new Set(await traffic(10))).toEqual(new Set(["2"]));
  });
});
