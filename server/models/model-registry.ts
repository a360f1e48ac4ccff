import { availableParallelism } from "node:os";
import type { ServerConfig } from "../config/schema.js";
import { ServingError } from "../errors/registry.js";
import type { BackendFactory, ModelBackend } from "../backends/backend.js";
import { createGgufBackend } from "../backends/gguf/gguf-backend.js";
import { createOnnxBackend } from "../backends/onnx/onnx-backend.js";
import type { ServingMetrics } from "../metrics/serving-metrics.js";
import type { ModelManifest } from "./manifest.js";
import { applyOverride, scanRepository, type ModelEntry } from "./repository.js";

/** Backends by manifest `format`. A new backend is one line here; the HTTP layer never changes. */
export const BACKENDS: Partial<Record<ModelManifest["format"], BackendFactory>> = {
  onnx: createOnnxBackend,
  gguf: createGgufBackend,
};

export type ModelState =
  | { status: "loading"; manifest: ModelManifest }
  | { status: "ready"; manifest: ModelManifest; backend: ModelBackend }
  | { status: "failed"; manifest: ModelManifest; error: ServingError };

export type Log = (level: "info" | "warn" | "error", message: string) => void;

/** Resolves `workers: auto`: the cores are shared evenly among the ONNX models, each worker with its own threads. */
export function resolveWorkers(manifest: ModelManifest, onnxModels: number, cores: number): number {
  if (manifest.batching.workers !== "auto") return manifest.batching.workers;
  return Math.max(1, Math.floor(cores / Math.max(1, onnxModels) / manifest.batching.intraOpThreads));
}

/** Name → loaded model. Knows nothing of HTTP; the routes ask it for a model and get a backend or an error. */
export class ModelRegistry {
  private readonly states = new Map<string, ModelState>();

  private constructor(
    private readonly metrics: ServingMetrics,
    private readonly log: Log,
  ) {}

  static async load(config: Readonly<ServerConfig>, metrics: ServingMetrics, log: Log): Promise<ModelRegistry> {
    const registry = new ModelRegistry(metrics, log);
    const scan = await scanRepository(config.models.repository);
    const wanted = config.models.serve;
    for (const bad of scan.invalid) {
      if (wanted === "all" || wanted.includes(bad.folder)) throw bad.error;
      log("warn", `skipping ${bad.folder}: ${bad.error.message}`);
    }
    const byName = new Map(scan.models.map((entry) => [entry.manifest.name, entry]));
    const chosen: ModelEntry[] = [];
    for (const name of wanted === "all" ? [...byName.keys()] : wanted) {
      const entry = byName.get(name);
      if (!entry) {
        throw new ServingError("ERR_CONFIG_INVALID", `models.serve: no model named '${name}' in ${config.models.repository} (found: ${[...byName.keys()].join(", ") || "none"})`);
      }
      chosen.push({ dir: entry.dir, manifest: applyOverride(entry.manifest, config.models.overrides[name]) });
    }
    for (const name of Object.keys(config.models.overrides)) {
      if (!chosen.some((entry) => entry.manifest.name === name)) {
        throw new ServingError("ERR_CONFIG_INVALID", `models.overrides.${name}: no such model is served`);
      }
    }
    const cores = availableParallelism();
    const onnxModels = chosen.filter((entry) => entry.manifest.format === "onnx").length;
    for (const entry of chosen) registry.states.set(entry.manifest.name, { status: "loading", manifest: entry.manifest });
    for (const entry of chosen) {
      await registry.loadOne(entry, resolveWorkers(entry.manifest, onnxModels, cores), cores);
      const state = registry.states.get(entry.manifest.name);
      if (state?.status === "failed" && config.models.exitOnLoadError) {
        await registry.dispose();
        throw state.error;
      }
    }
    return registry;
  }

  private async loadOne(entry: ModelEntry, workers: number, cores: number): Promise<void> {
    const { manifest, dir } = entry;
    const factory = BACKENDS[manifest.format];
    if (!factory) {
      const error = new ServingError("ERR_MODEL_LOAD_FAILED", `${manifest.name}: no backend for format '${manifest.format}' in this build`);
      this.states.set(manifest.name, { status: "failed", manifest, error });
      return;
    }
    if (workers * manifest.batching.intraOpThreads > cores) {
      this.log("warn", `${manifest.name}: ${workers} workers × ${manifest.batching.intraOpThreads} threads exceeds ${cores} cores; expect contention`);
    }
    const started = Date.now();
    try {
      const backend = await factory({ dir, manifest, metrics: this.metrics, workers, log: this.log });
      this.states.set(manifest.name, { status: "ready", manifest, backend });
      const p = backend.placement;
      this.log("info", `${manifest.name}@${manifest.version}: ready on ${p.device} (${p.workers} workers × ${p.threadsPerWorker} threads) in ${Date.now() - started} ms`);
    } catch (error) {
      const serving =
        error instanceof ServingError ? error : new ServingError("ERR_MODEL_LOAD_FAILED", `${manifest.name}: ${(error as Error).message}`, { cause: error });
      this.states.set(manifest.name, { status: "failed", manifest, error: serving });
      this.log("error", `${manifest.name}@${manifest.version}: failed to load: ${serving.message}`);
    }
  }

  /** The backend for a model name, or the error the caller should get. */
  get(name: string): ModelBackend {
    const state = this.states.get(name);
    if (!state) throw new ServingError("ERR_MODEL_NOT_FOUND", `no model named '${name}'; GET /v1/models lists the served models`);
    if (state.status !== "ready") {
      throw new ServingError("ERR_MODEL_UNAVAILABLE", state.status === "failed" ? `model '${name}' failed to load: ${state.error.message}` : `model '${name}' is still loading`);
    }
    return state.backend;
  }

  list(): ModelState[] {
    return [...this.states.values()];
  }

  get ready(): boolean {
    return this.states.size > 0 && [...this.states.values()].every((s) => s.status === "ready");
  }

  async drain(): Promise<void> {
    await Promise.all(this.list().map((s) => (s.status === "ready" ? s.backend.drain() : undefined)));
  }

  async dispose(): Promise<void> {
    await Promise.all(this.list().map((s) => (s.status === "ready" ? s.backend.dispose() : undefined)));
  }
}
