import { readdir, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { ServingError } from "../errors/registry.js";
import type { ModelOverride } from "../config/schema.js";
import { ModelManifest, readManifest } from "./manifest.js";
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

/** Every folder of the repository that holds a model.json. */
export async function scanRepository(repository: string): Promise<RepositoryScan> {
  const root = resolve(repository);
  let names: string[];
  try {
    names = (await readdir(root)).sort();
  } catch (cause) {
    throw new ServingError("ERR_CONFIG_INVALID", `models.repository: cannot read ${root}: ${(cause as Error).message}`, { cause });
  }
  const scan: RepositoryScan = { models: [], invalid: [] };
  for (const folder of names) {
    const dir = join(root, folder);
    const hasManifest = await stat(join(dir, "model.json")).then((s) => s.isFile(), () => false);
    if (!hasManifest) continue;
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
  if (!override) return manifest;
  const merged = {
    ...manifest,
    ...(override.device !== undefined ? { device: override.device } : {}),
    ...(override.threshold !== undefined ? { threshold: override.threshold } : {}),
    batching: { ...manifest.batching, ...override.batching },
    limits: { ...manifest.limits, ...override.limits },
    escalation: { ...manifest.escalation, ...override.escalation },
    ...(override.gguf ? { gguf: { ...manifest.gguf, ...override.gguf } } : {}),
  };
  const result = ModelManifest.safeParse(merged);
  if (!result.success) {
    throw new ServingError("ERR_CONFIG_INVALID", `models.overrides.${manifest.name}: ${formatZodIssues(result.error)}`);
  }
  return result.data;
}
