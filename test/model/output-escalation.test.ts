import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { hashApiKey } from "../../server/auth/tenants.js";
import type { ServerConfigInput } from "../../server/config/schema.js";
import type { RunningServer } from "../../server/http/start-server.js";
import { FakeFrontier, fakeEscalation } from "../helpers/fake-frontier.js";
import { postJson, startTestServer } from "../helpers/server.js";

// The bundled GGUF model generating JSON whose schema a grammar cannot enforce, and the frontier answering instead.
const MODEL = "email-spam-llama";
const KEYS = { alice: "sk-alice-0123456789", admin: "sk-admin-0123456789", broke: "sk-broke-0123456789" };
const auth = (key: string) => ({ headers: { authorization: `Bearer ${key}` } });
/** Grammars ignore patterns: the model writes some short string, which cannot match forty digits. */
const DIGITS = { type: "object", properties: { s: { type: "string", maxLength: 40, pattern: "^[0-9]{40}$" } }, required: ["s"], additionalProperties: false };
const FORTY = "1234567890".repeat(4);
const chat = (schema: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  model: MODEL,
  messages: [
    { role: "system", content: "You write numbers." },
    { role: "user", content: "A number:" },
  ],
  max_tokens: 48,
  seed: 3,
  response_format: { type: "json_schema", json_schema: { name: "n", schema } },
  ...extra,
});

let frontier: FakeFrontier;
let server: RunningServer;

function config(extra: { provider?: Record<string, unknown>; model?: Record<string, unknown> } = {}): ServerConfigInput {
  return {
    models: { serve: [MODEL], overrides: extra.model ? { [MODEL]: extra.model } : {} },
    escalation: fakeEscalation(frontier, { timeoutMs: 2_000, maxRetries: 0, ...extra.provider }),
    auth: {
      tenants: {
        alice: { keys: [hashApiKey(KEYS.alice)] },
        admin: { keys: [hashApiKey(KEYS.admin)], role: "admin" },
        broke: { keys: [hashApiKey(KEYS.broke)], dailyBudgetUsd: 0 },
      },
    },
    ledger: { path: ":memory:", storeInputs: true },
  };
}

beforeAll(async () => {
  frontier = await new FakeFrontier().start();
  server = await startTestServer(config());
});

afterAll(async () => {
  await server?.close();
  await frontier?.stop();
});

beforeEach(() => frontier.reset());

