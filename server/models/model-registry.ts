import { availableParallelism } from "node:os";
import { join, relative, resolve, sep } from "node:path";
import { performance } from "node:perf_hooks";
import type { ServerConfig } from "../config/schema.js";
import { ServingError } from "../errors/registry.js";
import type { ModelBackend } from "../backends/backend.js";
import { createBackend } from "../backends/replica-set.js";
import { checkedFilesFor } from "../backends/checked-files.js";
import type { ServingMetrics } from "../metrics/serving-metrics.js";
import type { ModelManifest } from "./manifest.js";
import { applyOverride, groupByName, pickVersion, scanRepository, type ModelEntry, type RepositoryScan } from "./repository.js";
import { backendKind } from "../backends/registry.js";
import type { Log } from "./log.js";
import { Canary, type CanaryReport, type Routed } from "./canary.js";
import type { ReloadGateOutcome } from "./reload-gate.js";
import { VersionLoader, type LoadRequest } from "./version-loader.js";
import { MemoryDecisionStore, type DecisionStore, type ModelDecision } from "../state/model-decisions.js";
import { DecisionLog, type DecidedBy } from "./decision-log.js";
import { startupVersions } from "./startup-versions.js";
import { describeDecision, type StandingDecision } from "./standing-decision.js";

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

  /** Versions whose model.json is valid but whose files did not load (start-up, hot add), by folder: kept until they load or leave. */
  private readonly versionFailures = new Map<string, { folder: string; name: string; error: ServingError }>();
  /** Models an admin took out of service: start-up and the watcher leave them out until they are loaded again. */
  private readonly removed = new Set<string>();
  /** Per model, the highest version in the repository when its version was last decided: see watchFloor. */
  private readonly ceilings = new Map<string, string>();
  /** Flat model folders already warned about. */
  private readonly flatWarned = new Set<string>();

  private constructor(
    private readonly config: Readonly<ServerConfig>,
    private readonly metrics: ServingMetrics,
    private readonly log: Log,
    private readonly decisions: DecisionLog,
  ) {
    this.loader = new VersionLoader(config, metrics, log, (name) => this.workers.get(name) ?? 1);
  }

  /**
   * Scans the repository and loads what start-up should serve: for each model, what was last decided (the state
   * store's decisions), else its highest version the gate did not reject, falling back to lower versions when one
   * does not load. Start-up stops only for a served model with no version that loads, and only with exitOnLoadError.
   */
  static async load(config: Readonly<ServerConfig>, metrics: ServingMetrics, log: Log, decisions: DecisionStore = new MemoryDecisionStore()): Promise<ModelRegistry> {
    const registry = new ModelRegistry(config, metrics, log, new DecisionLog(decisions, log));
    const scan = await scanRepository(config.models.repository);
    // One bad folder (another model's, or a version not served) never takes the others down: it is reported and skipped.
    registry.noteScan(scan);
    const byName = groupByName(scan.models);
    for (const name of byName.keys()) registry.raiseFloor(name, scan);
    const standing = await registry.decisions.standingAll();
    const wanted = config.models.serve;
    const plans: ModelEntry[][] = [];
    for (const name of registry.startupNames([...byName.keys()], standing)) {
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
      const override = config.models.overrides[name];
      const choice = startupVersions(versions, override?.version, standing.get(name));
      if (override?.version !== undefined && choice.candidates.length === 0) {
        throw new ServingError("ERR_CONFIG_INVALID", `models.overrides.${name}.version: no version '${override.version}' (found: ${versions.map((v) => v.manifest.version).join(", ")})`);
      }
      const decided = standing.get(name)?.serving;
      if (override?.version !== undefined && decided && decided.version !== override.version) {
        log("warn", `${name}: models.overrides.${name}.version pins version ${override.version}; the last decision (${describeDecision(decided)}) is not applied`);
      } else if (choice.decided && override?.version === undefined) {
        log("info", `${name}: starting on version ${choice.candidates[0]!.manifest.version}, as last decided: ${choice.decided}`);
      }
      for (const { entry, reason } of choice.excluded) {
        log("warn", `${name}@${entry.manifest.version}: not served at start-up, ${reason}; POST /admin/models/${name}/reload {"version": "${entry.manifest.version}", "gate": false} serves it`);
      }
      if (choice.candidates.length === 0) {
        const error = new ServingError("ERR_MODEL_LOAD_FAILED", `model '${name}': every version was rejected by the gate (${choice.excluded.map((x) => x.entry.manifest.version).join(", ")}); an admin reload naming a version with "gate": false serves it`);
        if (config.models.exitOnLoadError && wanted !== "all" && wanted.includes(name)) throw error;
        log("error", error.message);
        for (const { entry } of choice.excluded) registry.noteVersionFailure(entry, error);
        continue;
      }
      plans.push(choice.candidates.map((entry) => ({ dir: entry.dir, manifest: applyOverride(entry.manifest, override) })));
    }
    for (const name of Object.keys(config.models.overrides)) {
      const known = plans.some((plan) => plan[0]!.manifest.name === name) || registry.unreadableFolders().some((bad) => bad.name === name) || registry.removed.has(name);
      if (!known) throw new ServingError("ERR_CONFIG_INVALID", `models.overrides.${name}: no such model is served`);
    }
    const cores = availableParallelism();
    const onnxModels = plans.filter((plan) => plan[0]!.manifest.format === "onnx").length;
    for (const plan of plans) registry.setState({ status: "loading", manifest: plan[0]!.manifest });
    // Only a model the configuration names stops start-up; with "all", a model none of whose versions loads is reported.
    const named = (name: string) => config.models.exitOnLoadError && config.models.serve !== "all" && config.models.serve.includes(name);
    for (const plan of plans) registry.workers.set(plan[0]!.manifest.name, resolveWorkers(plan[0]!.manifest, onnxModels, cores));
    // Models load side by side: most of a load is waiting (ONNX sessions in worker threads, llama.cpp on its own
    // threads, a GGUF's check in a child process), and the server is ready when the slowest is.
    await Promise.all(plans.map((plan) => registry.loadFirst(plan, registry.workers.get(plan[0]!.manifest.name)!, cores)));
    for (const plan of plans) {
      const name = plan[0]!.manifest.name;
      const state = registry.states.get(name);
      if (state?.status === "failed" && named(name)) {
        await registry.dispose();
        throw state.error;
      }
    }
    for (const plan of plans) {
      const name = plan[0]!.manifest.name;
      const canary = config.models.overrides[name]?.canary;
      if (!canary || registry.states.get(name)?.status !== "ready") continue;
      try {
        await registry.startCanary(name, { ...canary, trigger: "start", by: { actor: "config" } });
      } catch (error) {
        if (config.models.exitOnLoadError) {
          await registry.dispose();
          throw new ServingError("ERR_CONFIG_INVALID", `models.overrides.${name}.canary: ${(error as Error).message}`, { cause: error });
        }
        log("error", `${name}: the configured canary did not start: ${(error as Error).message}`);
      }
    }
    return registry;
  }

  /**
   * The models start-up serves: `models.serve`, or every valid model for "all", less those an admin unloaded (a model
   * named in `models.serve` is served all the same, with a warning), plus those an admin loaded without a restart.
   */
  private startupNames(inRepository: string[], standing: Map<string, StandingDecision>): string[] {
    const wanted = this.config.models.serve;
    for (const [name, decision] of standing) if (decision.removed) this.removed.add(name);
    if (wanted === "all") {
      for (const name of inRepository.filter((n) => this.removed.has(n))) {
        this.log("info", `${name}: not served, taken out of service (${describeDecision(standing.get(name)!.removed!)}); POST /admin/models/${name}/load serves it again`);
      }
      return inRepository.filter((name) => !this.removed.has(name));
    }
    for (const name of wanted.filter((n) => this.removed.has(n))) {
      this.log("warn", `${name}: served because models.serve names it, although it was taken out of service (${describeDecision(standing.get(name)!.removed!)})`);
      this.removed.delete(name);
    }
    const added = inRepository.filter((name) => !wanted.includes(name) && standing.get(name)?.serving?.action === "load");
    for (const name of added) this.log("info", `${name}: served although models.serve does not name it: ${describeDecision(standing.get(name)!.serving!)}`);
    return [...wanted, ...added];
  }

  /** Loads the first version of `candidates` that loads; each one that fails is reported and the next is tried. */
  private async loadFirst(candidates: ModelEntry[], workers: number, cores: number): Promise<void> {
    for (const [i, entry] of candidates.entries()) {
      const next = candidates[i + 1];
      if (await this.loadOne(entry, workers, cores, next ? `; trying version ${next.manifest.version}` : "")) return;
    }
  }

  private async loadOne(entry: ModelEntry, workers: number, cores: number, fallback: string): Promise<boolean> {
    const { manifest, dir } = entry;
    this.setState({ status: "loading", manifest });
    const factory = backendKind(manifest.format)?.create;
    if (!factory) {
      const error = new ServingError("ERR_MODEL_LOAD_FAILED", `${manifest.name}: no backend for format '${manifest.format}' in this build`);
      this.setState({ status: "failed", manifest, error });
      this.noteVersionFailure(entry, error);
      return false;
    }
    if (!manifest.replicas && workers * manifest.batching.intraOpThreads > cores) {
      this.log("warn", `${manifest.name}: ${workers} workers × ${manifest.batching.intraOpThreads} threads exceeds ${cores} cores; expect contention`);
    }
    const started = Date.now();
    try {
      const backend = await createBackend(factory, { dir, manifest, metrics: this.metrics, workers, log: this.log, ...checkedFilesFor(this.config.models.checkedFiles) });
      // The backend's manifest: a backend may complete it from the model file (a GGUF embedder's dimensions).
      this.setState({ status: "ready", manifest: backend.manifest, backend });
      this.versionFailures.delete(this.folderOf(entry));
      const p = backend.placement;
      this.log("info", `${manifest.name}@${manifest.version}: ready on ${p.device} (${p.workers} workers × ${p.threadsPerWorker} threads) in ${Date.now() - started} ms`);
      return true;
    } catch (error) {
      const serving =
        error instanceof ServingError ? error : new ServingError("ERR_MODEL_LOAD_FAILED", `${manifest.name}: ${(error as Error).message}`, { cause: error });
      this.setState({ status: "failed", manifest, error: serving });
      this.noteVersionFailure(entry, serving);
      this.log("error", `${manifest.name}@${manifest.version}: failed to load${fallback}: ${serving.message}`);
      return false;
    }
  }

  private folderOf(entry: ModelEntry): string {
    return relative(resolve(this.config.models.repository), entry.dir);
  }

  private noteVersionFailure(entry: ModelEntry, error: ServingError): void {
    const folder = this.folderOf(entry);
    this.metrics.loadFailures.inc({ model: entry.manifest.name });
    this.versionFailures.set(folder, { folder, name: entry.manifest.name, error });
  }

  /**
   * Loads another version of a served model beside the current one (the pinned or highest version in the
   * repository when none is named), warms it up, runs its gate when one is configured, then swaps it in at once:
   * new requests get the new version, requests already holding the old backend finish on it, and it is disposed of
   * once drained. A version that fails to load or fails the gate leaves the current one serving.
   */
  async reload(
    name: string,
    options: { version?: string | undefined; gate?: boolean | undefined; trigger?: "admin" | "watch"; by?: DecidedBy } = {},
  ): Promise<{ previous: string | undefined; current: string; loadMs: number; gate: ReloadGateOutcome | null }> {
    const trigger = options.trigger ?? "admin";
    const by = options.by ?? { actor: trigger === "watch" ? "watcher" : "admin" };
    return this.change(name, async (current) => {
      if (this.canaries.has(name)) {
        throw new ServingError("ERR_CANARY_ACTIVE", `model '${name}' has a canary (version ${this.canaries.get(name)!.candidate.manifest.version}): promote or roll it back before reloading`);
      }
      const loaded = await this.loader.load({ name, version: options.version, current: readyBackend(current), gate: options.gate, trigger, onRejected: this.rejectedBy(name, by) });
      this.noteScan(loaded.scan);
      if (trigger !== "watch") this.raiseFloor(name, loaded.scan);
      this.swap(name, current, loaded.backend, trigger);
      const version = loaded.backend.manifest.version;
      await this.decisions.record(name, version, trigger === "watch" ? "watch" : "reload", { ...by, reason: by.reason ?? `was ${current.manifest.version}` });
      return { previous: current.manifest.version, current: version, loadMs: loaded.loadMs, gate: loaded.gate };
    });
  }

  /** Records a gate rejection: the version is not served at the next start-up unless a later decision puts it in service. */
  private rejectedBy(name: string, by: DecidedBy): (version: string, failures: string) => Promise<void> {
    return (version, failures) => this.decisions.record(name, version, "gate_rejected", { actor: by.actor, reason: failures });
  }

  /**
   * Adds a model to what is served, without a restart: loads `version` (default: the version start-up would choose)
   * from its repository folder, runs its gate when configured (nothing to compare with: the scores are reported),
   * and serves it. The decision lasts: the model is served again at the next start-up.
   */
  async add(name: string, options: { version?: string | undefined; gate?: boolean | undefined; by: DecidedBy }): Promise<{ version: string; loadMs: number; gate: ReloadGateOutcome | null }> {
    const served = this.states.get(name);
    if (served) throw new ServingError("ERR_MODEL_ALREADY_SERVED", `model '${name}' is already served (version ${served.manifest.version}): POST /admin/models/${name}/reload changes its version`);
    if (this.changing.has(name)) throw new ServingError("ERR_RELOAD_IN_PROGRESS", `model '${name}' is already being loaded or unloaded; retry when that finishes`);
    this.changing.add(name);
    try {
      const scan = await scanRepository(this.config.models.repository);
      this.noteScan(scan);
      const versions = groupByName(scan.models).get(name) ?? [];
      const broken = this.unreadable.filter((bad) => bad.name === name).map((bad) => `${bad.folder}: ${bad.error.message}`);
      if (versions.length === 0) {
        throw new ServingError("ERR_MODEL_NOT_FOUND", `no model named '${name}' in ${this.config.models.repository}${broken.length ? ` that loads (${broken.join("; ")})` : ""}; add its folder (<name>/<version>/model.json) first`);
      }
      const override = this.config.models.overrides[name];
      const choice = startupVersions(versions, options.version ?? override?.version, await this.decisions.standing(name));
      const entry = choice.candidates[0];
      if (!entry) {
        const why = options.version !== undefined ? `no version '${options.version}' (found: ${versions.map((v) => v.manifest.version).join(", ")})` : `every version was rejected by the gate; name one, with "gate": false`;
        throw new ServingError("ERR_RELOAD_FAILED", `model '${name}': ${why}`);
      }
      const manifest = applyOverride(entry.manifest, override);
      const cores = availableParallelism();
      const onnxModels = this.list().filter((state) => state.manifest.format === "onnx").length + (manifest.format === "onnx" ? 1 : 0);
      this.workers.set(name, resolveWorkers(manifest, onnxModels, cores));
      let loaded;
      try {
        loaded = await this.loader.load({ name, version: entry.manifest.version, current: undefined, gate: options.gate, trigger: "load", scan, onRejected: this.rejectedBy(name, options.by) });
      } catch (error) {
        this.workers.delete(name);
        throw error;
      }
      const version = loaded.backend.manifest.version;
      this.setState({ status: "ready", manifest: loaded.backend.manifest, backend: loaded.backend });
      this.raiseFloor(name, scan);
      this.removed.delete(name);
      this.versionFailures.delete(this.folderOf(entry));
      this.metrics.reloads.inc({ model: name, trigger: "load", result: "swapped" });
      await this.decisions.record(name, version, "load", options.by);
      this.log("info", `${name}: version ${version} loaded and serving in ${Math.round(loaded.loadMs)} ms (added by ${options.by.actor})`);
      return { version, loadMs: loaded.loadMs, gate: loaded.gate };
    } finally {
      this.changing.delete(name);
    }
  }

  /**
   * Takes a model out of service without a restart: new requests get 404 at once, queued and running ones finish
   * (its canary's too), then its workers and sessions are released. An admin's removal lasts across restarts until
   * the model is loaded again; a removal because its folder left the repository (`folder_removed`) does not.
   */
  async remove(name: string, by: DecidedBy & { folderRemoved?: boolean }): Promise<{ version: string; drainMs: number }> {
    return this.change(name, async (current) => {
      const canary = this.canaries.get(name);
      this.canaries.delete(name);
      this.states.delete(name);
      this.workers.delete(name);
      if (by.folderRemoved) {
        await this.decisions.record(name, current.manifest.version, "folder_removed", by);
      } else {
        this.removed.add(name);
        await this.decisions.record(name, null, "unload", { ...by, reason: by.reason ?? `was serving version ${current.manifest.version}` });
      }
      const started = performance.now();
      await Promise.all([
        current.status === "ready" ? retire(current.backend, this.log) : undefined,
        canary ? canary.settled().then(() => retire(canary.candidate, this.log)) : undefined,
      ]);
      const drainMs = performance.now() - started;
      this.log("info", `${name}: version ${current.manifest.version} taken out of service by ${by.actor}, drained in ${Math.round(drainMs)} ms`);
      return { version: current.manifest.version, drainMs };
    });
  }

  /**
   * The version the repository watcher must exceed to swap one in: the highest version present when the model's
   * version was last decided (start-up, an admin reload or rollback, a promotion, a hot add). A rollback to 1 while 2
   * sits in the repository is not undone by the watcher; a version 3 that appears later is swapped in.
   */
  watchFloor(name: string): string | undefined {
    return this.ceilings.get(name);
  }

  private raiseFloor(name: string, scan: RepositoryScan): void {
    const top = pickVersion(groupByName(scan.models).get(name) ?? [], undefined)?.manifest.version;
    if (top !== undefined) this.ceilings.set(name, top);
  }

  /** Whether an admin took the model out of service (the watcher does not add it back). */
  isRemoved(name: string): boolean {
    return this.removed.has(name);
  }

  /** The model's decisions, newest first, and what they still say at start-up. */
  async history(name: string, limit: number): Promise<ModelDecision[]> {
    return (await this.decisions.history(name, limit)).reverse();
  }

  async standing(name: string): Promise<StandingDecision> {
    return this.decisions.standing(name);
  }

  /**
   * Loads `version` beside the serving one (through the gate when configured) and sends it `share` of the
   * classification traffic. Called again for the same version, it changes the share.
   */
  async startCanary(name: string, options: { version: string; share: number; gate?: boolean | undefined; trigger?: LoadRequest["trigger"]; by?: DecidedBy }): Promise<CanaryReport> {
    const by = options.by ?? { actor: "admin" };
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
      const loaded = await this.loader.load({ name, version: options.version, current: serving, gate: options.gate, trigger: options.trigger ?? "canary", onRejected: this.rejectedBy(name, by) });
      const version = loaded.backend.manifest.version;
      this.canaries.set(name, new Canary(loaded.backend, options.share, this.metrics));
      this.log("info", `${name}: canary ${version} loaded in ${Math.round(loaded.loadMs)} ms, takes ${options.share} of the traffic beside ${serving.manifest.version}`);
      await this.decisions.record(name, version, "canary_start", { ...by, reason: by.reason ?? `share ${options.share} beside ${serving.manifest.version}` });
      return this.canaryReport(name);
    });
  }

  canaryReport(name: string): CanaryReport {
    const canary = this.canaries.get(name);
    if (!canary) throw new ServingError("ERR_CANARY_NOT_FOUND", `no canary is running for model '${name}'`);
    return canary.report(this.states.get(name)!.manifest.version);
  }

  /** The canary becomes the serving version; the replaced one finishes its requests and is released. */
  async promoteCanary(name: string, by: DecidedBy = { actor: "admin" }): Promise<{ previous: string; current: string; report: CanaryReport }> {
    return this.change(name, async (current) => {
      const report = this.canaryReport(name);
      const canary = this.canaries.get(name)!;
      this.canaries.delete(name);
      this.swap(name, current, canary.candidate, "promote");
      this.raiseFloor(name, await scanRepository(this.config.models.repository).catch(() => ({ models: [], invalid: [], flat: [] })));
      await this.decisions.record(name, canary.candidate.manifest.version, "promote", { ...by, reason: by.reason ?? `was ${current.manifest.version}; agreement ${report.agreement ?? "n/a"} on ${report.compared} inputs` });
      await canary.settled();
      return { previous: current.manifest.version, current: canary.candidate.manifest.version, report };
    });
  }

  /** All traffic goes back to the serving version; the candidate finishes its requests and is released. */
  async rollbackCanary(name: string, by: DecidedBy = { actor: "admin" }): Promise<CanaryReport> {
    return this.change(name, async () => {
      const report = this.canaryReport(name);
      const canary = this.canaries.get(name)!;
      this.canaries.delete(name);
      this.log("info", `${name}: canary ${canary.candidate.manifest.version} rolled back`);
      await this.decisions.record(name, canary.candidate.manifest.version, "canary_rollback", by);
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
   * What a repository scan found (start-up, the watcher, a hot add): each folder whose model.json does not validate,
   * new or with a new error, is logged and counted once; one that was fixed or removed leaves the list, and so does a
   * version that failed to load once its folder is gone.
   */
  noteScan(scan: RepositoryScan): void {
    const before = new Map(this.unreadable.map((bad) => [bad.folder, bad.error.message]));
    this.unreadable = scan.invalid.map((bad) => ({ ...bad, name: bad.folder.split(sep)[0]! }));
    for (const bad of this.unreadable) {
      if (before.get(bad.folder) === bad.error.message) continue;
      this.metrics.loadFailures.inc({ model: bad.name });
      this.log("error", `${bad.folder}: not served: ${bad.error.message}`);
    }
    for (const folder of scan.flat.filter((f) => !this.flatWarned.has(f))) {
      this.flatWarned.add(folder);
      this.log("warn", `${folder}: a flat model folder (deprecated): its files belong in ${join(folder, "<version>")}/, e.g. ${join(folder, "1")}/`);
    }
    const present = new Set(scan.models.map((entry) => this.folderOf(entry)));
    for (const folder of this.versionFailures.keys()) if (!present.has(folder)) this.versionFailures.delete(folder);
  }

  /** Repository folders not served because they did not validate or did not load, with the model name their folder gives. */
  unreadableFolders(): ReadonlyArray<{ folder: string; name: string; error: ServingError }> {
    const invalid = new Set(this.unreadable.map((bad) => bad.folder));
    return [...this.unreadable, ...[...this.versionFailures.values()].filter((failure) => !invalid.has(failure.folder))];
  }

  /**
   * Every model `models.serve` names is ready; with "all", nothing is still loading and at least one model is ready:
   * a model none of whose versions loads is reported in /v1/models, not a reason to take the replica out of rotation.
   */
  /** A model's folders that are not served, as {folder, code, message}: for /v1/models and a reload's answer. */
  problemsOf(name: string): Array<{ folder: string; code: string; message: string }> {
    return this.unreadableFolders()
      .filter((bad) => bad.name === name)
      .map((bad) => ({ folder: bad.folder, code: bad.error.code, message: bad.error.message }));
  }

  get ready(): boolean {
    const states = [...this.states.values()];
    if (states.length === 0 || states.some((s) => s.status === "loading")) return false;
    const serve = this.config.models.serve;
    if (serve === "all") return states.some((s) => s.status === "ready");
    return states.every((s) => s.status === "ready" || !serve.includes(s.manifest.name));
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
