import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { BACKENDS, backendKind } from "../backends/registry.js";
import { formatZodIssues } from "../config/zod-issues.js";
import { ServingError } from "../errors/registry.js";
import { ManifestCommon, type ModelManifest as Manifest } from "./manifest.js";

/** The type of a validated manifest, under the name of the schema that makes one. */
export type ModelManifest = Manifest;

const COMMON_KEYS = new Set(Object.keys(ManifestCommon.shape));

/**
 * model.json, validated whole: the shared fields, then the backend's own block (`"<format>": {…}`) by the schema the
 * backend registered, then the rules that span both. Unknown keys are refused, with the path, as everywhere else.
 */
export const ModelManifest = z.unknown().transform((raw, ctx): Manifest => {
  const issue = (path: PropertyKey[], message: string) => ctx.addIssue({ code: "custom", path, message });
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    issue([], "model.json must hold a JSON object");
    return z.NEVER;
  }
  const input = raw as Record<string, unknown>;
  const kind = typeof input.format === "string" ? backendKind(input.format) : undefined;
  const common: Record<string, unknown> = {};
  const legacy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    if (COMMON_KEYS.has(key)) common[key] = value;
    else if (kind && key === kind.format) continue;
    else if (kind?.legacyKeys?.includes(key)) legacy[key] = value;
    else if (Object.hasOwn(BACKENDS, key)) issue([key], `only for format ${key}`);
    else ctx.addIssue({ code: "unrecognized_keys", keys: [key], path: [], message: `Unrecognized key: "${key}"` });
  }
  const parsed = ManifestCommon.safeParse(common);
  if (!parsed.success) for (const i of parsed.error.issues) ctx.addIssue({ ...i, path: i.path } as z.core.$ZodRawIssue);
  if (!kind) {
    if (typeof input.format === "string") issue(["format"], `no backend '${input.format}'; one of ${Object.keys(BACKENDS).join(", ")}`);
    return z.NEVER;
  }
  const block = { ...legacy, ...(input[kind.format] as Record<string, unknown> | undefined) };
  const settings = kind.settings.safeParse(block);
  if (!settings.success) for (const i of settings.error.issues) issue([kind.format, ...i.path], i.message);
  if (!parsed.success || !settings.success) return z.NEVER;

  const m = parsed.data;
  if (m.limits.maxInputsPerRequest > m.batching.maxQueueSize) {
    issue(["limits", "maxInputsPerRequest"], `must not exceed batching.maxQueueSize (${m.batching.maxQueueSize}): a larger request could never be queued`);
  }
  const manifest: Manifest = { ...m, artifacts: { model: m.artifacts.model ?? kind.defaultArtifact, tokenizer: m.artifacts.tokenizer }, backend: settings.data };
  kind.check?.(manifest, settings.data, issue);
  return manifest;
});

/** A manifest as model.json holds it again: the backend's block back under its format's name (for overrides). */
export function manifestInput(manifest: Manifest): Record<string, unknown> {
  const { backend, ...common } = manifest;
  return { ...common, [manifest.format]: backend };
}

export async function readManifest(dir: string): Promise<Manifest> {
  const path = join(dir, "model.json");
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, "utf8"));
  } catch (cause) {
    throw new ServingError("ERR_MANIFEST_INVALID", `${path}: ${(cause as Error).message}`, { cause });
  }
  const parsed = ModelManifest.safeParse(raw);
  if (!parsed.success) {
    throw new ServingError("ERR_MANIFEST_INVALID", `${path}: ${formatZodIssues(parsed.error)}`);
  }
  return parsed.data;
}
