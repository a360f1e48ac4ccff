import { sep } from "node:path";
import { performance } from "node:perf_hooks";
import type { ServerConfig } from "../config/schema.js";
import type { ModelBackend } from "../backends/backend.js";
import { createBackend } from "../backends/replica-set.js";
import { checkedFilesFor } from "../backends/checked-files.js";
import { ServingError } from "../errors/registry.js";
import type { ServingMetrics } from "../metrics/serving-metrics.js";
import type { ModelManifest } from "./manifest.js";
import { describeFailures, runReloadGate, type ReloadGateOutcome } from "./reload-gate.js";
import { applyOverride, groupByName, pickVersion, scanRepository, type RepositoryScan } from "./repository.js";
import { backendKind } from "../backends/registry.js";
import type { Log } from "./log.js";

export interface LoadedVersion {
  backend: ModelBackend;
  loadMs: number;
  /** The gate's outcome, or null when none ran. */
  gate: ReloadGateOutcome | null;
  /** The repository scan the version was found by: its bad folders are reported with the result. */
  scan: RepositoryScan;
}

export interface LoadRequest {
  name: string;
  /** The version folder; the pinned or highest one when unset. */
  version: string | undefined;
  /** The serving version, the gate's baseline. */
  current: ModelBackend | undefined;
  /** Run the model's configured gate (default), skip it (false), or insist on one (true: an error when none is configured). */
  gate: boolean | undefined;
  /** What asked, for the metric. */
  trigger: "admin" | "watch" | "canary" | "start" | "load";
  /** A scan of the repository the caller has just made, so it is not read twice. */
  scan?: RepositoryScan;
  /** Told when the gate refuses the version (not when it could not run), so the refusal can be recorded. */
  onRejected?: (version: string, failures: string) => Promise<void>;
}

/**
 * Loads another version of a served model beside the serving one: finds its folder, applies the operator's
 * overrides, starts and warms its backend, and runs the golden-file gate when the model has one. Whatever fails,
 * nothing is left loaded and the error says why and that the current version keeps serving.
 */
export class VersionLoader {
  constructor(
    private readonly config: Readonly<ServerConfig>,
    private readonly metrics: ServingMetrics,
    private readonly log: Log,
    private readonly workersOf: (name: string) => number,
  ) {}

  async load(request: LoadRequest): Promise<LoadedVersion> {
    const { name, current, trigger } = request;
    const keeps = current ? `; version ${current.manifest.version} keeps serving` : "";
    const fail = (result: "load_failed" | "gate_failed", error: ServingError) => {
      this.metrics.reloads.inc({ model: name, trigger, result });
      return error;
    };
    const gateSettings = this.config.models.overrides[name]?.gate;
    if (request.gate === true && !gateSettings) {
      throw new ServingError("ERR_INVALID_REQUEST", `model '${name}' has no gate: set models.overrides.${name}.gate.golden in the configuration, or leave 'gate' out`);
    }
    const scan = request.scan ?? (await scanRepository(this.config.models.repository));
    const versions = groupByName(scan.models).get(name) ?? [];
    const entry = pickVersion(versions, request.version ?? this.config.models.overrides[name]?.version);
    if (!entry) {
      const broken = scan.invalid.filter((bad) => bad.folder.split(sep)[0] === name).map((bad) => bad.error.message);
      throw fail(
        "load_failed",
        new ServingError("ERR_RELOAD_FAILED", `model '${name}': no version '${request.version ?? "(latest)"}' in the repository (found: ${versions.map((v) => v.manifest.version).join(", ") || "none"}${broken.length ? `; invalid: ${broken.join("; ")}` : ""})${keeps}`),
      );
    }
    const manifest: ModelManifest = applyOverride(entry.manifest, this.config.models.overrides[name]);
    const factory = backendKind(manifest.format)?.create;
    if (!factory) throw fail("load_failed", new ServingError("ERR_RELOAD_FAILED", `${name}: no backend for format '${manifest.format}' in this build${keeps}`));
    const started = performance.now();
    let backend: ModelBackend;
    try {
      backend = await createBackend(factory, { dir: entry.dir, manifest, metrics: this.metrics, workers: this.workersOf(name), log: this.log, ...checkedFilesFor(this.config.models.checkedFiles) });
    } catch (error) {
      this.log("error", `${name}@${manifest.version}: failed to load${keeps}: ${(error as Error).message}`);
      throw fail("load_failed", new ServingError("ERR_RELOAD_FAILED", `${name}@${manifest.version} failed to load${keeps}: ${(error as Error).message}`, { cause: error }));
    }
    const loadMs = performance.now() - started;
    if (!gateSettings || request.gate === false) return { backend, loadMs, gate: null, scan };
    let gate: ReloadGateOutcome;
    try {
      gate = await runReloadGate(gateSettings, current, backend);
    } catch (error) {
      await backend.dispose();
      const reason = error instanceof ServingError ? error.message : String(error);
      throw fail("gate_failed", new ServingError("ERR_RELOAD_REJECTED", `${name}@${manifest.version}: the gate could not run: ${reason}${keeps}`, { cause: error }));
    }
    if (!gate.passed) {
      await backend.dispose();
      await request.onRejected?.(manifest.version, describeFailures(gate));
      this.log("warn", `${name}@${manifest.version}: rejected by the gate on ${gate.golden}: ${describeFailures(gate)}${keeps}`);
      throw fail("gate_failed", new ServingError("ERR_RELOAD_REJECTED", `${name}@${manifest.version} failed the gate on ${gate.examples} golden examples (margin ${gate.margin}): ${describeFailures(gate)}${keeps}`, { details: gate }));
    }
    return { backend, loadMs, gate, scan };
  }
}
