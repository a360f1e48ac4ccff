import { readFile, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { modelTokenLimit, readJsonObject } from "../backends/onnx/position-limit.js";
import { InputLimits } from "./manifest.js";

const DEFAULT_MAX_TOKENS = InputLimits.parse({}).maxTokens;

/** A manifest key inferred from an export's own files, with the file and field it came from. */
export interface Inferred {
  fields: Record<string, unknown>;
  /** Manifest key → where its value was read. */
  sources: Record<string, string>;
  /** Why a key could not be inferred, for the error when model.json does not supply it either. */
  notes: string[];
}

const exists = (path: string) => stat(path).then((s) => s.isFile(), () => false);

/** The ONNX graph of an export: `model.onnx` at the top (optimum's ORTModel layout), or `onnx/model.onnx`. */
export async function exportGraph(dir: string): Promise<string | undefined> {
  for (const candidate of ["model.onnx", join("onnx", "model.onnx")]) if (await exists(join(dir, candidate))) return candidate;
  return undefined;
}

/** A folder the server can read: a model.json, or a Hugging Face export (config.json beside an ONNX graph). */
export async function isModelFolder(dir: string): Promise<boolean> {
  if (await exists(join(dir, "model.json"))) return true;
  return (await exists(join(dir, "config.json"))) && (await exportGraph(dir)) !== undefined;
}

/** Name and version a folder gives when its files do not: `<name>/<version>/`, or a flat `<name>/` as version 1. */
export function folderIdentity(dir: string, layout?: { name: string; version: string }): { name: string; version: string } {
  if (layout) return layout;
  const folder = basename(dir);
  return /^\d+$/.test(folder) ? { name: basename(dirname(dir)), version: folder } : { name: folder, version: "1" };
}

/** Labels in id order from `id2label` ({"0": "ham", "1": "spam"}), or why they cannot be. */
function labelsOf(config: Record<string, unknown>): string[] | string {
  const id2label = config.id2label;
  if (typeof id2label !== "object" || id2label === null) return "config.json has no id2label";
  const entries = Object.entries(id2label as Record<string, unknown>);
  const labels: string[] = [];
  for (const [id, label] of entries) {
    const index = Number(id);
    if (!Number.isInteger(index) || index < 0 || index >= entries.length || typeof label !== "string") {
      return `config.json id2label must map the ids 0..${entries.length - 1} to label names (found ${JSON.stringify(id)}: ${JSON.stringify(label)})`;
    }
    labels[index] = label;
  }
  return labels;
}

/**
 * A sentence-transformers folder's head (modules.json: Transformer, Pooling, optional Normalize), as the manifest's
 * embedding block; undefined when the folder has no modules.json, a reason when its pooling is not one served.
 */
async function sentenceTransformer(dir: string, config: Record<string, unknown>): Promise<Record<string, unknown> | string | undefined> {
  let modules: unknown;
  try {
    modules = JSON.parse(await readFile(join(dir, "modules.json"), "utf8"));
  } catch {
    return undefined;
  }
  if (!Array.isArray(modules)) return "modules.json must hold a list of modules";
  const typeOf = (m: unknown) => String((m as { type?: unknown }).type ?? "");
  const pooling = modules.find((m) => typeOf(m).endsWith(".Pooling"));
  if (!pooling) return "modules.json has no Pooling module: give a model.json with an embedding block";
  const poolingDir = String((pooling as { path?: unknown }).path ?? "");
  const settings = (await readJsonObject(join(dir, poolingDir, "config.json"))) ?? {};
  const mode = settings.pooling_mode_cls_token === true ? "cls" : settings.pooling_mode_mean_tokens === true ? "mean" : undefined;
  if (!mode) return `${join(poolingDir, "config.json")}: only mean and CLS pooling are served (pooling_mode_mean_tokens or pooling_mode_cls_token)`;
  const dimensions = settings.word_embedding_dimension ?? config.hidden_size;
  if (typeof dimensions !== "number") return `${join(poolingDir, "config.json")} has no word_embedding_dimension (nor config.json a hidden_size)`;
  return { output: "last_hidden_state", pooling: mode, normalize: modules.some((m) => typeOf(m).endsWith(".Normalize")), dimensions };
}

/**
 * What a Hugging Face export (optimum's `ORTModelForSequenceClassification.save_pretrained`, a sentence-transformers
 * folder, or any folder with the same files) says about serving it: the format and graph file, the task from the
 * head (a sequence classifier, or modules.json's pooling), the labels from id2label, the token limit. A model.json
 * beside it overrides any of these.
 */
export async function inferFromExport(dir: string): Promise<Inferred> {
  const inferred: Inferred = { fields: {}, sources: {}, notes: [] };
  const config = await readJsonObject(join(dir, "config.json"));
  if (!config) return inferred;
  const set = (key: string, value: unknown, source: string) => {
    inferred.fields[key] = value;
    inferred.sources[key] = source;
  };
  const graph = await exportGraph(dir);
  if (graph) {
    set("format", "onnx", graph);
    if (graph !== "model.onnx") set("artifacts", { model: graph }, graph);
  }
  const architecture = Array.isArray(config.architectures) && typeof config.architectures[0] === "string" ? config.architectures[0] : undefined;
  const embedder = await sentenceTransformer(dir, config);
  if (embedder) {
    if (typeof embedder === "string") inferred.notes.push(embedder);
    else {
      set("task", "embeddings", "modules.json (sentence-transformers)");
      set("embedding", embedder, "modules.json, the Pooling module's config.json");
    }
  } else if (architecture?.endsWith("ForSequenceClassification")) {
    set("task", "text-classification", `config.json architectures: ${architecture}`);
    const labels = labelsOf(config);
    if (typeof labels === "string") inferred.notes.push(labels);
    else set("labels", labels, "config.json id2label");
    if (config.problem_type === "multi_label_classification") {
      set("multiLabel", true, "config.json problem_type multi_label_classification (a sigmoid per label)");
      // The frontier and the review queue take one label per input.
      set("escalation", { onLowConfidence: "none" }, "multi-label answers are not escalated or reviewed yet");
    }
  } else {
    inferred.notes.push(
      `config.json architectures: ${architecture ?? "none"} is neither a sequence classifier (…ForSequenceClassification) nor a sentence-transformers embedder (modules.json); give a model.json with its task (and, for embeddings, an embedding block saying how to pool)`,
    );
  }
  const positions = await modelTokenLimit(dir, dir);
  if (positions !== undefined) set("limits", { maxTokens: Math.min(DEFAULT_MAX_TOKENS, positions) }, "config.json max_position_embeddings, tokenizer_config.json model_max_length");
  const type = typeof config.model_type === "string" ? config.model_type : "transformer";
  const calibration = inferred.fields.task === "text-classification" ? ", no calibration: confidences are the raw softmax" : "";
  set("description", `${type} ${architecture ?? "model"} (Hugging Face export${calibration})`, "config.json model_type, architectures");
  return inferred;
}
