import { describe, expect, it } from "vitest";
import { loadConfig } from "../../server/config/load-config.js";
import { ModelManifest } from "../../server/models/manifest-validation.js";
import { resolveWorkers } from "../../server/models/model-registry.js";
import { applyOverride } from "../../server/models/repository.js";
import { ServingError } from "../../server/errors/registry.js";

const onnx = { name: "m", version: "1", format: "onnx", task: "text-classification", labels: ["a", "b"] };
const gguf = { ...onnx, format: "gguf", artifacts: { model: "model.gguf" } };

const issues = (value: unknown) => {
  const r = ModelManifest.safeParse(value);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
};

function configError(overrides: object): ServingError {
  try {
    loadConfig({ env: {}, overrides });
  } catch (error) {
    return error as ServingError;
  }
  throw new Error("expected the configuration to be rejected");
}

describe("placement: replicas across devices", () => {
  it("accepts copies on several GPUs and the CPU, with workers per device, and counts all the workers", () => {
    const m = ModelManifest.parse({ ...onnx, replicas: [{ device: "cuda:0", workers: 2 }, { device: "cuda:1", workers: 2 }, { device: "cpu" }] });
    expect(m.replicas).toEqual([
      { device: "cuda:0", workers: 2 },
      { device: "cuda:1", workers: 2 },
      { device: "cpu", workers: 1 },
    ]);
    // `workers: auto` shares the cores among models; replicas name their workers and are not shared out.
    expect(resolveWorkers(m, 3, 2)).toBe(5);
  });

  it("rejects a device named twice (cuda is cuda:0), bad device names and empty lists, with their paths", () => {
    expect(issues({ ...onnx, replicas: [{ device: "cuda" }, { device: "cuda:0" }] })).toEqual([expect.stringMatching(/^replicas\.1\.device: device 'cuda:0' appears twice/)]);
    expect(issues({ ...onnx, replicas: [{ device: "gpu1" }] })).toEqual([expect.stringMatching(/^replicas\.0\.device: must be auto, cpu, cuda or cuda:<device id>/)]);
    expect(issues({ ...onnx, replicas: [] })).toEqual([expect.stringMatching(/^replicas: /)]);
    expect(issues({ ...onnx, replicas: [{ device: "cpu", workers: 0 }] })).toEqual([expect.stringMatching(/^replicas\.0\.workers: /)]);
    expect(issues({ ...onnx, replicas: [{ device: "cpu", threads: 2 }] })).toEqual([expect.stringMatching(/^replicas\.0: Unrecognized key/)]);
  });

  it("GGUF: one GPU replica and one CPU replica at most, each one context (node-llama-cpp cannot pin a model to one GPU)", () => {
    expect(issues({ ...gguf, replicas: [{ device: "cuda" }, { device: "cpu" }] })).toEqual([]);
    expect(issues({ ...gguf, replicas: [{ device: "cuda:0" }, { device: "cuda:1" }] })).toEqual([expect.stringMatching(/^replicas: a GGUF model can have one GPU replica .*CUDA_VISIBLE_DEVICES=<id>/)]);
    expect(issues({ ...gguf, replicas: [{ device: "cpu", workers: 2 }] })).toEqual([expect.stringMatching(/^replicas\.0\.workers: a GGUF replica is one llama\.cpp context: raise gguf\.sequences/)]);
  });

  it("is set per host in the configuration: replicas replace the manifest's, a device replaces its replicas", () => {
    const config = loadConfig({ env: {}, overrides: { models: { overrides: { m: { replicas: [{ device: "cuda:1", workers: 4 }, { device: "cpu", workers: 1 }] }, n: { device: "cpu" } } } } });
    const manifest = ModelManifest.parse({ ...onnx, replicas: [{ device: "cuda:0" }] });
    expect(applyOverride(manifest, config.models.overrides.m).replicas).toEqual([
      { device: "cuda:1", workers: 4 },
      { device: "cpu", workers: 1 },
    ]);
    const pinned = applyOverride(manifest, config.models.overrides.n);
    expect(pinned.replicas).toBeUndefined();
    expect(pinned.device).toBe("cpu");
    expect(applyOverride(manifest, undefined).replicas).toEqual([{ device: "cuda:0", workers: 1 }]);
  });

  it("rejects a bad replica list in the configuration, naming its path", () => {
    const error = configError({ models: { overrides: { m: { replicas: [{ device: "cuda:0" }, { device: "cuda" }] } } } });
    expect(error.code).toBe("ERR_CONFIG_INVALID");
    expect(error.message).toContain("models.overrides.m.replicas.1.device: device 'cuda' appears twice");
  });

  it("a GGUF override that would break the rules is caught when it is applied to the manifest", () => {
    const manifest = ModelManifest.parse(gguf);
    expect(() => applyOverride(manifest, { replicas: [{ device: "cuda:0", workers: 1 }, { device: "cuda:1", workers: 1 }] })).toThrow(/models\.overrides\.m: replicas: a GGUF model can have one GPU replica/);
  });
});

describe("model version settings", () => {
  it("defaults: no watching, no gate, no canary", () => {
    const config = loadConfig({ env: {} });
    expect(config.models.watchIntervalMs).toBe(0);
  });

  it("accepts a golden-file gate (margin 0.01 by default) and a canary", () => {
    const config = loadConfig({ env: {}, overrides: { models: { overrides: { m: { gate: { golden: "golden.jsonl" }, canary: { version: "2", share: 0.1 } } } } } });
    expect(config.models.overrides.m).toMatchObject({ gate: { golden: "golden.jsonl", margin: 0.01 }, canary: { version: "2", share: 0.1 } });
  });

  it("rejects a canary on the pinned version, a share outside 0–1 and a gate without a golden file", () => {
    expect(configError({ models: { overrides: { m: { version: "2", canary: { version: "2", share: 0.1 } } } } }).message).toContain("models.overrides.m.canary.version: the canary must be another version");
    expect(configError({ models: { overrides: { m: { canary: { version: "2", share: 1.5 } } } } }).message).toContain("models.overrides.m.canary.share");
    expect(configError({ models: { overrides: { m: { gate: { margin: 0.1 } } } } }).message).toContain("models.overrides.m.gate.golden");
  });
});
