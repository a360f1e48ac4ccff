import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LlamaCompletion, type LlamaModel } from "node-llama-cpp";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { llamaRuntime } from "../../server/backends/gguf/llama-runtime.js";
import type { GgufBackend } from "../../server/backends/gguf/gguf-backend.js";
import { labelCandidates, labelLogProbabilities } from "../../server/backends/gguf/label-scorer.js";
import { parseClassifyPrompt, promptTokens } from "../../server/backends/gguf/classify-prompt.js";
import type { RunningServer } from "../../server/http/start-server.js";
import { loadEmailCorpus } from "../../training/data/email-corpus.js";
import { learnByteBpe, withSingleTokens } from "../../training/gguf/byte-bpe.js";
import { writeGguf } from "../../training/gguf/gguf-writer.js";
import { llamaMetadata, randomLlamaTensors, vocabularyOf, type LlamaShape } from "../../training/gguf/llama-gguf.js";
import { postJson, startTestServer } from "../helpers/server.js";

/**
 * A GGUF served as its metadata describes it, as llama.cpp's converter writes them for instruct models: a chat
 * template, `add_bos_token: false`, its own context length. Regression (issue 16): the template was ignored (a generic
 * User:/Assistant: prompt), BOS was always added, the context was 512 whatever the file said, and a model used only
 * for chat needed a classify prompt and labels.
 */
const TEMPLATE = "{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}<|end|>\n{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}";
const CONTEXT = 256;
let dir: string;
let server: RunningServer;
let model: LlamaModel;
let embedder: LlamaModel;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "gguf-metadata-"));
  const texts = (await loadEmailCorpus({ limitPerGroup: 20 })).map((e) => e.text);
  const bpe = withSingleTokens(learnByteBpe(texts, { vocabSize: 500 }), [" spam", " ham"]);
  const shape: LlamaShape = { vocab: vocabularyOf(bpe).length, dim: 32, layers: 2, heads: 4, kvHeads: 4, ffn: 64, context: CONTEXT, ropeBase: 10_000, rmsEps: 1e-5 };
  const tensors = randomLlamaTensors(shape, 11).map((t) => (t.name.endsWith("norm.weight") ? t : { ...t, data: t.data.map((v) => v * 3) }));
  const metadata = {
    ...llamaMetadata(shape, "instruct", bpe),
    "tokenizer.ggml.add_bos_token": { type: "bool" as const, value: false },
    "tokenizer.chat_template": { type: "string" as const, value: TEMPLATE },
  };
  for (const [name, manifest] of [
    ["chat", { task: "text-generation" }],
    ["nobos-classifier", { task: "text-classification", labels: ["ham", "spam"], limits: { maxTokens: 64 } }],
    ["embedder", { task: "embeddings", limits: { maxTokens: 48 } }],
  ] as const) {
    const folder = join(dir, "models", name, "1");
    await mkdir(join(folder, "prompts"), { recursive: true });
    // An embedding model as llama.cpp's converter marks one: mean pooling in the metadata.
    const own = name === "embedder" ? { ...metadata, "llama.pooling_type": { type: "u32" as const, value: 1 } } : metadata;
    await writeGguf(join(folder, "model.gguf"), own, tensors);
    await writeFile(join(folder, "model.json"), JSON.stringify({ format: "gguf", ...manifest, gguf: { threads: 1, sequences: 2 } }));
    if (manifest.task === "text-classification") await writeFile(join(folder, "prompts", "classify.txt"), "Email:\n{{input}}\nLabel:");
  }
  server = await startTestServer({ models: { repository: join(dir, "models"), serve: "all" } });
  const llama = (await llamaRuntime("cpu", 1)).llama;
  model = await llama.loadModel({ modelPath: join(dir, "models", "chat", "1", "model.gguf") });
  embedder = await llama.loadModel({ modelPath: join(dir, "models", "embedder", "1", "model.gguf") });
}, 120_000);

afterAll(async () => {
  await server?.close();
  await model?.dispose();
  await embedder?.dispose();
  await rm(dir, { recursive: true, force: true });
});

const MESSAGES = [
  { role: "system", content: "You sort email." },
  { role: "user", content: "Win money now" },
];

