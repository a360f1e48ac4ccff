import { cp, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../server/http/start-server.js";
import { readManifest } from "../../server/models/manifest-validation.js";
import { DEFAULT_BERT_SETTINGS } from "../../training/bert/bert-settings.js";
import { trainBertSpecialist } from "../../training/bert/train-bert-specialist.js";
import { loadSplits } from "../../training/data/load-splits.js";
import { evaluateModelFolder } from "../../training/evaluation/evaluate-model.js";
import type { TrainingMetrics } from "../../training/model-folder/training-metrics.js";
import { PYTHON, torchMissing } from "../helpers/python-torch.js";
import { postJson, startTestServer } from "../helpers/server.js";

const missing = torchMissing("BERT training tests");
// 60 messages of each corpus folder and a one-layer encoder of width 32: trains in seconds on one core.
const data = { kind: "email", protocol: "random", limitPerGroup: 60 } as const;
const settings = { ...DEFAULT_BERT_SETTINGS, vocabularySize: 3000, hidden: 32, layers: 1, heads: 2, intermediate: 64, maxTokens: 64, epochs: 4, batchSize: 16, learningRate: 3e-3, threads: 1 };
const fractions = { testFraction: 0.2, validationFraction: 0.1 };
let root: string;
let modelDir: string;
let metrics: TrainingMetrics;

beforeAll(async () => {
  if (missing) return;
  root = await mkdtemp(join(tmpdir(), "train-bert-"));
  modelDir = join(root, "repository", "bert-spam", "1");
  metrics = await trainBertSpecialist({
    output: modelDir,
    name: "bert-spam",
    version: "1",
    description: "test fixture",
    data,
    ...fractions,
    settings,
    thresholdTarget: { kind: "kept-accuracy", value: 0.98 },
    python: PYTHON,
  });
}, 300_000);

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe.skipIf(missing !== undefined)("train --arch bert", () => {
  it("learns the task and exports a graph that ONNX Runtime runs as PyTorch does", () => {
    expect(metrics.data.sizes.test).toBeGreaterThan(50);
    // Chance is about 0.5 to 0.7 on this mix; a model that did not learn (or an export that scrambles inputs) stays there.
    expect(metrics.test.accuracy).toBeGreaterThan(0.85);
    expect(metrics.onnxParity).toMatchObject({ samples: 16, passed: true });
    expect(metrics.onnxParity!.maxScaledDifference).toBeLessThan(1e-3);
    expect(metrics.model.parameters).toBeGreaterThan(3000 * 32);
  });

  it("writes the folder in Hugging Face optimum's layout, with a manifest holding the calibration", async () => {
    const config = JSON.parse(await readFile(join(modelDir, "config.json"), "utf8"));
    expect(config).toMatchObject({ architectures: ["BertForSequenceClassification"], model_type: "bert", hidden_size: 32, num_hidden_layers: 1, max_position_embeddings: 64 });
    expect(config.id2label).toEqual({ "0": "ham", "1": "spam" });
    const manifest = await readManifest(modelDir);
    expect(manifest).toMatchObject({ name: "bert-spam", format: "onnx", labels: ["ham", "spam"], limits: { maxTokens: 64 } });
    expect(manifest.calibration.temperature).toBe(metrics.calibration.temperature);
    expect(manifest.threshold).toBe(metrics.threshold.threshold);
    await expect(readFile(join(modelDir, "tokenizer.json"), "utf8")).resolves.toContain("WordPiece");
  });

  it("evaluates through the serving backend to the accuracy measured at training", async () => {
    const { test } = await loadSplits(data, { seed: settings.seed, ...fractions });
    const evaluation = await evaluateModelFolder(modelDir, test);
    expect(evaluation.report.accuracy).toBeCloseTo(metrics.test.accuracy, 6);
  });

  it("serves without its model.json as any optimum export does: labels from id2label, the same answers batched", async () => {
    const bare = join(root, "bare", "bert-spam", "1");
    await cp(modelDir, bare, { recursive: true });
    await rm(join(bare, "model.json"));
    await rm(join(bare, "metrics.json"));
    let server: RunningServer | undefined;
    try {
      server = await startTestServer({ models: { repository: join(root, "bare"), serve: ["bert-spam"] } });
      const texts = ["Win a free prize now, click here", "Meeting moved to 3pm, see agenda attached", "ok"];
      const together = await postJson(server, "/v1/classify", { model: "bert-spam", input: texts, route: "specialist" });
      expect(together.status).toBe(200);
      for (const [i, text] of texts.entries()) {
        const alone = await postJson(server, "/v1/classify", { model: "bert-spam", input: text, route: "specialist" });
        expect(alone.json.results[0].label).toBe(together.json.results[i].label);
        expect(alone.json.results[0].scores.spam).toBeCloseTo(together.json.results[i].scores.spam, 5);
        expect(["ham", "spam"]).toContain(alone.json.results[0].label);
      }
    } finally {
      await server?.close();
    }
  });
});
