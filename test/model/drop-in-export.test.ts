import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as ort from "onnxruntime-node";
import { runSpecialistCli } from "../../bench/flywheel/specialist-cli.js";
import { ELEM_FLOAT, GraphBuilder, encodeModel, onnx, tensorValueInfo } from "../../training/export/onnx-builder.js";
import { loadLocalTokenizer } from "../../server/backends/onnx/tokenizer.js";
import type { RunningServer } from "../../server/http/start-server.js";
import { MODELS_DIR, postJson, startTestServer } from "../helpers/server.js";

/**
 * A folder laid out as Hugging Face optimum exports a sequence classifier (model.onnx, config.json with id2label,
 * tokenizer files; no model.json) is served as it is, and answers as a direct onnxruntime run of the same files.
 * Regression (issue 16): such a folder was not served at all, and nothing said why.
 */
const CLI = ["--import", "tsx", fileURLToPath(new URL("../../cli/main.ts", import.meta.url))];
const BUNDLED = join(MODELS_DIR, "email-spam", "1");
const POSITIONS = 64;
let repository: string;
let server: RunningServer;

async function exportFolder(dir: string, config: Record<string, unknown>): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const file of ["model.onnx", "tokenizer.json", "tokenizer_config.json"]) await copyFile(join(BUNDLED, file), join(dir, file));
  await writeFile(join(dir, "special_tokens_map.json"), JSON.stringify({ cls_token: "[CLS]", sep_token: "[SEP]", pad_token: "[PAD]", unk_token: "[UNK]" }));
  await writeFile(join(dir, "config.json"), JSON.stringify({ model_type: "bert", max_position_embeddings: POSITIONS, ...config }));
}

const CLASSIFIER = { architectures: ["BertForSequenceClassification"], id2label: { "0": "negative", "1": "positive" }, label2id: { negative: 0, positive: 1 } };
const TEXTS = ["Win a free cruise now, click here!!!", "Lunch tomorrow at noon? Bring the report.", Array.from({ length: 300 }, (_, i) => `word${i}`).join(" ")];

/** The same files run directly: tokenizer from disk, truncated at the model's positions, softmax of the logits. */
async function direct(dir: string): Promise<number[][]> {
  const tokenizer = await loadLocalTokenizer(dir);
  const session = await ort.InferenceSession.create(join(dir, "model.onnx"));
  try {
    const rows: number[][] = [];
    for (const text of TEXTS) {
      const ids = (tokenizer.encode(text) as number[]).slice(0, POSITIONS);
      if (ids.length === POSITIONS) ids[POSITIONS - 1] = tokenizer.convert_tokens_to_ids("[SEP]") as number;
      const dims = [1, ids.length];
      const out = await session.run({ input_ids: new ort.Tensor("int64", BigInt64Array.from(ids.map(BigInt)), dims), attention_mask: new ort.Tensor("int64", new BigInt64Array(ids.length).fill(1n), dims) });
      const logits = [...(out.logits!.data as Float32Array)];
      const max = Math.max(...logits);
      const exp = logits.map((l) => Math.exp(l - max));
      rows.push(exp.map((e) => e / exp.reduce((a, b) => a + b, 0)));
    }
    return rows;
  } finally {
    await session.release();
  }
}

beforeAll(async () => {
  repository = await mkdtemp(join(tmpdir(), "drop-in-"));
  await exportFolder(join(repository, "reviews", "1"), CLASSIFIER);
  await exportFolder(join(repository, "tuned", "1"), CLASSIFIER);
  await writeFile(join(repository, "tuned", "1", "model.json"), JSON.stringify({ threshold: 0.9, escalation: { onLowConfidence: "none" } }));
  await exportFolder(join(repository, "embedder", "1"), { architectures: ["BertModel"] });
  server = await startTestServer({ models: { repository, serve: "all" } });
}, 60_000);

afterAll(async () => {
  await server?.close();
  await rm(repository, { recursive: true, force: true });
});

