import { cudaProviderMissing } from "../../server/backends/onnx/session.js";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../server/http/start-server.js";
import { loadEmailCorpus } from "../../training/data/email-corpus.js";
import { metricValue, postJson, startTestServer } from "../helpers/server.js";

let server: RunningServer;
let emails: Array<{ text: string; label: string }>;

beforeAll(async () => {
  server = await startTestServer();
  emails = (await loadEmailCorpus({ limitPerGroup: 12 })).map(({ text, label }) => ({ text, label }));
});

afterAll(async () => {
  await server?.close();
});

describe("POST /v1/classify", () => {
  it("classifies one text", async () => {
    const r = await postJson(server, "/v1/classify", { model: "email-spam", input: "Congratulations! You WON a FREE cruise. Click here to claim your prize, limited offer!!!" });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ model: "email-spam", version: "1", usage: { inputs: 1 } });
    const [result] = r.json.results;
    expect(result.label).toBe("spam");
    expect(result.scores.spam + result.scores.ham).toBeCloseTo(1, 6);
    expect(result.confidence).toBe(result.scores.spam);
    expect(typeof result.below_threshold).toBe("boolean");
    expect(result.truncated).toBe(false);
    expect(r.json.usage.tokens).toBe(result.tokens);
    expect(r.headers.get("x-request-id")).toBeTruthy();
  });

  it("classifies a batch of real emails in order, the same as one at a time", async () => {
    const texts = emails.map((e) => e.text);
    const batch = await postJson(server, "/v1/classify", { model: "email-spam", input: texts });
    expect(batch.status).toBe(200);
    expect(batch.json.results).toHaveLength(texts.length);
    const singles = await Promise.all(texts.map((text) => postJson(server, "/v1/classify", { model: "email-spam", input: text })));
    singles.forEach((single, i) => {
      expect(batch.json.results[i].label).toBe(single.json.results[0].label);
      expect(batch.json.results[i].confidence).toBeCloseTo(single.json.results[0].confidence, 5);
    });
    const correct = batch.json.results.filter((r: { label: string }, i: number) => r.label === emails[i]!.label).length;
    expect(correct / texts.length).toBeGreaterThanOrEqual(0.9);
  });

  it("reports truncation of inputs longer than the model's maximum", async () => {
    const models = (await (await fetch(`${server.url}/v1/models`)).json()) as any;
    const maxTokens = models.data.find((m: { name: string }) => m.name === "email-spam").limits.max_tokens;
    const long = "cheap meds online now ".repeat(maxTokens);
    const r = await postJson(server, "/v1/classify", { model: "email-spam", input: [long, "short note"] });
    expect(r.json.results[0]).toMatchObject({ truncated: true, tokens: maxTokens });
    expect(r.json.results[1].truncated).toBe(false);
  });
});

describe("bad requests get a clear error and the server keeps serving", () => {
  const cases: Array<[string, () => Promise<{ status: number; json: any }>, number, string]> = [
    ["malformed JSON", () => postJson(server, "/v1/classify", '{"model": "email-spam", "input": '), 400, "ERR_INVALID_JSON"],
    ["empty body", () => postJson(server, "/v1/classify", ""), 400, "ERR_INVALID_JSON"],
    ["wrong type", () => postJson(server, "/v1/classify", { model: "email-spam", input: 42 }), 400, "ERR_INVALID_REQUEST"],
    ["missing field", () => postJson(server, "/v1/classify", { input: "x" }), 400, "ERR_INVALID_REQUEST"],
    ["unknown field", () => postJson(server, "/v1/classify", { model: "email-spam", input: "x", temperature: 1 }), 400, "ERR_INVALID_REQUEST"],
    ["empty input list", () => postJson(server, "/v1/classify", { model: "email-spam", input: [] }), 400, "ERR_INVALID_REQUEST"],
    ["too many inputs", () => postJson(server, "/v1/classify", { model: "email-spam", input: Array(257).fill("x") }), 400, "ERR_TOO_MANY_INPUTS"],
    ["unknown model", () => postJson(server, "/v1/classify", { model: "nope", input: "x" }), 404, "ERR_MODEL_NOT_FOUND"],
    ["unknown route", () => postJson(server, "/v1/nothing", {}), 404, "ERR_ROUTE_NOT_FOUND"],
    ["oversized body", () => postJson(server, "/v1/classify", { model: "email-spam", input: "x".repeat(1_100_000) }), 413, "ERR_BODY_TOO_LARGE"],
    ["wrong content type", () => postJson(server, "/v1/classify", "model=email-spam", { headers: { "content-type": "text/plain" } }), 415, "ERR_UNSUPPORTED_MEDIA_TYPE"],
    ["form content type", () => postJson(server, "/v1/classify", "a=b", { headers: { "content-type": "application/x-www-form-urlencoded" } }), 415, "ERR_UNSUPPORTED_MEDIA_TYPE"],
  ];
  for (const [name, send, status, code] of cases) {
    it(`${name} → ${status} ${code}`, async () => {
      const r = await send();
      expect(r.status).toBe(status);
      expect(r.json.error.code).toBe(code);
      expect(r.json.error.message.length).toBeGreaterThan(10);
    });
  }

  it("lists the zod issues with their paths", async () => {
    const r = await postJson(server, "/v1/classify", { model: 3, input: [1] });
    expect(r.json.error.details).toEqual(expect.arrayContaining([expect.objectContaining({ path: "/model" })]));
  });

  it("still answers after all of the above", async () => {
    expect((await postJson(server, "/v1/classify", { model: "email-spam", input: "hello" })).status).toBe(200);
  });
});

