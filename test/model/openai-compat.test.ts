import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../server/http/start-server.js";
import { metricValue, postJson, startTestServer } from "../helpers/server.js";

// The official openai client against the real server, generating with the bundled GGUF model.
const MODEL = "email-spam-llama";
let server: RunningServer;
let client: OpenAI;

beforeAll(async () => {
  server = await startTestServer({ models: { serve: [MODEL, "email-spam"] } });
  client = new OpenAI({ apiKey: "not-needed-on-loopback", baseURL: `${server.url}/v1`, maxRetries: 0 });
});

afterAll(async () => {
  await server?.close();
});

describe("OpenAI-compatible generation", () => {
  it("answers a chat completion with usage and a finish reason", async () => {
    const r = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "Say something." }], max_tokens: 8, seed: 1 });
    expect(r.object).toBe("chat.completion");
    expect(r.choices[0]!.message.role).toBe("assistant");
    expect(typeof r.choices[0]!.message.content).toBe("string");
    expect(["stop", "length"]).toContain(r.choices[0]!.finish_reason);
    expect(r.usage!.prompt_tokens).toBeGreaterThan(3);
    expect(r.usage!.completion_tokens).toBeLessThanOrEqual(8);
    expect((r as unknown as { version: string }).version).toBe("1");
  });

  it("keeps a shared prompt prefix in the KV cache, reports it as cached tokens, and answers as without it", async () => {
    const system = "You sort the mail of a small company. Answer ham for business mail and spam for unsolicited bulk mail, one word.";
    const chat = (user: string, system?: string) =>
      client.chat.completions.create({ model: MODEL, messages: [...(system ? [{ role: "system" as const, content: system }] : []), { role: "user", content: user }], max_tokens: 6, temperature: 0 });
    await chat("Email: the quarterly report is attached.", system);
    // Sequential requests get the sequence the last one freed: this one begins with the same system prompt.
    const reused = await chat("Email: win a free cruise today!", system);
    const cached = (reused.usage as { prompt_tokens_details?: { cached_tokens: number } }).prompt_tokens_details?.cached_tokens;
    expect(cached).toBeGreaterThan(20);
    expect(cached).toBeLessThan(reused.usage!.prompt_tokens);
    // A prompt that differs from its second token on: nearly nothing is reused, and the answer is the same.
    await chat("Something else entirely.");
    const fresh = await chat("Email: win a free cruise today!", system);
    expect((fresh.usage as { prompt_tokens_details?: { cached_tokens: number } }).prompt_tokens_details?.cached_tokens).toBeLessThanOrEqual(2);
    expect(fresh.choices[0]!.message.content).toBe(reused.choices[0]!.message.content);
  });

  it("answers a text completion, stopping at max_tokens", async () => {
    const r = await client.completions.create({ model: MODEL, prompt: "Email:\nHello there\nLabel:", max_tokens: 4, temperature: 0 });
    expect(r.object).toBe("text_completion");
    expect(r.usage!.completion_tokens).toBeLessThanOrEqual(4);
    expect(r.choices[0]!.text.length).toBeGreaterThan(0);
  });

  it("streams chunks in OpenAI's format that add up to the whole answer", async () => {
    const { data: stream, response } = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "Write a line." }], max_tokens: 12, seed: 2, stream: true }).withResponse();
    expect(response.headers.get("x-model-version")).toBe("1");
    const pieces: string[] = [];
    let finish: string | null = null;
    for await (const chunk of stream) {
      expect(chunk.object).toBe("chat.completion.chunk");
      pieces.push(chunk.choices[0]?.delta.content ?? "");
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(pieces.filter((p) => p.length > 0).length).toBeGreaterThan(1);
    expect(["stop", "length"]).toContain(finish);
  });

  it("ends the answer before a stop string, streamed and not, and counts the tokens generated", async () => {
    const prompt = "Email:\nWin a free cruise, click now\nLabel:";
    const whole = await client.completions.create({ model: MODEL, prompt, max_tokens: 12, temperature: 0 });
    const text = whole.choices[0]!.text;
    expect(text.length).toBeGreaterThan(3);
    // A stop string taken from the middle of the greedy answer: what comes before it, and nothing of it.
    const stop = text.slice(2, 4);
    const before = text.slice(0, text.indexOf(stop));
    const cut = await client.completions.create({ model: MODEL, prompt, max_tokens: 12, temperature: 0, stop: [stop] });
    expect(cut.choices[0]!.text).toBe(before);
    expect(cut.choices[0]!.finish_reason).toBe("stop");
    expect(cut.usage!.completion_tokens).toBeGreaterThan(0);
    expect(cut.usage!.completion_tokens).toBeLessThan(whole.usage!.completion_tokens);
    const stream = await client.completions.create({ model: MODEL, prompt, max_tokens: 12, temperature: 0, stop: [stop], stream: true });
    let streamed = "";
    for await (const chunk of stream) streamed += chunk.choices[0]?.text ?? "";
    expect(streamed).toBe(before);
  });

  it("produces JSON valid against a json_schema response format", async () => {
    const schema = { type: "object", properties: { label: { type: "string", enum: ["ham", "spam"] } }, required: ["label"], additionalProperties: false };
    const r = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: "Email:\nWin a FREE prize now!\nLabel:" }],
      max_tokens: 32,
      response_format: { type: "json_schema", json_schema: { name: "answer", schema, strict: true } },
    });
    const parsed = JSON.parse(r.choices[0]!.message.content!);
    expect(["ham", "spam"]).toContain(parsed.label);
    expect(Object.keys(parsed)).toEqual(["label"]);
  });

  it("rejects output the grammar cannot hold to the schema (patterns) with 422 ERR_OUTPUT_INVALID", async () => {
    // Grammars ignore patterns (and numeric bounds): the short string the grammar allows cannot match this one.
    const schema = { type: "object", properties: { s: { type: "string", maxLength: 4, pattern: "^[0-9]{40}$" } }, required: ["s"], additionalProperties: false };
    const r = await postJson(server, "/v1/chat/completions", {
      model: MODEL,
      messages: [{ role: "user", content: "A number:" }],
      max_tokens: 32,
      seed: 3,
      response_format: { type: "json_schema", json_schema: { name: "n", schema } },
    });
    expect(r.status).toBe(422);
    expect(r.json.error.code).toBe("ERR_OUTPUT_INVALID");
  });

  it("stops generating when the client goes away", async () => {
    const metrics = async () => (await fetch(`${server.url}/metrics`)).text();
    const generated = async () => metricValue(await metrics(), "specialist_generated_tokens_total", `model="${MODEL}"`) ?? 0;
    const cancelled = async () => metricValue(await metrics(), "specialist_generations_total", `model="${MODEL}"`, 'finish="cancelled"') ?? 0;
    const [tokensBefore, cancelledBefore] = [await generated(), await cancelled()];
    // The grammar demands 300 array items, so the model cannot end early by itself: only the disconnect stops it.
    const schema = { type: "array", items: { type: "string", maxLength: 3 }, minItems: 300 };
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      { model: MODEL, messages: [{ role: "user", content: "List:" }], max_tokens: 480, stream: true, response_format: { type: "json_schema", json_schema: { name: "list", schema } } },
      { signal: controller.signal },
    );
    try {
      for await (const _chunk of stream) {
        controller.abort();
      }
    } catch {
      // the client's own abort
    }
    const giveUp = Date.now() + 10_000;
    while ((await cancelled()) === cancelledBefore && Date.now() < giveUp) await new Promise((r) => setTimeout(r, 20));
    expect(await cancelled()).toBe(cancelledBefore + 1);
    expect((await generated()) - tokensBefore).toBeLessThan(400);
  });

  it("makes n choices per prompt, for each prompt of a prompt array, in OpenAI's order", async () => {
    const prompts = ["Email:\nWin a FREE prize now!\nLabel:", "Email:\nMinutes of the build meeting attached.\nLabel:"];
    const r = await client.completions.create({ model: MODEL, prompt: prompts, n: 2, max_tokens: 3, temperature: 0 });
    expect(r.choices.map((c) => c.index)).toEqual([0, 1, 2, 3]);
    // Greedy: both choices of a prompt agree, each alone gives the same text.
    const alone = await Promise.all(prompts.map((prompt) => client.completions.create({ model: MODEL, prompt, max_tokens: 3, temperature: 0 })));
    expect(r.choices.map((c) => c.text)).toEqual([alone[0]!.choices[0]!.text, alone[0]!.choices[0]!.text, alone[1]!.choices[0]!.text, alone[1]!.choices[0]!.text]);
    // A prompt is counted once, however many choices it has.
    expect(r.usage!.prompt_tokens).toBe(alone[0]!.usage!.prompt_tokens + alone[1]!.usage!.prompt_tokens);
    expect(r.usage!.completion_tokens).toBe(2 * (alone[0]!.usage!.completion_tokens + alone[1]!.usage!.completion_tokens));
    const tooMany = await postJson(server, "/v1/completions", { model: MODEL, prompt: "x", n: 5 });
    expect(tooMany.status).toBe(400);
    expect(tooMany.json.error.message).toMatch(/n/);
  });

  it("streams n choices by index and ends with the usage when stream_options.include_usage", async () => {
    const stream = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "Write a line." }], n: 2, max_tokens: 6, seed: 3, stream: true, stream_options: { include_usage: true } });
    const finished = new Set<number>();
    let usage: OpenAI.CompletionUsage | null | undefined;
    let last: OpenAI.Chat.Completions.ChatCompletionChunk | undefined;
    for await (const chunk of stream) {
      for (const c of chunk.choices) if (c.finish_reason) finished.add(c.index);
      usage = chunk.usage;
      last = chunk;
    }
    expect([...finished].sort()).toEqual([0, 1]);
    expect(last!.choices).toEqual([]);
    expect(usage!.completion_tokens).toBeGreaterThan(0);
    expect(usage!.completion_tokens).toBeLessThanOrEqual(12);
    expect(usage!.total_tokens).toBe(usage!.prompt_tokens + usage!.completion_tokens);
  });

  it("holds response_format json_object to JSON: a JSON object, or 422 when max_tokens cuts it", async () => {
    // Streamed, the text shows before the verdict: the grammar starts an object where the model alone says " spam".
    const stream = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "hi" }], max_tokens: 20, response_format: { type: "json_object" }, stream: true });
    let text = "";
    let error: Error | undefined;
    try {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    } catch (e) {
      error = e as Error;
    }
    expect(text.trimStart()).toMatch(/^\{/);
    if (error) expect(error.message).toMatch(/not complete JSON/);
    else expect(JSON.parse(text)).toBeTypeOf("object");
  });

  it("applies presence and frequency penalties: a greedy answer repeats itself less", async () => {
    const ask = (penalty: number) =>
      client.completions.create({ model: MODEL, prompt: "Email:\nHello there\nLabel:", max_tokens: 12, temperature: 0, presence_penalty: penalty, frequency_penalty: penalty });
    // The longest run of one word said again and again.
    const longestRun = (text: string) => {
      const words = text.split(" ").filter(Boolean);
      let best = 0;
      for (let i = 0, run = 0; i < words.length; i++) best = Math.max(best, (run = i > 0 && words[i] === words[i - 1] ? run + 1 : 1));
      return best;
    };
    const plain = longestRun((await ask(0)).choices[0]!.text);
    expect(plain).toBeGreaterThan(2);
    expect(longestRun((await ask(2)).choices[0]!.text)).toBeLessThan(plain);
    const out = await postJson(server, "/v1/completions", { model: MODEL, prompt: "x", presence_penalty: 3 });
    expect(out.status).toBe(400);
  });

  it("reads content parts and the developer role as text and a system message", async () => {
    const plain = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: "system", content: "Label emails." }, { role: "user", content: "Email:\nFree money\nLabel:" }],
      max_tokens: 4,
      temperature: 0,
    });
    const parts = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: "developer", content: "Label emails." }, { role: "user", content: [{ type: "text", text: "Email:" }, { type: "text", text: "Free money\nLabel:" }] }],
      max_tokens: 4,
      temperature: 0,
    });
    expect(parts.choices[0]!.message.content).toBe(plain.choices[0]!.message.content);
    expect(parts.usage!.prompt_tokens).toBe(plain.usage!.prompt_tokens);
  });

  it("gives each answer token's log-probability and the likeliest alternatives (chat logprobs)", async () => {
    const r = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: "Email:\nWin a FREE prize now!\nLabel:" }],
      max_tokens: 6,
      temperature: 0,
      logprobs: true,
      top_logprobs: 3,
    });
    const content = r.choices[0]!.logprobs!.content!;
    expect(content.length).toBe(r.usage!.completion_tokens);
    expect(content.map((t) => t.token).join("")).toBe(r.choices[0]!.message.content);
    for (const t of content) {
      expect(t.logprob).toBeLessThanOrEqual(0);
      expect(t.top_logprobs).toHaveLength(3);
      expect(t.top_logprobs.map((a) => a.logprob)).toEqual([...t.top_logprobs.map((a) => a.logprob)].sort((a, b) => b - a));
      // Greedy: every chosen token is the likeliest one, so the scores line up with the tokens generated.
      expect(t.top_logprobs[0]!.token).toBe(t.token);
      expect(t.top_logprobs[0]!.logprob).toBeCloseTo(t.logprob, 6);
      expect(Buffer.from(t.bytes!).toString("utf8")).toBe(t.token);
    }
    const plain = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "Email:\nWin a FREE prize now!\nLabel:" }], max_tokens: 6, temperature: 0 });
    expect(plain.choices[0]!.logprobs ?? null).toBeNull();
    expect(plain.choices[0]!.message.content).toBe(r.choices[0]!.message.content);
  });

  it("gives legacy completions logprobs as parallel lists, and refuses logprobs with stream or top_logprobs alone", async () => {
    const r = await client.completions.create({ model: MODEL, prompt: "Email:\nHello there\nLabel:", max_tokens: 4, temperature: 0, logprobs: 2 });
    const lp = r.choices[0]!.logprobs!;
    expect(lp.tokens!.join("")).toBe(r.choices[0]!.text);
    expect(lp.token_logprobs).toHaveLength(lp.tokens!.length);
    expect(lp.top_logprobs!.every((alternatives) => Object.keys(alternatives).length <= 2)).toBe(true);
    expect(lp.text_offset![0]).toBe(0);
    const streamed = await postJson(server, "/v1/completions", { model: MODEL, prompt: "x", logprobs: 1, stream: true });
    expect(streamed.status).toBe(400);
    expect(streamed.json.error.message).toContain("logprobs");
    const alone = await postJson(server, "/v1/chat/completions", { model: MODEL, messages: [{ role: "user", content: "hi" }], top_logprobs: 2 });
    expect(alone.status).toBe(400);
    expect(alone.json.error.message).toContain("top_logprobs");
  });

  it("reads the whole of a prompt that nearly fills the context (regression: llama.cpp's completion cut its start)", async () => {
    // node-llama-cpp keeps a tenth of the context free by default and silently drops the start of a longer prompt.
    const probe = await postJson(server, "/v1/completions", { model: MODEL, prompt: "word ".repeat(2000), max_tokens: 8 });
    const perRepeat = Number(/the prompt \((\d+) tokens\)/.exec(probe.json.error.message)![1]) / 2000;
    const prompt = "word ".repeat(Math.floor(480 / perRepeat));
    const r = await client.completions.create({ model: MODEL, prompt, max_tokens: 8, temperature: 0, logprobs: 0 });
    expect(r.usage!.prompt_tokens).toBeGreaterThan(470);
    expect(r.usage!.prompt_tokens + 8).toBeLessThanOrEqual(512);
    // Scoring the answer checks that the sequence holds the whole prompt before it.
    expect(r.choices[0]!.logprobs!.tokens!.join("")).toBe(r.choices[0]!.text);
  });

  it("names a parameter it does not take in the 400", async () => {
    const r = await postJson(server, "/v1/chat/completions", { model: MODEL, messages: [{ role: "user", content: "hi" }], logit_bias: { "1": 5 } });
    // (logprobs and top_logprobs are taken: see above)
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe("ERR_INVALID_REQUEST");
    expect(r.json.error.message).toContain("logit_bias");
  });

  it("refuses generation on a classification-only model, and a prompt that does not fit the context", async () => {
    const onnx = await postJson(server, "/v1/chat/completions", { model: "email-spam", messages: [{ role: "user", content: "hi" }] });
    expect(onnx.status).toBe(400);
    expect(onnx.json.error.code).toBe("ERR_MODEL_CANNOT_GENERATE");
    const long = await postJson(server, "/v1/completions", { model: MODEL, prompt: "word ".repeat(2000), max_tokens: 16 });
    expect(long.status).toBe(400);
    expect(long.json.error.message).toContain("context");
  });
});
