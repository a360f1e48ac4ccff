import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { BACKENDS, backendKind } from "../backends/registry.js";
import { formatZodIssues } from "../config/zod-issues.js";
import { ServingError } from "../errors/registry.js";
import { ManifestCommon, type ModelManifest as Manifest } from "./manifest.js";
import { folderIdentity, inferFromExport } from "./hf-export.js";

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
  if (m.task === "text-classification" && m.labels.length < 2) issue(["labels"], "a text-classification model needs at least 2 labels, in the order of its output");
  // A GGUF says its vector length and pooling itself; an ONNX graph's output needs the block.
  if (m.task === "embeddings" && !m.embedding && m.format === "onnx") issue(["embedding"], "an ONNX embeddings model needs an embedding block ({dimensions, pooling, normalize, output}); a sentence-transformers folder's modules.json supplies it");
  if (m.task === "embeddings" && m.labels.length > 0) issue(["labels"], "an embeddings model has no labels");
  if (m.multiLabel && (m.task !== "text-classification" || m.format !== "onnx")) issue(["multiLabel"], "multi-label classification is served from ONNX classifiers (a sigmoid per logit)");
  // The frontier's prompt, the review queue and the cache of frontier answers all hold one label per input.
  if (m.multiLabel && (m.escalation.onLowConfidence !== "none" || m.escalation.shadowRate > 0)) {
    issue(["escalation"], "a multi-label model's answers are not sent to the frontier or to review yet (both take one label): set escalation.onLowConfidence to none and shadowRate to 0");
  }
  if (m.task === "text-generation" && m.format !== "gguf") issue(["task"], "text generation is served from GGUF models");
  if (m.task === "text-generation" && m.labels.length > 0) issue(["labels"], "a text-generation model has no labels");
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

/** A manifest read from a folder, with where each of its keys came from (`model.json`, an export's file, or a default). */
export interface ManifestReading {
  manifest: Manifest;
  sources: Record<string, string>;
}

/**
 * The folder's manifest: model.json over what a Hugging Face export's own files say (config.json's id2label and
 * architecture, the ONNX graph), over the folder's name and version. A drop-in export needs no model.json; a
 * model.json beside one may hold only what it changes.
 */
export async function readManifestWithSources(dir: string, layout?: { name: string; version: string }): Promise<ManifestReading> {
  const path = join(dir, "model.json");
  let written: Record<string, unknown> | undefined;
  try {
    const raw: unknown = JSON.parse(await readFile(path, "utf8"));
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new Error("model.json must hold a JSON object");
    written = raw as Record<string, unknown>;
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== "ENOENT") throw new ServingError("ERR_MANIFEST_INVALID", `${path}: ${(cause as Error).message}`, { cause });
  }
  const inferred = await inferFromExport(dir);
  if (!written && Object.keys(inferred.fields).length === 0) {
    throw new ServingError("ERR_MANIFEST_INVALID", `${dir}: no model.json, and no Hugging Face export (config.json beside model.onnx) to read one from`);
  }
  const identity = folderIdentity(dir, layout);
  const sources: Record<string, string> = { name: "folder name", version: layout ? "version folder name" : "folder", ...inferred.sources };
  for (const key of Object.keys(written ?? {})) sources[key] = "model.json";
  const parsed = ModelManifest.safeParse({ ...identity, ...inferred.fields, ...written });
  if (!parsed.success) {
    const notes = inferred.notes.length > 0 ? `; from the export's files: ${inferred.notes.join("; ")}` : "";
    throw new ServingError("ERR_MANIFEST_INVALID", `${written ? path : dir}: ${formatZodIssues(parsed.error)}${notes}`);
  }
  return { manifest: parsed.data, sources };
}

export async function readManifest(dir: string, layout?: { name: string; version: string }): Promise<Manifest> {
  return (await readManifestWithSources(dir, layout)).manifest;
}
