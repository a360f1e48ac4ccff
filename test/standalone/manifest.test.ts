import { describe, expect, it } from "vitest";
import { ModelManifest } from "../../server/models/manifest-validation.js";
import { applyOverride } from "../../server/models/repository.js";
import { resolveWorkers } from "../../server/models/model-registry.js";
import { loadConfig } from "../../server/config/load-config.js";

const minimal = { name: "m", version: "1", format: "onnx", task: "text-classification", labels: ["a", "b"] };

describe("model manifest", () => {
  it("fills documented defaults", () => {
    const m = ModelManifest.parse(minimal);
    expect(m.batching).toEqual({ maxBatchSize: 32, maxQueueDelayMs: 0, maxQueueSize: 4096, workers: "auto", intraOpThreads: 1 });
    expect(m.device).toBe("auto");
    expect(m.calibration.temperature).toBe(1);
    expect(m.artifacts).toEqual({ model: "model.onnx", tokenizer: "." });
  });

  it("rejects unknown keys, duplicate labels and bad devices with their paths", () => {
    const r = ModelManifest.safeParse({ ...minimal, labels: ["a", "a"], device: "gpu", extra: 1 });
    expect(r.success).toBe(false);
    const paths = r.error!.issues.map((i) => i.path.join("."));
    expect(paths).toEqual(expect.arrayContaining(["", "device", "labels"]));
  });

  it("rejects a request limit larger than the queue, which could never be queued", () => {
    const r = ModelManifest.safeParse({ ...minimal, limits: { maxInputsPerRequest: 100 }, batching: { maxQueueSize: 50 } });
    expect(r.error?.issues[0]?.path).toEqual(["limits", "maxInputsPerRequest"]);
  });

  it("asks a classifier for 2 labels or more, and an embedding model for its embedding block and no labels", () => {
    const messages = (input: unknown) => ModelManifest.safeParse(input).error?.issues.map((i) => `${i.path.join(".")}: ${i.message}`) ?? [];
    expect(messages({ ...minimal, labels: ["only"] })).toEqual(["labels: a text-classification model needs at least 2 labels, in the order of its output"]);
    const embedder = { name: "e", version: "1", format: "onnx", task: "embeddings", embedding: { dimensions: 384 } };
    expect(ModelManifest.parse(embedder).embedding).toEqual({ output: "last_hidden_state", pooling: "mean", normalize: true, dimensions: 384, truncatable: false });
    expect(messages({ ...embedder, embedding: undefined })).toEqual([expect.stringMatching(/^embedding: an ONNX embeddings model needs an embedding block/)]);
    // A GGUF says its vector length and pooling in its metadata.
    expect(messages({ ...embedder, format: "gguf", embedding: undefined })).toEqual([]);
    expect(messages({ ...embedder, labels: ["a", "b"] })).toEqual(["labels: an embeddings model has no labels"]);
  });

  it("takes a multi-label ONNX classifier only with escalation off, which would send one label", () => {
    const messages = (input: unknown) => ModelManifest.safeParse(input).error?.issues.map((i) => `${i.path.join(".")}: ${i.message}`) ?? [];
    expect(messages({ ...minimal, multiLabel: true })).toEqual([expect.stringMatching(/^escalation: a multi-label model's answers are not sent to the frontier/)]);
    expect(messages({ ...minimal, multiLabel: true, escalation: { onLowConfidence: "none" } })).toEqual([]);
    expect(messages({ ...minimal, format: "gguf", multiLabel: true, escalation: { onLowConfidence: "none" } })).toEqual([expect.stringMatching(/^multiLabel: multi-label classification is served from ONNX/)]);
  });

  it("accepts cuda:N devices", () => {
    expect(ModelManifest.parse({ ...minimal, device: "cuda:1" }).device).toBe("cuda:1");
  });

  it("applies operator overrides and validates the result", () => {
    const m = ModelManifest.parse(minimal);
    expect(applyOverride(m, { batching: { maxBatchSize: 8 }, device: "cpu" })).toMatchObject({ device: "cpu", batching: { maxBatchSize: 8, maxQueueDelayMs: 0 } });
    expect(() => applyOverride(m, { threshold: 2 } as never)).toThrow(/models.overrides.m: threshold/);
  });

  it("shares the cores among ONNX models when workers is auto", () => {
    const m = ModelManifest.parse(minimal);
    expect(resolveWorkers(m, 1, 2)).toBe(2);
    expect(resolveWorkers(m, 2, 2)).toBe(1);
    expect(resolveWorkers(m, 3, 2)).toBe(1);
    expect(resolveWorkers({ ...m, batching: { ...m.batching, workers: 3 } }, 1, 2)).toBe(3);
  });

  it("overrides only the fields given: the manifest keeps the others (regression: zod's partial() applied defaults)", () => {
    const config = loadConfig({
      env: {},
      overrides: { models: { overrides: { m: { batching: { maxBatchSize: 8 }, limits: { maxInputsPerRequest: 10 } } } } },
    });
    const manifest = ModelManifest.parse({ ...minimal, batching: { maxQueueDelayMs: 5, maxQueueSize: 1000 }, limits: { maxTokens: 256 } });
    const merged = applyOverride(manifest, config.models.overrides.m);
    expect(merged.batching).toMatchObject({ maxBatchSize: 8, maxQueueDelayMs: 5, maxQueueSize: 1000 });
    expect(merged.limits).toMatchObject({ maxTokens: 256, maxInputsPerRequest: 10 });
  });
});

describe("backends in the manifest", () => {
  it("validates each backend's own block with its schema, under its format's name", () => {
    const gguf = ModelManifest.parse({ ...minimal, format: "gguf", gguf: { sequences: 2 } });
    expect(gguf.artifacts.model).toBe("model.gguf");
    expect(gguf.backend).toMatchObject({ sequences: 2, prompt: "prompts/classify.txt" });
    // No context size unless set: the backend takes the model's own (its GGUF metadata), at most 4096.
    expect(gguf.backend.contextSize).toBeUndefined();
    const chatOnly = ModelManifest.parse({ name: "c", version: "1", format: "gguf", task: "text-generation" });
    expect(chatOnly.labels).toEqual([]);
    expect(ModelManifest.safeParse({ ...minimal, task: "text-generation", labels: [] }).error?.issues.map((i) => i.message)).toEqual(["text generation is served from GGUF models"]);
    expect(ModelManifest.parse(minimal).backend).toEqual({ outputName: "logits" });
    const bad = ModelManifest.safeParse({ ...minimal, format: "gguf", gguf: { sequences: 0, speed: 1 } });
    expect(bad.error!.issues.map((i) => i.path.join("."))).toEqual(expect.arrayContaining(["gguf.sequences", "gguf"]));
  });

  it("refuses an unknown format, naming the ones this build has, and a block of another backend", () => {
    const unknown = ModelManifest.safeParse({ ...minimal, format: "tensorrt" });
    expect(unknown.error!.issues).toEqual([expect.objectContaining({ path: ["format"], message: "no backend 'tensorrt'; one of onnx, gguf" })]);
    const foreign = ModelManifest.safeParse({ ...minimal, gguf: { sequences: 2 } });
    expect(foreign.error!.issues).toEqual([expect.objectContaining({ path: ["gguf"], message: "only for format gguf" })]);
  });

  it("still reads onnx's outputName at the top level, as model.json files of earlier releases have it", () => {
    expect(ModelManifest.parse({ ...minimal, outputName: "scores" }).backend).toEqual({ outputName: "scores" });
    expect(ModelManifest.parse({ ...minimal, outputName: "scores", onnx: { outputName: "logits" } }).backend).toEqual({ outputName: "logits" });
  });

  it("takes per-host overrides of a backend's block, only the keys given, and refuses unknown ones", () => {
    const config = loadConfig({ env: {}, overrides: { models: { overrides: { m: { gguf: { threads: 1 } } } } } });
    const manifest = ModelManifest.parse({ ...minimal, format: "gguf", gguf: { sequences: 2 } });
    expect(applyOverride(manifest, config.models.overrides.m).backend).toMatchObject({ sequences: 2, threads: 1 });
    expect(() => loadConfig({ env: {}, overrides: { models: { overrides: { m: { gguf: { threads: 0 } } } } } })).toThrow(/models\.overrides\.m\.gguf\.threads/);
    expect(() => loadConfig({ env: {}, overrides: { models: { overrides: { m: { tensorrt: {} } } } } })).toThrow(/Unrecognized key: "tensorrt"/);
  });
});
