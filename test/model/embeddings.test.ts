import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI, { toFile } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadLocalTokenizer } from "../../server/backends/onnx/tokenizer.js";
import type { RunningServer } from "../../server/http/start-server.js";
import { ELEM_FLOAT, ELEM_INT64, GraphBuilder, encodeModel, tensorValueInfo } from "../../training/export/onnx-builder.js";
import { createRng } from "../../training/random.js";
import { addVersion } from "../helpers/model-versions.js";
import { MODELS_DIR, postJson, startTestServer } from "../helpers/server.js";

/**
 * /v1/embeddings on a sentence-transformers folder (modules.json, 1_Pooling/config.json, 2_Normalize, onnx/model.onnx,
 * no model.json), checked against the same pooling computed here from the graph's own weights, and through the
 * official openai client (which asks for base64 by default).
 */
const BUNDLED = join(MODELS_DIR, "email-spam", "1");
const VOCAB = 20_000;
const DIMS = 8;
let repository: string;
let server: RunningServer;
let table: Float32Array;

/** A token-embedding graph: last_hidden_state[b, t] = table[input_ids[b, t]] (attention_mask is taken, as BERT's is). */
function lookupGraph(weights: Float32Array): Uint8Array {
  const g = new GraphBuilder();
  const gathered = g.op("Gather", [g.floatTensor("table", [VOCAB, DIMS], weights), "input_ids"], [GraphBuilder.intAttribute("axis", 0)]);
  const mask = g.op("Cast", ["attention_mask"], [GraphBuilder.intAttribute("to", ELEM_FLOAT)]);
  const zero = g.op("Mul", [g.op("ReduceSum", [mask], [GraphBuilder.intAttribute("keepdims", 0)]), g.floatTensor("zero", [], Float32Array.of(0))]);
  g.op("Add", [gathered, zero], [], "last_hidden_state");
  return encodeModel(
    {
      name: "lookup",
      node: g.nodes,
      initializer: g.initializers,
      input: [tensorValueInfo("input_ids", ELEM_INT64, ["batch", "sequence"]), tensorValueInfo("attention_mask", ELEM_INT64, ["batch", "sequence"])],
      output: [tensorValueInfo("last_hidden_state", ELEM_FLOAT, ["batch", "sequence", DIMS])],
    },
    11,
    "test embedding graph",
  );
}

async function sentenceTransformersFolder(dir: string, pooling: "mean" | "cls"): Promise<void> {
  await mkdir(join(dir, "onnx"), { recursive: true });
  await mkdir(join(dir, "1_Pooling"), { recursive: true });
  for (const file of ["tokenizer.json", "tokenizer_config.json"]) await copyFile(join(BUNDLED, file), join(dir, file));
  await writeFile(join(dir, "onnx", "model.onnx"), lookupGraph(table));
  await writeFile(join(dir, "config.json"), JSON.stringify({ architectures: ["BertModel"], model_type: "bert", hidden_size: DIMS, max_position_embeddings: 32, id2label: { "0": "LABEL_0", "1": "LABEL_1" } }));
  await writeFile(
    join(dir, "modules.json"),
    JSON.stringify([
      { idx: 0, name: "0", path: "", type: "sentence_transformers.models.Transformer" },
      { idx: 1, name: "1", path: "1_Pooling", type: "sentence_transformers.models.Pooling" },
      { idx: 2, name: "2", path: "2_Normalize", type: "sentence_transformers.models.Normalize" },
    ]),
  );
  await writeFile(join(dir, "1_Pooling", "config.json"), JSON.stringify({ word_embedding_dimension: DIMS, pooling_mode_cls_token: pooling === "cls", pooling_mode_mean_tokens: pooling === "mean" }));
}

/** The pooled, normalised vector computed here from the table: what sentence-transformers would give. */
async function expected(text: string, pooling: "mean" | "cls", dims = DIMS): Promise<number[]> {
  const tokenizer = await loadLocalTokenizer(join(repository, "minilm", "1"));
  const ids = (tokenizer.encode(text) as number[]).slice(0, pooling === "cls" ? 1 : 32);
  if (pooling === "mean" && ids.length === 32) ids[31] = 3;
  const vector = new Array<number>(DIMS).fill(0);
  for (const id of ids) for (let d = 0; d < DIMS; d++) vector[d]! += table[id * DIMS + d]! / ids.length;
  const cut = vector.slice(0, dims);
  const norm = Math.sqrt(cut.reduce((a, v) => a + v * v, 0));
  return cut.map((v) => v / norm);
}

const TEXTS = ["the meeting moved to three", "Win a FREE cruise", Array.from({ length: 60 }, (_, i) => `word${i}`).join(" ")];

beforeAll(async () => {
  const rng = createRng(7);
  table = Float32Array.from({ length: VOCAB * DIMS }, () => rng() * 2 - 1);
  repository = await mkdtemp(join(tmpdir(), "embeddings-"));
  await sentenceTransformersFolder(join(repository, "minilm", "1"), "mean");
  await addVersion(repository, "1");
  await sentenceTransformersFolder(join(repository, "cls-model", "1"), "cls");
  await writeFile(join(repository, "cls-model", "1", "model.json"), JSON.stringify({ embedding: { pooling: "cls", normalize: true, dimensions: DIMS, truncatable: true } }));
  server = await startTestServer({ models: { repository, serve: ["minilm", "cls-model", "email-spam"] }, batch: { filesDir: join(repository, "files") } });
}, 60_000);

