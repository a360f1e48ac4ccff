import { execFile } from "node:child_process";
import { copyFile, cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadLocalTokenizer } from "../../server/backends/onnx/tokenizer.js";
import type { RunningServer } from "../../server/http/start-server.js";
import { PYTHON, torchMissing } from "../helpers/python-torch.js";
import { MODELS_DIR, postJson, startTestServer } from "../helpers/server.js";

/**
 * Models made outside this project: a BERT encoder built and exported by PyTorch itself (Debian's python3-torch,
 * see test/helpers/torch_exports.py), laid out as optimum and sentence-transformers write them, served with no
 * model.json. Each answer, batched with padding, must equal a direct onnxruntime-node run of the same files, one
 * text at a time: a transformer's attention mask and segment ids leave no room for a padding or feeding mistake.
 */
const SCRIPT = fileURLToPath(new URL("../helpers/torch_exports.py", import.meta.url));
const BUNDLED = join(MODELS_DIR, "email-spam", "1");
const POSITIONS = 64;
const missing = torchMissing("foreign-model tests");

let dir: string;
let server: RunningServer;
const TEXTS = ["A lovely, warm film.", "Dreadful service, never again!", "ok", Array.from({ length: 120 }, (_, i) => `token${i % 17}`).join(" ")];

/** The graph run directly on one text (no padding), truncated to the model's positions with [SEP] last. */
async function direct(folder: string, graph: string, output: string): Promise<Float32Array[]> {
  const tokenizer = await loadLocalTokenizer(folder);
  const session = await ort.InferenceSession.create(join(folder, graph));
  try {
    const rows: Float32Array[] = [];
    for (const text of TEXTS) {
      const ids = (tokenizer.encode(text) as number[]).slice(0, POSITIONS);
      if (ids.length === POSITIONS) ids[POSITIONS - 1] = tokenizer.convert_tokens_to_ids("[SEP]") as number;
      const dims = [1, ids.length];
      const feeds = {
        input_ids: new ort.Tensor("int64", BigInt64Array.from(ids.map(BigInt)), dims),
        attention_mask: new ort.Tensor("int64", new BigInt64Array(ids.length).fill(1n), dims),
        token_type_ids: new ort.Tensor("int64", new BigInt64Array(ids.length), dims),
      };
      rows.push((await session.run(feeds))[output]!.data as Float32Array);
    }
    return rows;
  } finally {
    await session.release();
  }
}

const softmax = (logits: Float32Array) => {
  const max = Math.max(...logits);
  const exp = [...logits].map((l) => Math.exp(l - max));
  return exp.map((e) => e / exp.reduce((a, b) => a + b, 0));
};

/** Mean of the token vectors, normalised: sentence-transformers' Pooling (mean) and Normalize. */
function meanNormalised(tokens: Float32Array, width: number): number[] {
  const count = tokens.length / width;
  const mean = Array.from({ length: width }, (_, d) => {
    let sum = 0;
    for (let t = 0; t < count; t++) sum += tokens[t * width + d]!;
    return sum / count;
  });
  const norm = Math.sqrt(mean.reduce((a, v) => a + v * v, 0));
  return mean.map((v) => v / norm);
}

beforeAll(async () => {
  if (missing) return;
  dir = await mkdtemp(join(tmpdir(), "foreign-"));
  await promisify(execFile)(PYTHON, [SCRIPT, join(dir, "exports"), "20000"], { timeout: 180_000 });
  for (const [from, to] of [["classifier", "sentiment"], ["tagger", "tagger"], ["embedder", "minilm"]] as const) {
    await cp(join(dir, "exports", from), join(dir, "models", to, "1"), { recursive: true });
    for (const file of ["tokenizer.json", "tokenizer_config.json"]) await copyFile(join(BUNDLED, file), join(dir, "models", to, "1", file));
  }
  server = await startTestServer({ models: { repository: join(dir, "models"), serve: "all" } });
}, 240_000);

afterAll(async () => {
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.skipIf(missing !== undefined)("models exported by PyTorch, served with no model.json", () => {
  it("an optimum-layout BERT classifier: labels from id2label, token_type_ids fed, the same probabilities batched as alone", async () => {
    const folder = join(dir, "models", "sentiment", "1");
    const answer = await postJson(server, "/v1/classify", { model: "sentiment", input: TEXTS, route: "specialist" });
    expect(answer.status).toBe(200);
    const expected = (await direct(folder, "model.onnx", "logits")).map(softmax);
    answer.json.results.forEach((result: { scores: Record<string, number>; truncated: boolean; tokens: number }, i: number) => {
      ["negative", "neutral", "positive"].forEach((label, k) => expect(result.scores[label]).toBeCloseTo(expected[i]![k]!, 5));
      expect(result.truncated).toBe(i === 3);
    });
    expect(answer.json.results[3].tokens).toBe(POSITIONS);
  });

  it("a multi-label classifier (problem_type multi_label_classification): a sigmoid per label, the labels at 0.5 or above, the set's confidence", async () => {
    const entry = (await (await fetch(`${server.url}/v1/models/tagger`)).json()) as Record<string, unknown>;
    expect(entry).toMatchObject({ status: "ready", task: "text-classification", multi_label: true, labels: ["billing", "outage", "feature"] });
    const answer = await postJson(server, "/v1/classify", { model: "tagger", input: TEXTS });
    expect(answer.status).toBe(200);
    const logits = await direct(join(dir, "models", "tagger", "1"), "model.onnx", "logits");
    const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
    const sides = new Set<boolean>();
    answer.json.results.forEach((result: { labels: string[]; scores: Record<string, number>; confidence: number; escalated: boolean }, i: number) => {
      const p = [...logits[i]!].map(sigmoid);
      ["billing", "outage", "feature"].forEach((label, k) => expect(result.scores[label]).toBeCloseTo(p[k]!, 5));
      expect(result.labels).toEqual(["billing", "outage", "feature"].filter((_, k) => p[k]! >= 0.5));
      expect(result.confidence).toBeCloseTo(p.reduce((c, x) => c * Math.max(x, 1 - x), 1), 5);
      expect(result.escalated).toBe(false);
      p.forEach((x) => sides.add(x >= 0.5));
    });
    // Some labels chosen and some not, so the 0.5 cut is tested both ways.
    expect([...sides].sort()).toEqual([false, true]);
    const frontier = await postJson(server, "/v1/classify", { model: "tagger", input: "x", route: "frontier" });
    expect([frontier.status, frontier.json.error.code]).toEqual([400, "ERR_INVALID_REQUEST"]);
    expect(frontier.json.error.message).toContain("multi-label");
  });

  it("a sentence-transformers BERT embedder: mean pooling under the mask and normalisation, batched as alone", async () => {
    const folder = join(dir, "models", "minilm", "1");
    const answer = await postJson(server, "/v1/embeddings", { model: "minilm", input: TEXTS });
    expect(answer.status).toBe(200);
    const expected = (await direct(folder, join("onnx", "model.onnx"), "last_hidden_state")).map((tokens) => meanNormalised(tokens, 32));
    answer.json.data.forEach((item: { embedding: number[] }, i: number) => {
      expect(item.embedding).toHaveLength(32);
      item.embedding.forEach((v, d) => expect(v).toBeCloseTo(expected[i]![d]!, 5));
    });
  });
});