describe("escalation of JSON that fails its schema", () => {
  it("answers with the frontier's JSON, validated against the same schema, through the openai client", async () => {
    frontier.next({ kind: "json", value: { s: FORTY } });
    const client = new OpenAI({ apiKey: KEYS.alice, baseURL: `${server.url}/v1`, maxRetries: 0 });
    const r = await client.chat.completions.create(chat(DIGITS) as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming);
    expect(JSON.parse(r.choices[0]!.message.content!)).toEqual({ s: FORTY });
    expect(r.choices[0]!.finish_reason).toBe("stop");
    const extra = r as unknown as { served_by: string; escalation: Record<string, unknown> };
    expect(extra.served_by).toBe("frontier");
    expect(extra.escalation).toMatchObject({ reason: "output_invalid", provider: "fake", frontier_model: "gpt-5-mini" });
    expect(extra.escalation.cost_usd).toBeGreaterThan(0);
    expect(r.usage!.completion_tokens).toBe(6); // the fake frontier's usage, not the specialist's

    // The frontier got the same conversation and schema: system message as instructions, the user's turn as is.
    expect(frontier.seen).toHaveLength(1);
    const sent = frontier.seen[0]!.body;
    expect(sent.messages).toEqual([
      { role: "system", content: "You write numbers." },
      { role: "user", content: "A number:" },
    ]);
    expect(sent.response_format.json_schema.schema).toEqual(DIGITS);
    expect(sent.max_completion_tokens).toBe(64); // the provider's maxOutputTokens, larger than the request's 48

    const rows = await fetch(`${server.url}/v1/escalations?limit=1`, auth(KEYS.alice)).then((x) => x.json() as Promise<any>);
    expect(rows.records[0]).toMatchObject({ reason: "output_invalid", outcome: "answered", model: MODEL, specialist_label: "" });
    expect(JSON.parse(rows.records[0].frontier_label)).toEqual({ s: FORTY });
  });

  it("answers a text completion the same way, with the x-served-by header", async () => {
    frontier.next({ kind: "json", value: { s: FORTY } });
    const r = await postJson(server, "/v1/completions", { model: MODEL, prompt: "Number:", max_tokens: 48, seed: 3, response_format: { type: "json_schema", json_schema: { name: "n", schema: DIGITS } } }, auth(KEYS.alice));
    expect(r.status).toBe(200);
    expect(r.headers.get("x-served-by")).toBe("frontier");
    expect(JSON.parse(r.json.choices[0].text)).toEqual({ s: FORTY });
    expect(frontier.seen[0]!.body.messages).toEqual([{ role: "user", content: "Number:" }]);
  });

  it("serves valid specialist JSON itself, with no frontier call", async () => {
    const schema = { type: "object", properties: { label: { type: "string", enum: ["ham", "spam"] } }, required: ["label"], additionalProperties: false };
    const r = await postJson(server, "/v1/chat/completions", chat(schema), auth(KEYS.alice));
    expect(r.status).toBe(200);
    expect(r.json.served_by).toBe("specialist");
    expect(r.headers.get("x-served-by")).toBe("specialist");
    expect(frontier.seen).toHaveLength(0);
  });

  it("gives the 422 with the specialist's output and the reason when the frontier's answer fails the schema too", async () => {
    frontier.next({ kind: "json", value: { s: "twelve" } });
    const r = await postJson(server, "/v1/chat/completions", chat(DIGITS), auth(KEYS.alice));
    expect(r.status).toBe(422);
    expect(r.json.error.code).toBe("ERR_OUTPUT_INVALID");
    expect(r.json.error.details.escalation.reason).toBe("invalid_answer");
    expect(typeof r.json.error.details.output).toBe("string");
    expect(r.json.error.message).toContain("frontier could not answer");
  });

  it("gives the 422 without calling the frontier when the tenant is over budget or escalation is switched off", async () => {
    const broke = await postJson(server, "/v1/chat/completions", chat(DIGITS), auth(KEYS.broke));
    expect(broke.status).toBe(422);
    expect(broke.json.error.details.escalation.reason).toBe("over_budget");
    await postJson(server, "/admin/escalation", { enabled: false }, auth(KEYS.admin));
    try {
      const off = await postJson(server, "/v1/chat/completions", chat(DIGITS), auth(KEYS.alice));
      expect(off.status).toBe(422);
      expect(off.json.error.details.escalation.reason).toBe("escalation_disabled");
    } finally {
      await postJson(server, "/admin/escalation", { enabled: true }, auth(KEYS.admin));
    }
    expect(frontier.seen).toHaveLength(0);
  });

  it("ends a stream whose JSON fails its schema with an error event: streamed text cannot be replaced", async () => {
    const response = await fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", ...auth(KEYS.alice).headers },
      body: JSON.stringify(chat(DIGITS, { stream: true })),
    });
    const events = (await response.text()).split("\n\n").filter(Boolean);
    expect(JSON.parse(events.at(-1)!.slice("data: ".length)).error.code).toBe("ERR_OUTPUT_INVALID");
    expect(frontier.seen).toHaveLength(0);
  });

  it("refuses a schema that is not a JSON schema with 400 before generating", async () => {
    const r = await postJson(server, "/v1/chat/completions", chat({ type: "sentence" }), auth(KEYS.alice));
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe("ERR_INVALID_REQUEST");
    expect(r.json.error.message).toContain("not a valid JSON schema");
  });

  it("validates the same schema with an $id twice (regression: Ajv refused a second schema with one $id)", async () => {
    const schema = { $id: "https://example.com/label", ...DIGITS };
    for (let i = 0; i < 2; i++) {
      frontier.next({ kind: "json", value: { s: FORTY } });
      expect((await postJson(server, "/v1/chat/completions", chat(schema), auth(KEYS.alice))).status).toBe(200);
    }
  });
});

describe("other providers and policies", () => {
  it("asks Anthropic through a forced tool, wrapping an answer that is not an object", async () => {
    const claude = await startTestServer(config({ provider: { kind: "anthropic", model: "claude-haiku-4-5", baseURL: frontier.url } }));
    try {
      const schema = { type: "array", items: { type: "string", pattern: "^[0-9]{40}$" }, minItems: 1, maxItems: 2 };
      frontier.next({ kind: "json", value: [FORTY] });
      const r = await postJson(claude, "/v1/chat/completions", chat(schema), auth(KEYS.alice));
      expect(r.status).toBe(200);
      expect(JSON.parse(r.json.choices[0].message.content)).toEqual([FORTY]);
      const sent = frontier.seen[0]!;
      expect(sent.path).toBe("/v1/messages");
      expect(sent.body.system).toBe("You write numbers.");
      expect(sent.body.tools[0].input_schema).toEqual({ type: "object", properties: { value: schema }, required: ["value"] });
    } finally {
      await claude.close();
    }
  });

  it("answers 422 at once when the model's policy is to reject invalid output", async () => {
    const strict = await startTestServer(config({ model: { escalation: { onInvalidOutput: "reject" } } }));
    try {
      const r = await postJson(strict, "/v1/chat/completions", chat(DIGITS), auth(KEYS.alice));
      expect(r.status).toBe(422);
      expect(r.json.error.details.escalation).toBeUndefined();
      expect(frontier.seen).toHaveLength(0);
    } finally {
      await strict.close();
    }
  });
});

