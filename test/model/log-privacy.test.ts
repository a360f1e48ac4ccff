import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startChild, type ChildServer } from "../../bench/load/child-server.js";
import { hashApiKey } from "../../server/auth/tenants.js";
import { FakeFrontier } from "../helpers/fake-frontier.js";
import { MODELS_DIR, SURE, UNSURE } from "../helpers/server.js";

const CLI = new URL("../../cli/main.ts", import.meta.url).pathname;
/** Words that occur nowhere but in this test's request texts: if a log line holds one, a text was logged. */
const MARKER = "zorblaxquintessentialmarker";
const KEYS = { admin: "sk-admin-logtest-4d1e9a", user: "sk-user-logtest-77c0b2", wrong: "sk-wrong-logtest-5f2a10", frontier: "sk-frontier-logtest-c3d8e1" };
const REQUEST_ID = "log-test-request-1";
let frontier: FakeFrontier;
let dir: string;
let child: ChildServer;

const send = (path: string, body: string, key: string, headers: Record<string, string> = {}) =>
  fetch(`${child.origin}${path}`, { method: "POST", body, headers: { "content-type": "application/json", authorization: `Bearer ${key}`, ...headers } });

beforeAll(async () => {
  frontier = await new FakeFrontier().start();
  dir = await mkdtemp(join(tmpdir(), "log-privacy-"));
  const config = join(dir, "config.json");
  await writeFile(
    config,
    JSON.stringify({
      // The most verbose level: even there, no texts and no keys.
      server: { port: 0, logLevel: "trace" },
      models: { repository: MODELS_DIR, serve: ["email-spam", "email-spam-llama"], overrides: { "email-spam": { threshold: 0.9 } } },
      auth: { tenants: { admin: { keys: [hashApiKey(KEYS.admin)], role: "admin" }, user: { keys: [hashApiKey(KEYS.user)] } } },
      escalation: {
        defaultProvider: "fake",
        providers: { fake: { kind: "openai", model: "gpt-5-mini", baseURL: `${frontier.url}/v1`, apiKeyEnv: "FAKE_FRONTIER_KEY", maxRetries: 0 } },
      },
      ledger: { path: ":memory:" },
      // Every escalation must reach the frontier to log its failure: no reuse between the alike texts.
      cache: { semantic: { enabled: false } },
    }),
  );
  child = await startChild(["--import", "tsx", CLI, "serve", "--config", config], /listening on http:\/\/127\.0\.0\.1:(\d+)/, { FAKE_FRONTIER_KEY: KEYS.frontier });
}, 90_000);

afterAll(async () => {
  await child?.stop();
  await frontier?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("logs", () => {
  it("are JSON lines with request ids and never hold request texts or API keys, even at trace level", async () => {
    const text = (base: string) => `${base} ${MARKER}`;
    const statuses: number[] = [];
    const record = async (response: Promise<Response>) => {
      const r = await response;
      statuses.push(r.status);
      await r.text();
      return r;
    };
    const answered = await record(send("/v1/classify", JSON.stringify({ model: "email-spam", input: [text(SURE)] }), KEYS.user, { "x-request-id": REQUEST_ID }));
    expect(answered.headers.get("x-request-id")).toBe(REQUEST_ID);
    // Escalated, answered by the frontier; then the frontier fails and the answer is degraded.
    await record(send("/v1/classify", JSON.stringify({ model: "email-spam", input: text(UNSURE) }), KEYS.user));
    // A provider error that quotes the API key, as OpenAI's 401 does ("Incorrect API key provided: sk-…").
    frontier.next({ kind: "status", status: 401, message: `Incorrect API key provided: ${KEYS.frontier}` });
    await record(send("/v1/classify", JSON.stringify({ model: "email-spam", input: `${text(UNSURE)} again` }), KEYS.user, { "x-request-id": "log-test-degraded" }));
    await record(send("/v1/chat/completions", JSON.stringify({ model: "email-spam-llama", messages: [{ role: "user", content: text("Say hello") }], max_tokens: 4, seed: 1 }), KEYS.user));
    // Refusals: bad JSON, an unknown field, a wrong type, a wrong key, no admin scope, too many inputs.
    await record(send("/v1/classify", `{"model": "email-spam", "input": "${MARKER}`, KEYS.user));
    await record(send("/v1/classify", JSON.stringify({ model: "email-spam", input: text("x"), [MARKER]: 1 }), KEYS.user));
    await record(send("/v1/classify", JSON.stringify({ model: "email-spam", input: { [MARKER]: text("x") } }), KEYS.user));
    await record(send("/v1/classify", JSON.stringify({ model: "email-spam", input: text("x") }), KEYS.wrong));
    await record(send("/admin/escalation", JSON.stringify({ enabled: true }), KEYS.user));
    await record(send("/v1/classify", JSON.stringify({ model: "email-spam", input: Array.from({ length: 300 }, () => text("y")) }), KEYS.user));
    await record(send("/admin/models/email-spam/reload", JSON.stringify({ version: MARKER }), KEYS.admin));
    expect(statuses).toEqual([200, 200, 200, 200, 400, 400, 400, 401, 403, 400, 422]);
    expect(frontier.seen.map((s) => s.text).every((t) => t.includes(MARKER))).toBe(true);

    const ledgerRows = await (await fetch(`${child.origin}/v1/escalations`, { headers: { authorization: `Bearer ${KEYS.admin}` } })).text();
    expect(ledgerRows).toContain("client_error");
    expect(ledgerRows).not.toContain(KEYS.frontier);

    // pino writes asynchronously: give the last lines a moment.
    await new Promise((r) => setTimeout(r, 300));
    const output = child.output();
    for (const secret of [MARKER, ...Object.values(KEYS)]) expect(output).not.toContain(secret);

    const lines = output.split("\n").filter((l) => l.startsWith("{"));
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.length).toBeGreaterThan(10);
    for (const r of records) expect(r).toMatchObject({ level: expect.any(Number), time: expect.any(Number), msg: expect.any(String) });
    const perRequest = records.filter((r) => r.msg === "request completed");
    expect(perRequest.length).toBeGreaterThanOrEqual(statuses.length);
    for (const r of perRequest) expect(r.reqId).toEqual(expect.any(String));
    expect(perRequest.find((r) => r.reqId === REQUEST_ID)).toMatchObject({ url: "/v1/classify", status: 200 });
    // The failed escalation says why, in one line, with the request it belongs to.
    const degraded = records.filter((r) => String(r.msg).startsWith("escalation degraded"));
    expect(degraded).toEqual([expect.objectContaining({ reqId: "log-test-degraded", provider: "fake", cause: "client_error", msg: expect.stringContaining("401") })]);
    // Every line written while handling a request says which one.
    for (const r of records.filter((r) => "url" in r || "code" in r)) expect(r.reqId).toEqual(expect.any(String));
  });
});
