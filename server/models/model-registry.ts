import { availableParallelism } from "node:os";
import { sep } from "node:path";
import type { ServerConfig } from "../config/schema.js";
import { ServingError } from "../errors/registry.js";
import type { ModelBackend } from "../backends/backend.js";
import { createBackend } from "../backends/replica-set.js";
import type { ServingMetrics } from "../metrics/serving-metrics.js";
import type { ModelManifest } from "./manifest.js";
import { applyOverride, groupByName, pickVersion, scanRepository, type ModelEntry } from "./repository.js";
import { backendKind } from "../backends/registry.js";
import type { Log } from "./log.js";
import { Canary, type CanaryReport, type Routed } from "./canary.js";
import type { ReloadGateOutcome } from "./reload-gate.js";
import { VersionLoader, type LoadRequest } from "./version-loader.js";

export type ModelState =
  | { status: "loading"; manifest: ModelManifest }
  | { status: "ready"; manifest: ModelManifest; backend: ModelBackend }
  | { status: "failed"; manifest: ModelManifest; error: ServingError };

/** Resolves `workers: auto`: the cores are shared evenly among the ONNX models, each worker with its own threads. */
export function resolveWorkers(manifest: ModelManifest, onnxModels: number, cores: number): number {
  if (manifest.replicas) return manifest.replicas.reduce((sum, r) => sum + r.workers, 0);
  if (manifest.batching.workers !== "auto") return manifest.batching.workers;
  return Math.max(1, Math.floor(cores / Math.max(1, onnxModels) / manifest.batching.intraOpThreads));
}

/** Name → loaded model. Knows nothing of HTTP; the routes ask it for a model and get a backend or an error. */
export class ModelRegistry {
  private readonly states = new Map<string, ModelState>();
  /** When each model version (name@version) was first known to this process: OpenAI's `created` of a model. */
  private readonly since = new Map<string, number>();
  /** Worker threads each model was given at start-up; a reloaded version gets the same. */
  private readonly workers = new Map<string, number>();
  /** Models whose version is being changed (reload, canary start, promote, rollback): one change at a time. */
  private readonly changing = new Set<string>();
  private readonly canaries = new Map<string, Canary>();
  private readonly loader: VersionLoader;
  /** Unix seconds at which the registry was made: the `created` of a model whose folders could not be read. */
  readonly startedAt = Math.floor(Date.now() / 1000);
  /** Repository folders whose model.json did not validate at the last scan: reported, never served. */
  private unreadable: Array<{ folder: string; name: string; error: ServingError }> = [];

  private constructor(
    private readonly config: Readonly<ServerConfig>,
    private readonly metrics: ServingMetrics,
    private readonly log: Log,
  ) {
    this.loader = new VersionLoader(config, metrics, log, (name) => this.workers.get(name) ?? 1);
  }

  static async load(config: Readonly<ServerConfig>, metrics: ServingMetrics, log: Log): Promise<ModelRegistry> {
    const registry = new ModelRegistry(config, metrics, log);
    const scan = await scanRepository(config.models.repository);
    const wanted = config.models.serve;
    // One bad folder (another model's, or a version not served) never takes the others down: it is reported and skipped.
    registry.noteUnreadable(scan.invalid);
    const byName = groupByName(scan.models);
    const chosen: ModelEntry[] = [];
    for (const name of wanted === "all" ? [...byName.keys()] : wanted) {
      const versions = byName.get(name);
      const broken = registry.unreadable.filter((bad) => bad.name === name);
      if (!versions && broken.length > 0) {
        // A served model with no valid version: start-up stops only when exitOnLoadError says so.
        if (config.models.exitOnLoadError) {
          throw new ServingError(broken[0]!.error.code, `models.serve: '${name}' has no version that loads: ${broken.map((b) => `${b.folder}: ${b.error.message}`).join("; ")}`);
        }
        continue;
      }
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
      if (!chosen.some((entry) => entry.manifest.name === name) && !registry.unreadable.some((bad) => bad.name === name)) {
        throw new ServingError("ERR_CONFIG_INVALID", `models.overrides.${name}: no such model is served`);
      }
    }
    const cores = availableParallelism();
    const onnxModels = chosen.filter((entry) => entry.manifest.format === "onnx").length;
    for (const entry of chosen) registry.setState({ status: "loading", manifest: entry.manifest });
    for (const entry of chosen) {
      registry.workers.set(entry.manifest.name, resolveWorkers(entry.manifest, onnxModels, cores));
      await registry.loadOne(entry, registry.workers.get(entry.manifest.name)!, cores);
      const state = registry.states.get(entry.manifest.name);
      if (state?.status === "failed" && config.models.exitOnLoadError) {
        await registry.dispose();
        throw state.error;
      }
    }
    for (const entry of chosen) {
      const canary = config.models.overrides[entry.manifest.name]?.canary;
      if (!canary || registry.states.get(entry.manifest.name)?.status !== "ready") continue;
      try {
        await registry.startCanary(entry.manifest.name, { ...canary, trigger: "start" });
      } catch (error) {
        if (config.models.exitOnLoadError) {
          await registry.dispose();
          throw new ServingError("ERR_CONFIG_INVALID", `models.overrides.${entry.manifest.name}.canary: ${(error as Error).message}`, { cause: error });
        }
        log("error", `${entry.manifest.name}: the configured canary did not start: ${(error as Error).message}`);
      }
    }
    return registry;
  }