describe("a GGUF served as its metadata says", () => {
  it("a text-generation model needs no classify prompt or labels, and refuses classification", async () => {
    const entry = (await (await fetch(`${server.url}/v1/models/chat`)).json()) as Record<string, unknown>;
    expect(entry).toMatchObject({ status: "ready", task: "text-generation", labels: [] });
    const classify = await postJson(server, "/v1/classify", { model: "chat", input: "x" });
    expect([classify.status, classify.json.error.code]).toEqual([400, "ERR_MODEL_CANNOT_CLASSIFY"]);
  });

  it("renders chat messages with the model's chat template, without BOS, and answers as llama.cpp does on that prompt", async () => {
    const answer = await postJson(server, "/v1/chat/completions", { model: "chat", messages: MESSAGES, max_tokens: 8, temperature: 0 });
    expect(answer.status).toBe(200);
    const rendered = "<|system|>\nYou sort email.<|end|>\n<|user|>\nWin money now<|end|>\n<|assistant|>\n";
    const tokens = model.tokenize(rendered);
    // No BOS in front (add_bos_token false); with the generic prompt the count would differ.
    expect(answer.json.usage.prompt_tokens).toBe(tokens.length);
    const context = await model.createContext({ contextSize: CONTEXT, sequences: 1, threads: 1 });
    try {
      const completion = new LlamaCompletion({ contextSequence: context.getSequence() });
      const direct = await completion.generateCompletion(tokens, { maxTokens: 8, temperature: 0, customStopTriggers: ["<|end|>"] });
      expect(answer.json.choices[0].message.content).toBe(direct);
    } finally {
      await context.dispose();
    }
  });

  it("takes the context length from the file", async () => {
    const answer = await postJson(server, "/v1/chat/completions", { model: "chat", messages: MESSAGES, max_tokens: CONTEXT });
    expect(answer.status).toBe(400);
    expect(answer.json.error.message).toContain(`exceed the model's context of ${CONTEXT} tokens`);
  });

  it("classifies without BOS when the metadata says add_bos_token false", async () => {
    const backend = server.context.registry.get("nobos-classifier") as GgufBackend;
    const text = "Win money now";
    const served = await backend.labelLogProbabilities(text);
    const context = await model.createContext({ contextSize: CONTEXT, sequences: 1, threads: 1 });
    try {
      const tokenize = (t: string) => Array.from(model.tokenize(t), Number);
      // Built as the server builds it, with no BOS in front.
      const prompt = promptTokens(tokenize, undefined, parseClassifyPrompt("Email:\n{{input}}\nLabel:", "classify.txt"), text, { maxInputTokens: 64, maxChars: 100_000 }).tokens;
      const labels = [" ham", " spam"].map((l) => Array.from(model.tokenize(l), Number));
      const direct = await labelLogProbabilities(context.getSequence(), prompt, labels, false, labelCandidates(model, labels));
      served.forEach((p, i) => expect(p).toBeCloseTo(direct[i]!, 4));
    } finally {
      await context.dispose();
    }
  });

  it("serves a GGUF embedding model on /v1/embeddings with the vectors llama.cpp pools, normalised", async () => {
    const entry = (await (await fetch(`${server.url}/v1/models/embedder`)).json()) as Record<string, unknown>;
    // The vector length read from the file (regression: /v1/models showed the manifest as written, without it).
    expect(entry).toMatchObject({ status: "ready", task: "embeddings", dimensions: 32 });
    const client = new OpenAI({ apiKey: "unused", baseURL: `${server.url}/v1`, maxRetries: 0 });
    const texts = ["Win money now", "Minutes of the build meeting", "word ".repeat(200)];
    const served = await client.embeddings.create({ model: "embedder", input: texts });
    expect(served.data.map((d) => d.embedding.length)).toEqual([32, 32, 32]);
    const context = await embedder.createEmbeddingContext({ contextSize: CONTEXT, threads: 1 });
    try {
      for (const [i, text] of texts.entries()) {
        // The long input is cut to limits.maxTokens, as the server says.
        const tokens = embedder.tokenize(text).slice(0, 48);
        const direct = Float32Array.from((await context.getEmbeddingFor(tokens)).vector);
        const norm = Math.hypot(...direct);
        served.data[i]!.embedding.forEach((v, d) => expect(v).toBeCloseTo(direct[d]! / norm, 4));
      }
    } finally {
      await context.dispose();
    }
    const raw = await postJson(server, "/v1/embeddings", { model: "embedder", input: texts });
    expect(raw.json.data.map((d: { truncated: boolean }) => d.truncated)).toEqual([false, false, true]);
    const classify = await postJson(server, "/v1/classify", { model: "embedder", input: "x" });
    expect([classify.status, classify.json.error.code]).toEqual([400, "ERR_MODEL_CANNOT_CLASSIFY"]);
  });
});