describe("other endpoints", () => {
  it("GET /v1/models describes the served model", async () => {
    const models = (await (await fetch(`${server.url}/v1/models`)).json()) as any;
    // The CPU here; on a host with the CUDA provider installed, possibly CUDA.
    const provider = cudaProviderMissing() ? "cpu" : expect.stringMatching(/^(cpu|cuda)$/);
    expect(models.data[0]).toMatchObject({ name: "email-spam", status: "ready", format: "onnx", labels: ["ham", "spam"], placement: { provider } });
  });

  it("answers the official openai client's models.list() and models.retrieve()", async () => {
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "not-checked", maxRetries: 0 });
    const listed = [];
    for await (const model of client.models.list()) listed.push(model);
    expect(listed.map((m) => m.id)).toEqual(["email-spam"]);
    const one = await client.models.retrieve("email-spam");
    expect(one).toMatchObject({ id: "email-spam", object: "model", owned_by: "specialist-serve", version: "1", status: "ready" });
    expect(one.created).toBeGreaterThan(1_700_000_000);
    expect(one.created).toBeLessThanOrEqual(Date.now() / 1000);
    await expect(client.models.retrieve("no-such-model")).rejects.toMatchObject({ status: 404 });
  });

  // Regression: a blank input was classified (spam at 0.92), escalated and billed.
  it("refuses empty and white-space-only inputs with 400 ERR_EMPTY_INPUT, naming which", async () => {
    for (const input of ["", "   \n\t ", ["a real email about lunch", " "]]) {
      const r = await postJson(server, "/v1/classify", { model: "email-spam", input });
      expect(r.status).toBe(400);
      expect(r.json.error.code).toBe("ERR_EMPTY_INPUT");
      expect(r.json.error.message).toMatch(Array.isArray(input) ? /input 1 is empty/ : /input 0 is empty/);
    }
  });

  it("/healthz and /readyz", async () => {
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ready", models: { "email-spam": "ready" } });
  });

  it("/openapi.json documents the routes from the zod schemas", async () => {
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as any;
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.paths["/v1/classify"].post.requestBody.content["application/json"].schema.properties.input).toBeDefined();
    expect(doc.paths["/v1/models"]).toBeDefined();
  });

  it("/metrics reflects the traffic", async () => {
    const before = await (await fetch(`${server.url}/metrics`)).text();
    const count = (text: string) => metricValue(text, "specialist_http_request_duration_seconds_count", 'route="/v1/classify"', 'status="200"', 'model="email-spam"') ?? 0;
    await postJson(server, "/v1/classify", { model: "email-spam", input: ["a", "b", "c"] });
    const after = await (await fetch(`${server.url}/metrics`)).text();
    expect(count(after)).toBe(count(before) + 1);
    expect(metricValue(after, "specialist_batch_size_count", 'model="email-spam"')).toBeGreaterThan(0);
    expect(metricValue(after, "specialist_tokens_total", 'model="email-spam"')).toBeGreaterThan(0);
    expect(metricValue(after, "specialist_inference_duration_seconds_count", 'model="email-spam"')).toBeGreaterThan(0);
    expect(metricValue(after, "specialist_queue_wait_seconds_count", 'model="email-spam"')).toBeGreaterThan(0);
    expect(after).toContain("process_resident_memory_bytes");
    expect(metricValue(after, "specialist_http_request_duration_seconds_count", 'status="404"', 'model=""')).toBeGreaterThan(0);
  });
});