describe("a Hugging Face export dropped into the repository", () => {
  it("serves with labels from id2label and answers as a direct onnxruntime run, truncating at the model's positions", async () => {
    const models = (await (await fetch(`${server.url}/v1/models`)).json()) as { data: Array<Record<string, any>> };
    expect(models.data.find((m) => m.id === "reviews")).toMatchObject({ status: "ready", version: "1", labels: ["negative", "positive"], task: "text-classification", limits: { max_tokens: POSITIONS } });
    const answer = await postJson(server, "/v1/classify", { model: "reviews", input: TEXTS, route: "specialist" });
    expect(answer.status).toBe(200);
    const expected = await direct(join(repository, "reviews", "1"));
    answer.json.results.forEach((result: { scores: Record<string, number>; truncated: boolean }, i: number) => {
      expect(result.scores.negative).toBeCloseTo(expected[i]![0]!, 5);
      expect(result.scores.positive).toBeCloseTo(expected[i]![1]!, 5);
      expect(result.truncated).toBe(i === 2);
    });
  });

  it("a model.json beside the export changes only what it says", async () => {
    const answer = await postJson(server, "/v1/classify", { model: "tuned", input: TEXTS[1] });
    expect(answer.status).toBe(200);
    const models = (await (await fetch(`${server.url}/v1/models/tuned`)).json()) as Record<string, any>;
    expect(models).toMatchObject({ labels: ["negative", "positive"], threshold: 0.9 });
  });

  it("an export that is not a sequence classifier is reported with the reason, and the others serve", async () => {
    const entry = (await (await fetch(`${server.url}/v1/models/embedder`)).json()) as Record<string, any>;
    expect(entry).toMatchObject({ status: "failed", error: { code: "ERR_MANIFEST_INVALID" } });
    expect(entry.error.message).toContain("config.json architectures: BertModel is neither a sequence classifier");
  });

  it("specialist inspect says what would be served and where each setting comes from", async () => {
    const run = await runSpecialistCli(CLI, ["inspect", join(repository, "tuned")]);
    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain("serves tuned@1 (onnx, text-classification)");
    expect(run.output).toMatch(/labels +negative, positive +config\.json id2label/);
    expect(run.output).toMatch(/threshold +0\.9 +model\.json/);
    expect(run.output).toMatch(/task +text-classification +config\.json architectures: BertForSequenceClassification/);
    expect(run.output).toMatch(/max tokens +64 /);
    expect(run.output).toContain("graph inputs: input_ids int64 [batch, sequence]");
    expect(run.output).toContain("warning: no calibration");
  }, 60_000);
});

/**
 * A graph whose id inputs are int32 (as some exporters write them) and that takes token_type_ids: its logits are the
 * sums of the ids (÷100) and of mask + segment ids, so a wrong type, a missing input or a non-zero segment shows.
 */
function int32Graph(): Uint8Array {
  const g = new GraphBuilder();
  const INT32 = onnx.TensorProto.DataType.INT32;
  const sum = (input: string) => g.op("ReduceSum", [g.op("Cast", [input], [GraphBuilder.intAttribute("to", ELEM_FLOAT)])], [{ name: "axes", type: onnx.AttributeProto.AttributeType.INTS, ints: [1] }, GraphBuilder.intAttribute("keepdims", 1)]);
  const ids = g.op("Mul", [sum("input_ids"), g.floatTensor("hundredth", [], Float32Array.of(0.01))]);
  const rest = g.op("Add", [sum("attention_mask"), sum("token_type_ids")]);
  g.op("Concat", [ids, rest], [GraphBuilder.intAttribute("axis", 1)], "logits");
  return encodeModel(
    {
      name: "int32-ids",
      node: g.nodes,
      initializer: g.initializers,
      input: ["input_ids", "attention_mask", "token_type_ids"].map((name) => tensorValueInfo(name, INT32, ["batch", "sequence"])),
      output: [tensorValueInfo("logits", ELEM_FLOAT, ["batch", 2])],
    },
    11,
    "test graph with int32 inputs",
  );
}

describe("an export whose graph takes int32 ids and token_type_ids", () => {
  it("is fed the types its graph declares, segment ids all zero", async () => {
    const dir = join(repository, "int32", "1");
    await exportFolder(dir, CLASSIFIER);
    await writeFile(join(dir, "model.onnx"), int32Graph());
    const local = await startTestServer({ models: { repository, serve: ["int32"] } });
    try {
      const text = "one two three";
      const answer = await postJson(local, "/v1/classify", { model: "int32", input: text, route: "specialist" });
      expect(answer.status).toBe(200);
      const ids = ((await loadLocalTokenizer(dir)).encode(text) as number[]).map(Number);
      const logits = [ids.reduce((a, b) => a + b, 0) * 0.01, ids.length];
      const max = Math.max(...logits);
      const p = logits.map((l) => Math.exp(l - max));
      expect(answer.json.results[0].scores.positive).toBeCloseTo(p[1]! / (p[0]! + p[1]!), 5);
    } finally {
      await local.close();
    }
  });
});
