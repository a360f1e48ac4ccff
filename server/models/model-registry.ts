import { availableParallelism } from "node:os";
import { sep } from "node:path";
import type { ServerConfig } from "../config/schema.js";
import { ServingError } from "../errors/registry.js";
import type { BackendFactory, ModelBackend } from "../backends/backend.js";
import { createGgufBackend } from "../backends/gguf/gguf-backend.js";
import { createOnnxBackend } from "../backends/onnx/onnx-backend.js";
import type { ServingMetrics } from "../metrics/serving-metrics.js";
import type { ModelManifest } from "./manifest.js";
import { applyOverride, pickVersion, scanRepository, type ModelEntry } from "./repository.js";

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
  /** Worker threads each model was given at start-up; a reloaded version gets the same. */
  private readonly workers = new Map<string, number>();
  private readonly reloading = new Set<string>();

  private constructor(
    private readonly config: Readonly<ServerConfig>,
    private readonly metrics: ServingMetrics,
    private readonly log: Log,
  ) {}

  static async load(config: Readonly<ServerConfig>, metrics: ServingMetrics, log: Log): Promise<ModelRegistry> {
    const registry = new ModelRegistry(config, metrics, log);
    const scan = await scanRepository(config.models.repository);
    const wanted = config.models.serve;
    for (const bad of scan.invalid) {
      if (wanted === "all" || wanted.includes(bad.folder.split(sep)[0]!)) throw bad.error;
      log("warn", `skipping ${bad.folder}: ${bad.error.message}`);
    }
    const byName = groupByName(scan.models);
    const chosen: ModelEntry[] = [];
    for (const name of wanted === "all" ? [...byName.keys()] : wanted) {
      const versions = byName.get(name);
      if (!versions) {
        throw new ServingError("ERR_CONFIG_INVALID", `models.serve: no model named '${name}' in ${config.models.repository} (found: ${[...byName.keys()].join(", ") || "none"})`);
      }
      const pinned = config.models.overrides[name]?.version;
      const entry = pickVersion(versions, pinned);
      if (!entry) {
        throw new ServingError("ERR_CONFIG_INVALID", `models.overrides.${name}.version: no version '${pinned}' (found: ${versions.map((v) => v.manifest.version).join(", ")})`);
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
      registry.workers.set(entry.manifest.name, resolveWorkers(entry.manifest, onnxModels, cores));
      await registry.loadOne(entry, registry.workers.get(entry.manifest.name)!, cores);
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

  /**
   * Loads another version of a served model beside the current one (the pinned or highest version in the
   * repository when none is named), warms it up, then swaps it in at once: new requests get the new version,
   * requests already holding the old backend finish on it, and it is disposed of once drained. A version that
   * fails to load leaves the current one serving.
   */
  async reload(name: string, version?: string): Promise<{ previous: string | undefined; current: string; loadMs: number }> {
    const current = this.states.get(name);
    if (!current) throw new ServingError("ERR_MODEL_NOT_FOUND", `no model named '${name}' is served; only served models can be reloaded`);
    if (this.reloading.has(name)) throw new ServingError("ERR_RELOAD_IN_PROGRESS", `model '${name}' is already being reloaded; retry when that finishes`);
    this.reloading.add(name);
    try {
      const scan = await scanRepository(this.config.models.repository);
      const versions = groupByName(scan.models).get(name) ?? [];
      const entry = pickVersion(versions, version ?? this.config.models.overrides[name]?.version);
      if (!entry) {
        const broken = scan.invalid.filter((bad) => bad.folder.split(sep)[0] === name).map((bad) => bad.error.message);
        throw new ServingError("ERR_RELOAD_FAILED", `model '${name}': no version '${version ?? "(latest)"}' in the repository (found: ${versions.map((v) => v.manifest.version).join(", ") || "none"}${broken.length ? `; invalid: ${broken.join("; ")}` : ""})`);
      }
      const manifest = applyOverride(entry.manifest, this.config.models.overrides[name]);
      const factory = BACKENDS[manifest.format];
      if (!factory) throw new ServingError("ERR_RELOAD_FAILED", `${name}: no backend for format '${manifest.format}' in this build`);
      const started = Date.now();
      let backend: ModelBackend;
      try {
        backend = await factory({ dir: entry.dir, manifest, metrics: this.metrics, workers: this.workers.get(name) ?? 1, log: this.log });
      } catch (error) {
        this.log("error", `${name}@${manifest.version}: reload failed, ${current.manifest.version} keeps serving: ${(error as Error).message}`);
        throw new ServingError("ERR_RELOAD_FAILED", `${name}@${manifest.version} failed to load; version ${current.manifest.version} keeps serving: ${(error as Error).message}`, { cause: error });
      }
      this.states.set(name, { status: "ready", manifest, backend });
      const loadMs = Date.now() - started;
      this.log("info", `${name}: now serving version ${manifest.version} (was ${current.manifest.version}), loaded in ${loadMs} ms`);
      if (current.status === "ready") void retire(current.backend, this.log);
      return { previous: current.manifest.version, current: manifest.version, loadMs };
    } finally {
      this.reloading.delete(name);
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

function groupByName(entries: ModelEntry[]): Map<string, ModelEntry[]> {
  const byName = new Map<string, ModelEntry[]>();
  for (const entry of entries) byName.set(entry.manifest.name, [...(byName.get(entry.manifest.name) ?? []), entry]);
  return byName;
}

/** A replaced version: its queued and running requests finish, then its workers and sessions are released. */
async function retire(backend: ModelBackend, log: Log): Promise<void> {
  try {
    await backend.drain();
    await backend.dispose();
  } catch (error) {
    log("warn", `${backend.manifest.name}@${backend.manifest.version}: releasing the replaced version failed: ${(error as Error).message}`);
  }
}
