import { readdir } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { ServingError } from "../errors/registry.js";
import type { ModelOverride } from "../config/schema.js";
import { manifestInput, ModelManifest, readManifest } from "./manifest-validation.js";
import { isModelFolder } from "./hf-export.js";
import { formatZodIssues } from "../config/zod-issues.js";

export interface ModelEntry {
  dir: string;
  manifest: ModelManifest;
}

export interface RepositoryScan {
  models: ModelEntry[];
  /** Folders with a model.json that did not validate, by folder name. */
  invalid: Array<{ folder: string; error: ServingError }>;
  /** Model folders in the deprecated flat layout (`<name>/model.json`). */
  flat: string[];
}

/** Version folders (`<name>/<version>/model.json`) of a model folder, in name order. */
async function versionFolders(dir: string): Promise<string[]> {
  const subfolders = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const versions: string[] = [];
  for (const sub of subfolders.filter((d) => d.isDirectory() || d.isSymbolicLink()).map((d) => d.name).sort()) {
    if (await isModelFolder(join(dir, sub))) versions.push(sub);
  }
  return versions;
}

/**
 * One model folder of the repository: each `<name>/<version>/` (as Triton lays them out), or a flat `<name>/`
 * (deprecated). A version folder must hold the version its name says; a flat model.json beside version folders is
 * an error that names both, rather than a guess at which one the operator meant.
 */
export async function scanModelFolder(root: string, name: string): Promise<RepositoryScan> {
  const dir = join(root, name);
  const flat = await isModelFolder(dir);
  const versions = await versionFolders(dir);
  if (flat && versions.length > 0) {
    const error = new ServingError(
      "ERR_MANIFEST_INVALID",
      `${join(name, "model.json")} beside version folders ${versions.map((v) => join(name, v)).join(", ")}: a model is either version folders or one flat folder (deprecated); move the top-level files into ${join(name, "<version>")}/`,
    );
    return { models: [], invalid: [{ folder: name, error }], flat: [] };
  }
  const scan: RepositoryScan = { models: [], invalid: [], flat: flat ? [name] : [] };
  for (const folder of flat ? [name] : versions.map((v) => join(name, v))) {
    try {
      const manifest = await readManifest(join(root, folder), flat ? { name, version: "1" } : { name, version: basename(folder) });
      if (!flat && manifest.version !== basename(folder)) {
        throw new ServingError("ERR_MANIFEST_INVALID", `${join(folder, "model.json")}: version '${manifest.version}' in the folder of version '${basename(folder)}'; the folder's name is the version`);
      }
      scan.models.push({ dir: join(root, folder), manifest });
    } catch (error) {
      scan.invalid.push({ folder, error: error as ServingError });
    }
  }
  return scan;
}

/** Orders versions as people number them: numerically where both are numbers ("10" after "9"), else as text. */
export function compareVersions(a: string, b: string): number {
  return a.localeCompare(b, "en", { numeric: true });
}

/** Repository entries by model name, each with all its versions. */
export function groupByName(entries: ModelEntry[]): Map<string, ModelEntry[]> {
  const byName = new Map<string, ModelEntry[]>();
  for (const entry of entries) byName.set(entry.manifest.name, [...(byName.get(entry.manifest.name) ?? []), entry]);
  return byName;
}

/** The version to serve: the pinned one, else the highest. */
export function pickVersion(entries: ModelEntry[], pinned: string | undefined): ModelEntry | undefined {
  if (pinned !== undefined) return entries.find((e) => e.manifest.version === pinned);
  return [...entries].sort((a, b) => compareVersions(a.manifest.version, b.manifest.version)).at(-1);
}

