import { describe, expect, it } from "vitest";
import { ModelManifest } from "../../server/models/manifest.js";
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