  private async loadOne(entry: ModelEntry, workers: number, cores: number): Promise<void> {
    const { manifest, dir } = entry;
    const factory = backendKind(manifest.format)?.create;
    if (!factory) {
      const error = new ServingError("ERR_MODEL_LOAD_FAILED", `${manifest.name}: no backend for format '${manifest.format}' in this build`);
      this.setState({ status: "failed", manifest, error });
      return;
    }
    if (!manifest.replicas && workers * manifest.batching.intraOpThreads > cores) {
      this.log("warn", `${manifest.name}: ${workers} workers × ${manifest.batching.intraOpThreads} threads exceeds ${cores} cores; expect contention`);
    }
    const started = Date.now();
    try {
      const backend = await createBackend(factory, { dir, manifest, metrics: this.metrics, workers, log: this.log });
      this.setState({ status: "ready", manifest, backend });
      const p = backend.placement;
      this.log("info", `${manifest.name}@${manifest.version}: ready on ${p.device} (${p.workers} workers × ${p.threadsPerWorker} threads) in ${Date.now() - started} ms`);
    } catch (error) {
      const serving =
        error instanceof ServingError ? error : new ServingError("ERR_MODEL_LOAD_FAILED", `${manifest.name}: ${(error as Error).message}`, { cause: error });
      this.metrics.loadFailures.inc({ model: manifest.name });
      this.setState({ status: "failed", manifest, error: serving });
      this.log("error", `${manifest.name}@${manifest.version}: failed to load: ${serving.message}`);
    }
  }

  /**
   * Loads another version of a served model beside the current one (the pinned or highest version in the
   * repository when none is named), warms it up, runs its gate when one is configured, then swaps it in at once:
   * new requests get the new version, requests already holding the old backend finish on it, and it is disposed of
   * once drained. A version that fails to load or fails the gate leaves the current one serving.
   */
  async reload(
    name: string,
    options: { version?: string | undefined; gate?: boolean | undefined; trigger?: "admin" | "watch" } = {},
  ): Promise<{ previous: string | undefined; current: string; loadMs: number; gate: ReloadGateOutcome | null }> {
    const trigger = options.trigger ?? "admin";
    return this.change(name, async (current) => {
      if (this.canaries.has(name)) {
        throw new ServingError("ERR_CANARY_ACTIVE", `model '${name}' has a canary (version ${this.canaries.get(name)!.candidate.manifest.version}): promote or roll it back before reloading`);
      }
      const loaded = await this.loader.load({ name, version: options.version, current: readyBackend(current), gate: options.gate, trigger });
      this.swap(name, current, loaded.backend, trigger);
      return { previous: current.manifest.version, current: loaded.backend.manifest.version, loadMs: loaded.loadMs, gate: loaded.gate };
    });
  }

  /**
   * Loads `version` beside the serving one (through the gate when configured) and sends it `share` of the
   * classification traffic. Called again for the same version, it changes the share.
   */
  async startCanary(name: string, options: { version: string; share: number; gate?: boolean | undefined; trigger?: LoadRequest["trigger"] }): Promise<CanaryReport> {
    const running = this.canaries.get(name);
    if (running) {
      if (running.candidate.manifest.version !== options.version) {
        throw new ServingError("ERR_CANARY_ACTIVE", `model '${name}' already has a canary on version ${running.candidate.manifest.version}: promote or roll it back first`);
      }
      running.share = options.share;
      this.log("info", `${name}: canary ${options.version} now takes ${options.share} of the traffic`);
      return this.canaryReport(name);
    }
    return this.change(name, async (current) => {
      const serving = readyBackend(current);
      if (!serving) throw new ServingError("ERR_MODEL_UNAVAILABLE", `model '${name}' is not serving (${current.status}): a canary needs a current version to compare with`);
      if (serving.manifest.version === options.version) {
        throw new ServingError("ERR_INVALID_REQUEST", `version ${options.version} of '${name}' is the one serving; a canary must be another version`);
      }
      const loaded = await this.loader.load({ name, version: options.version, current: serving, gate: options.gate, trigger: options.trigger ?? "canary" });
      const version = loaded.backend.manifest.version;
      this.canaries.set(name, new Canary(loaded.backend, options.share, this.metrics));
      this.log("info", `${name}: canary ${version} loaded in ${Math.round(loaded.loadMs)} ms, takes ${options.share} of the traffic beside ${serving.manifest.version}`);
      return this.canaryReport(name);
    });
  }

