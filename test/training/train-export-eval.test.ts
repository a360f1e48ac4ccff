import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadLocalTokenizer } from "../../server/backends/onnx/tokenizer.js";
import { readManifest } from "../../server/models/manifest-validation.js";
import { calibrateSemanticCache } from "../../training/calibration/semantic-calibration.js";
import { loadSplits } from "../../training/data/load-splits.js";
import type { LabelledExample } from "../../server/evaluation/example.js";
import { evaluateModelFolder } from "../../training/evaluation/evaluate-model.js";
import { regressionGate } from "../../server/evaluation/regression-gate.js";
import type { TrainingMetrics } from "../../training/model-folder/training-metrics.js";
import { DEFAULT_TRAIN_OPTIONS, trainSpecialist } from "../../training/train-specialist.js";

// A small fixture: 120 messages of each corpus folder (600 in all) trains in a few seconds.
const data = { kind: "email", protocol: "random", limitPerGroup: 120 } as const;
let root: string;
let modelDir: string;
let metrics: TrainingMetrics;
let test: LabelledExample[];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "train-"));
  modelDir = join(root, "small-spam");
  metrics = await trainSpecialist({
    ...DEFAULT_TRAIN_OPTIONS,
    output: modelDir,
    name: "small-spam",
    version: "1",
    description: "test fixture",
    data,
    vocabularySize: 4000,
    buckets: 4096,
    thresholdTarget: { kind: "kept-accuracy", value: 0.98 },
    frontierPrompt: "training/prompts/email-spam.txt",
  });
  test = (await loadSplits(data, DEFAULT_TRAIN_OPTIONS)).test;
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("training a specialist", () => {
  it("reaches ≥ 93% test accuracy on the small fixture", () => {
    expect(metrics.data.sizes.test).toBeGreaterThan(100);
    expect(metrics.test.accuracy).toBeGreaterThanOrEqual(0.93);
  });

  it("writes a complete, valid model folder", async () => {
    const manifest = await readManifest(modelDir);
    expect(manifest).toMatchObject({ name: "small-spam", format: "onnx", labels: ["ham", "spam"] });
    expect(manifest.calibration.temperature).toBe(metrics.calibration.temperature);
    expect(manifest.threshold).toBe(metrics.threshold.threshold);
    expect(manifest.escalation.prompt).toBe("prompts/frontier.txt");
    // The semantic cache's threshold, chosen like the escalation threshold: on train and validation only.
    const splits = await loadSplits(data, DEFAULT_TRAIN_OPTIONS);
    const semantic = calibrateSemanticCache([...splits.train, ...splits.validation], 0.005, manifest.semanticCache?.calibratedOn ?? "");
    expect(manifest.semanticCache).toEqual(semantic.block);
    expect(manifest.semanticCache?.calibratedOn ?? "train+validation").toMatch(/train\+validation/);
    expect(await readFile(join(modelDir, "prompts/frontier.txt"), "utf8")).toContain("{{input}}");
    const card = await readFile(join(modelDir, "card.md"), "utf8");
    expect(card).toContain("## Quality on the held-out test split");
    const saved = JSON.parse(await readFile(join(modelDir, "metrics.json"), "utf8")) as TrainingMetrics;
    expect(saved.data.hashes.test).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(saved.test.coverage.map((c) => c.coverage)).toEqual([1, 0.98, 0.95, 0.9, 0.8]);
    expect(Object.keys(saved.test.perClass)).toEqual(["ham", "spam"]);
    // The drift reference: the validation split's answers, the same share below the threshold as the threshold's own.
    expect(saved.reference).toMatchObject({ count: saved.data.sizes.validation, escalationRate: saved.threshold.escalationRate });
    expect(saved.reference!.confidenceHistogram!.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
  });

  it("exports ONNX whose logits match the TypeScript model within 1e-4", () => {
    expect(metrics.onnxParity!.passed).toBe(true);
    expect(metrics.onnxParity!.samples).toBeGreaterThan(30);
    expect(metrics.onnxParity!.maxAbsDifference).toBeLessThanOrEqual(1e-4);
  });

  it("writes a tokenizer that transformers.js loads and round-trips", async () => {
    const tokenizer = await loadLocalTokenizer(modelDir);
    const ids = tokenizer.encode("Click here to win money");
    expect(ids[0]).toBe(tokenizer.convert_tokens_to_ids("[CLS]"));
    expect(ids.at(-1)).toBe(tokenizer.convert_tokens_to_ids("[SEP]"));
    expect(tokenizer.decode(ids, { skip_special_tokens: true })).toBe("click here to win money");
  });

  it("chooses a threshold that meets its target on validation", () => {
    expect(metrics.threshold.met).toBe(true);
    expect(metrics.threshold.keptAccuracy).toBeGreaterThanOrEqual(0.98);
  });
});

describe("evaluation gate", () => {
  it("evaluates through the serving backend and matches the training report", async () => {
    const evaluation = await evaluateModelFolder(modelDir, test);
    expect(evaluation.report.count).toBe(metrics.test.count);
    expect(evaluation.report.accuracy).toBeCloseTo(metrics.test.accuracy, 6);
    expect(Object.keys(evaluation.report.perCategory).sort()).toEqual(["easy-ham-1", "easy-ham-2", "hard-ham-1", "spam-1", "spam-2"]);
    expect(regressionGate(metrics.test, evaluation.report, 0.01).passed).toBe(true);
  });

  it("fails a degraded model: the same weights with the label order swapped in model.json", async () => {
    const degraded = join(root, "degraded");
    await cp(modelDir, degraded, { recursive: true });
    const manifest = JSON.parse(await readFile(join(degraded, "model.json"), "utf8")) as { labels: string[] };
    manifest.labels.reverse();
    await writeFile(join(degraded, "model.json"), JSON.stringify(manifest));
    const evaluation = await evaluateModelFolder(degraded, test);
    const gate = regressionGate(metrics.test, evaluation.report, 0.01);
    expect(gate.passed).toBe(false);
    expect(gate.checks.filter((c) => !c.passed).map((c) => c.metric)).toEqual(expect.arrayContaining(["accuracy", "F1[spam]", "accuracy[spam-1]"]));
    // Categories with fewer golden items than minSupport (20) are reported, not gated.
    for (const check of gate.checks) expect(check.skipped !== undefined).toBe(check.support !== undefined && check.support < 20);
  });
});
