import { readdir, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { ServingError } from "../errors/registry.js";
import type { ModelOverride } from "../config/schema.js";
import { manifestInput, ModelManifest, readManifest } from "./manifest-validation.js";
import { formatZodIssues } from "../config/zod-issues.js";

export interface ModelEntry {
  dir: string;
  manifest: ModelManifest;
}

export interface RepositoryScan {
  models: ModelEntry[];
  /** Folders with a model.json that did not validate, by folder name. */
  invalid: Array<{ folder: string; error: ServingError }>;
}

const hasManifest = (dir: string) => stat(join(dir, "model.json")).then((s) => s.isFile(), () => false);

/** Folders holding a model.json: `<model>/` for a single version, or each `<model>/<version>/` (as Triton lays them out). */
async function manifestFolders(root: string, folder: string): Promise<string[]> {
  const dir = join(root, folder);
  if (await hasManifest(dir)) return [folder];
  const subfolders = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const versions: string[] = [];
  for (const sub of subfolders.filter((d) => d.isDirectory()).map((d) => d.name).sort()) {
    if (await hasManifest(join(dir, sub))) versions.push(join(folder, sub));
  }
  return versions;
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

/** Every model version in the repository: folders with a model.json, one level down for versioned models. */
export async function scanRepository(repository: string): Promise<RepositoryScan> {
  const root = resolve(repository);
  let names: string[];
  try {
    names = (await readdir(root)).sort();
  } catch (cause) {
    throw new ServingError("ERR_CONFIG_INVALID", `models.repository: cannot read ${root}: ${(cause as Error).message}`, { cause });
  }
  const scan: RepositoryScan = { models: [], invalid: [] };
  for (const folder of (await Promise.all(names.map((name) => manifestFolders(root, name)))).flat()) {
    const dir = join(root, folder);
    try {
      scan.models.push({ dir, manifest: await readManifest(dir) });
    } catch (error) {
      scan.invalid.push({ folder, error: error as ServingError });
    }
  }
  return scan;
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