afterAll(async () => {
  await server?.close();
  await rm(repository, { recursive: true, force: true });
});

describe("POST /v1/embeddings", () => {
  it("pools under the attention mask and normalises, batched with padding, as sentence-transformers would", async () => {
    const answer = await postJson(server, "/v1/embeddings", { model: "minilm", input: TEXTS });
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ object: "list", model: "minilm", version: "1", usage: { prompt_tokens: expect.any(Number) } });
    for (const [i, text] of TEXTS.entries()) {
      const item = answer.json.data[i];
      expect(item).toMatchObject({ object: "embedding", index: i, truncated: i === 2 });
      const want = await expected(text, "mean");
      item.embedding.forEach((v: number, d: number) => expect(v).toBeCloseTo(want[d]!, 5));
    }
    const models = (await (await fetch(`${server.url}/v1/models/minilm`)).json()) as Record<string, unknown>;
    expect(models).toMatchObject({ task: "embeddings", dimensions: DIMS, labels: [] });
  });

  it("works unchanged with the official openai client, base64 (its default) and float", async () => {
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
    const viaBase64 = await client.embeddings.create({ model: "minilm", input: TEXTS.slice(0, 2) });
    const viaFloat = await client.embeddings.create({ model: "minilm", input: TEXTS.slice(0, 2), encoding_format: "float" });
    for (const [i, text] of TEXTS.slice(0, 2).entries()) {
      const want = await expected(text, "mean");
      viaBase64.data[i]!.embedding.forEach((v, d) => expect(v).toBeCloseTo(want[d]!, 5));
      expect(viaFloat.data[i]!.embedding).toEqual(viaBase64.data[i]!.embedding);
    }
    expect(viaFloat.usage.prompt_tokens).toBeGreaterThan(0);
  });

  it("CLS pooling, and fewer dimensions for a model marked truncatable, normalised again", async () => {
    const answer = await postJson(server, "/v1/embeddings", { model: "cls-model", input: "anything at all", dimensions: 4 });
    expect(answer.status).toBe(200);
    const want = await expected("anything at all", "cls", 4);
    expect(answer.json.data[0].embedding).toHaveLength(4);
    answer.json.data[0].embedding.forEach((v: number, d: number) => expect(v).toBeCloseTo(want[d]!, 5));
  });

  it("runs as a Batch API endpoint", async () => {
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
    const lines = TEXTS.map((text, i) => JSON.stringify({ custom_id: `e-${i}`, method: "POST", url: "/v1/embeddings", body: { model: "minilm", input: text } }));
    const file = await client.files.create({ file: await toFile(Buffer.from(lines.join("\n") + "\n"), "embed.jsonl"), purpose: "batch" });
    let batch = await client.batches.create({ input_file_id: file.id, endpoint: "/v1/embeddings", completion_window: "24h" });
    for (const giveUp = Date.now() + 30_000; !["completed", "failed"].includes(batch.status) && Date.now() < giveUp; ) {
      await new Promise((r) => setTimeout(r, 100));
      batch = await client.batches.retrieve(batch.id);
    }
    expect(batch).toMatchObject({ status: "completed", request_counts: { total: 3, completed: 3, failed: 0 } });
    const output = (await (await client.files.content(batch.output_file_id!)).text()).trim().split("\n").map((l) => JSON.parse(l));
    const first = output.find((line: { custom_id: string }) => line.custom_id === "e-0");
    const want = await expected(TEXTS[0]!, "mean");
    first.response.body.data[0].embedding.forEach((v: number, d: number) => expect(v).toBeCloseTo(want[d]!, 5));
  });

  it("refuses what it cannot do, with the code and what to do instead", async () => {
    const cases: Array<[unknown, number, string, string]> = [
      [{ model: "email-spam", input: "x" }, 400, "ERR_MODEL_CANNOT_EMBED", "needs an embedding model"],
      [{ model: "minilm", input: "x", dimensions: 4 }, 400, "ERR_INVALID_REQUEST", "not trained to be cut"],
      [{ model: "minilm", input: [1, 2, 3] }, 400, "ERR_INVALID_REQUEST", "token ids are not accepted"],
      [{ model: "minilm", input: ["ok", "  "] }, 400, "ERR_EMPTY_INPUT", "input 1 is empty"],
      [{ model: "nope", input: "x" }, 404, "ERR_MODEL_NOT_FOUND", "no model named 'nope'"],
      [{ model: "minilm", input: "x", encoding_format: "int8" }, 400, "ERR_INVALID_REQUEST", "encoding_format"],
    ];
    for (const [body, status, code, message] of cases) {
      const answer = await postJson(server, "/v1/embeddings", body);
      expect([answer.status, answer.json.error.code], JSON.stringify(body)).toEqual([status, code]);
      expect(answer.json.error.message).toContain(message);
    }
    const classify = await postJson(server, "/v1/classify", { model: "minilm", input: "x" });
    expect([classify.status, classify.json.error.code]).toEqual([400, "ERR_MODEL_CANNOT_CLASSIFY"]);
  });
});