  canaryReport(name: string): CanaryReport {
    const canary = this.canaries.get(name);
    if (!canary) throw new ServingError("ERR_CANARY_NOT_FOUND", `no canary is running for model '${name}'`);
    return canary.report(this.states.get(name)!.manifest.version);
  }

  /** The canary becomes the serving version; the replaced one finishes its requests and is released. */
  async promoteCanary(name: string): Promise<{ previous: string; current: string; report: CanaryReport }> {
    return this.change(name, async (current) => {
      const report = this.canaryReport(name);
      const canary = this.canaries.get(name)!;
      this.canaries.delete(name);
      this.swap(name, current, canary.candidate, "promote");
      await canary.settled();
      return { previous: current.manifest.version, current: canary.candidate.manifest.version, report };
    });
  }

  /** All traffic goes back to the serving version; the candidate finishes its requests and is released. */
  async rollbackCanary(name: string): Promise<CanaryReport> {
    return this.change(name, async () => {
      const report = this.canaryReport(name);
      const canary = this.canaries.get(name)!;
      this.canaries.delete(name);
      this.log("info", `${name}: canary ${canary.candidate.manifest.version} rolled back`);
      await canary.settled();
      void retire(canary.candidate, this.log);
      return report;
    });
  }

  /** Runs one version change of `name` at a time. */
  private async change<T>(name: string, run: (current: ModelState) => Promise<T>): Promise<T> {
    const current = this.states.get(name);
    if (!current) throw new ServingError("ERR_MODEL_NOT_FOUND", `no model named '${name}' is served; only served models can change version`);
    if (this.changing.has(name)) throw new ServingError("ERR_RELOAD_IN_PROGRESS", `model '${name}' is already changing version; retry when that finishes`);
    this.changing.add(name);
    try {
      return await run(current);
    } finally {
      this.changing.delete(name);
    }
  }

  private swap(name: string, current: ModelState, backend: ModelBackend, trigger: string): void {
    this.setState({ status: "ready", manifest: backend.manifest, backend });
    this.metrics.reloads.inc({ model: name, trigger, result: "swapped" });
    this.log("info", `${name}: now serving version ${backend.manifest.version} (was ${current.manifest.version}, ${trigger})`);
    if (current.status === "ready") void retire(current.backend, this.log);
  }

  /** The backend for this request: the serving version, or the canary for its share of the traffic. */
  route(name: string): Routed {
    const backend = this.get(name);
    const canary = this.canaries.get(name);
    return canary?.takes() ? { backend: canary.candidate, canary: { trial: canary, current: backend } } : { backend };
  }

  /** The running canaries' versions and shares, by model. */
  canaryOf(name: string): { version: string; share: number } | undefined {
    const canary = this.canaries.get(name);
    return canary ? { version: canary.candidate.manifest.version, share: canary.share } : undefined;
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

  private setState(state: ModelState): void {
    const version = `${state.manifest.name}@${state.manifest.version}`;
    if (!this.since.has(version)) this.since.set(version, Date.now());
    this.states.set(state.manifest.name, state);
  }

  /** Unix seconds at which this process first knew the model version. */
  knownSince(manifest: ModelManifest): number {
    return Math.floor((this.since.get(`${manifest.name}@${manifest.version}`) ?? Date.now()) / 1000);
  }

  list(): ModelState[] {
    return [...this.states.values()];
  }

  /**
   * The folders a repository scan could not read as models (start-up, the watcher): each new one, or one whose error
   * changed, is logged and counted once; one that was fixed or removed leaves the list.
   */
  noteUnreadable(invalid: ReadonlyArray<{ folder: string; error: ServingError }>): void {
    const before = new Map(this.unreadable.map((bad) => [bad.folder, bad.error.message]));
    this.unreadable = invalid.map((bad) => ({ ...bad, name: bad.folder.split(sep)[0]! }));
    for (const bad of this.unreadable) {
      if (before.get(bad.folder) === bad.error.message) continue;
      this.metrics.loadFailures.inc({ model: bad.name });
      this.log("error", `${bad.folder}: not served: ${bad.error.message}`);
    }
  }

  /** Repository folders whose model.json did not validate at the last scan, with the model name their folder gives. */
  unreadableFolders(): ReadonlyArray<{ folder: string; name: string; error: ServingError }> {
    return this.unreadable;
  }

  get ready(): boolean {
    return this.states.size > 0 && [...this.states.values()].every((s) => s.status === "ready");
  }

  async drain(): Promise<void> {
    await Promise.all([...this.list(), ...this.canaryStates()].map((s) => (s.status === "ready" ? s.backend.drain() : undefined)));
  }

  async dispose(): Promise<void> {
    await Promise.all([...this.list(), ...this.canaryStates()].map((s) => (s.status === "ready" ? s.backend.dispose() : undefined)));
  }

  private canaryStates(): ModelState[] {
    return [...this.canaries.values()].map((c) => ({ status: "ready", manifest: c.candidate.manifest, backend: c.candidate }));
  }
}

function readyBackend(state: ModelState): ModelBackend | undefined {
  return state.status === "ready" ? state.backend : undefined;
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