describe("escalation of low-confidence generations", () => {
  const LABEL = { type: "object", properties: { label: { type: "string", enum: ["ham", "spam"] } }, required: ["label"], additionalProperties: false };
  const ask = { model: MODEL, messages: [{ role: "user", content: "Email:\nWin a FREE prize now!\nLabel:" }], max_tokens: 6, temperature: 0 };
  let scored: RunningServer;
  let reporting: RunningServer;

  beforeAll(async () => {
    // No greedy answer of the tiny model is that certain: every one is below the threshold.
    scored = await startTestServer(config({ model: { generation: { score: "mean", threshold: 0.999999 } } }));
    reporting = await startTestServer(config({ model: { generation: { score: "label", temperature: 2 } } }));
  });

  afterAll(async () => {
    await scored?.close();
    await reporting?.close();
  });

  it("asks the frontier for a text answer, and records the specialist's confidence in the ledger", async () => {
    frontier.next({ kind: "raw", text: "spam, surely" });
    const r = await postJson(scored, "/v1/chat/completions", ask, auth(KEYS.alice));
    expect(r.status).toBe(200);
    expect(r.json.served_by).toBe("frontier");
    expect(r.json.choices[0].message.content).toBe("spam, surely");
    expect(r.json.choices[0].confidence).toBeUndefined(); // the answer shown is not the specialist's
    expect(r.json.escalation).toMatchObject({ reason: "low_confidence", provider: "fake", degraded: false });
    // A text request goes to the frontier as text: no response format.
    expect(frontier.seen[0]!.body.response_format).toBeUndefined();
    const rows = await fetch(`${scored.url}/v1/escalations?limit=1`, auth(KEYS.alice)).then((x) => x.json() as Promise<any>);
    expect(rows.records[0]).toMatchObject({ reason: "low_confidence", outcome: "answered", model: MODEL, frontier_label: "spam, surely" });
    expect(rows.records[0].specialist_confidence).toBeGreaterThan(0);
    expect(rows.records[0].specialist_confidence).toBeLessThan(0.999999);
  });

  it("keeps the specialist's answer, flagged, when the frontier cannot answer", async () => {
    await postJson(scored, "/admin/escalation", { enabled: false }, auth(KEYS.admin));
    try {
      const r = await postJson(scored, "/v1/chat/completions", ask, auth(KEYS.alice));
      expect(r.status).toBe(200);
      expect(r.json.served_by).toBe("specialist");
      expect(r.json.escalation).toMatchObject({ reason: "low_confidence", degraded: true, degraded_reason: "escalation_disabled" });
      expect(r.json.choices[0].confidence).toBeLessThan(0.999999);
      expect(frontier.seen).toHaveLength(0);
    } finally {
      await postJson(scored, "/admin/escalation", { enabled: true }, auth(KEYS.admin));
    }
  });

  it("does not escalate a streamed answer, which is already on its way", async () => {
    const r = await fetch(`${scored.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json", ...auth(KEYS.alice).headers }, body: JSON.stringify({ ...ask, stream: true }) });
    expect(r.status).toBe(200);
    expect(await r.text()).toContain("[DONE]");
    expect(frontier.seen).toHaveLength(0);
  });

  it("scores a JSON label by its value's tokens, temperature-scaled, without a threshold: reported, never escalated", async () => {
    const r = await postJson(reporting, "/v1/chat/completions", { ...ask, max_tokens: 16, logprobs: true, response_format: { type: "json_schema", json_schema: { name: "l", schema: LABEL } } }, auth(KEYS.alice));
    expect(r.status).toBe(200);
    expect(r.json.served_by).toBe("specialist");
    const choice = r.json.choices[0];
    const label = JSON.parse(choice.message.content).label as string;
    // The tokens that spell the label (inside its quotes), as the logprobs show them.
    let offset = 0;
    const start = choice.message.content.indexOf(`"${label}"`) + 1;
    let logProb = 0;
    for (const t of choice.logprobs.content as Array<{ token: string; logprob: number }>) {
      if (offset < start + label.length && offset + t.token.length > start) logProb += t.logprob;
      offset += t.token.length;
    }
    const p = Math.exp(logProb);
    const expected = p ** 0.5 / (p ** 0.5 + (1 - p) ** 0.5); // temperature 2
    expect(choice.confidence).toBeCloseTo(expected, 5);
    expect(frontier.seen).toHaveLength(0);
  });
});