/** Every model version in the repository: each model folder's versions (see scanModelFolder), bad ones apart. */
export async function scanRepository(repository: string): Promise<RepositoryScan> {
  const root = resolve(repository);
  let names: string[];
  try {
    names = (await readdir(root, { withFileTypes: true })).filter((d) => d.isDirectory() || d.isSymbolicLink()).map((d) => d.name).sort();
  } catch (cause) {
    throw new ServingError("ERR_CONFIG_INVALID", `models.repository: cannot read ${root}: ${(cause as Error).message}`, { cause });
  }
  const scans = await Promise.all(names.map((name) => scanModelFolder(root, name)));
  return { models: scans.flatMap((s) => s.models), invalid: scans.flatMap((s) => s.invalid), flat: scans.flatMap((s) => s.flat) };
}

/**
 * A model version as the CLI names it: `name` (its highest version) or `name/version`, in `repository`. Fails with
 * the versions found and the folders that do not validate.
 */
export async function findModelVersion(repository: string, ref: string): Promise<ModelEntry> {
  const [name, version, ...rest] = ref.split("/").filter((part) => part !== "");
  if (!name || rest.length > 0) throw new ServingError("ERR_INVALID_REQUEST", `'${ref}': name a model as <name> or <name>/<version>`);
  const scan = await scanModelFolder(resolve(repository), name);
  const entry = pickVersion(scan.models, version);
  if (entry) return entry;
  const found = scan.models.map((e) => e.manifest.version);
  const invalid = scan.invalid.map((bad) => `${bad.folder}: ${bad.error.message}`);
  throw new ServingError(
    "ERR_MODEL_NOT_FOUND",
    `no ${version === undefined ? "valid version of" : `version '${version}' of`} model '${name}' in ${repository} (versions: ${found.join(", ") || "none"}${invalid.length ? `; invalid: ${invalid.join("; ")}` : ""})`,
  );
}

/**
 * The version a path names, for tools given a folder rather than a repository and a name: a version folder or a
 * flat model folder as it is, a versioned model folder's highest version; with the repository that holds it.
 */
export async function locateModelVersion(path: string): Promise<ModelEntry & { repository: string }> {
  const dir = resolve(path);
  if (!(await isModelFolder(dir))) return { ...(await findModelVersion(dirname(dir), basename(dir))), repository: dirname(dir) };
  const manifest = await readManifest(dir);
  const versioned = basename(dir) === manifest.version && basename(dirname(dir)) === manifest.name;
  return { dir, manifest, repository: versioned ? dirname(dirname(dir)) : dirname(dir) };
}

/** The version a new folder of `name` gets when none is asked for: one more than the highest numbered one, or 1. */
export async function nextVersion(repository: string, name: string): Promise<string> {
  const numbers = (await versionFolders(join(resolve(repository), name))).filter((v) => /^\d+$/.test(v)).map(Number);
  return String(Math.max(0, ...numbers) + 1);
}

/** The operator's overrides, validated again as a whole manifest so a bad combination is caught at start-up. */
export function applyOverride(manifest: ModelManifest, override: ModelOverride | undefined): ModelManifest {
  // `version` picks which folder is served; it is not a manifest field to change.
  if (!override) return manifest;
  const merged = {
    ...manifestInput(manifest),
    ...(override.device !== undefined ? { device: override.device, replicas: undefined } : {}),
    ...(override.replicas !== undefined ? { replicas: override.replicas } : {}),
    ...(override.threshold !== undefined ? { threshold: override.threshold } : {}),
    ...(override.generation !== undefined ? { generation: { ...manifest.generation, ...override.generation } } : {}),
    batching: { ...manifest.batching, ...override.batching },
    limits: { ...manifest.limits, ...override.limits },
    escalation: { ...manifest.escalation, ...override.escalation },
    // The backend's own block, under its format's name, as in model.json.
    [manifest.format]: { ...manifest.backend, ...(override[manifest.format] as Record<string, unknown> | undefined) },
  };
  const result = ModelManifest.safeParse(merged);
  if (!result.success) {
    throw new ServingError("ERR_CONFIG_INVALID", `models.overrides.${manifest.name}: ${formatZodIssues(result.error)}`);
  }
  return result.data;
}
