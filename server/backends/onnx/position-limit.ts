import { readFile } from "node:fs/promises";
import { join } from "node:path";

/** transformers' "no limit" sentinel for model_max_length (int(1e30)), and other values no model has. */
const NO_LIMIT = 1_000_000;
/** RoBERTa-family models number positions from padding_idx + 1: two of max_position_embeddings are not usable. */
const POSITION_OFFSET: Record<string, number> = { roberta: 2, "xlm-roberta": 2, camembert: 2, longformer: 2 };

/** A JSON file holding an object (an export's config.json and the like), or undefined when it is missing or not one. */
export async function readJsonObject(path: string): Promise<Record<string, unknown> | undefined> {
  try {
    const value: unknown = JSON.parse(await readFile(path, "utf8"));
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The most tokens the model itself accepts, from the files a Hugging Face export carries: `model_max_length` in
 * tokenizer_config.json, `max_position_embeddings` in config.json (less the RoBERTa offset). Undefined when neither
 * says. Inputs longer than this make ORT fail ("indices element out of data bounds") for the whole batch.
 */
export async function modelTokenLimit(modelDir: string, tokenizerDir: string): Promise<number | undefined> {
  const limits: number[] = [];
  const tokenizerConfig = await readJsonObject(join(tokenizerDir, "tokenizer_config.json"));
  const maxLength = tokenizerConfig?.model_max_length;
  if (typeof maxLength === "number" && maxLength >= 2 && maxLength < NO_LIMIT) limits.push(Math.floor(maxLength));
  const config = (await readJsonObject(join(modelDir, "config.json"))) ?? (await readJsonObject(join(tokenizerDir, "config.json")));
  const positions = config?.max_position_embeddings;
  if (typeof positions === "number" && positions >= 2 && positions < NO_LIMIT) {
    limits.push(Math.floor(positions) - (POSITION_OFFSET[String(config?.model_type)] ?? 0));
  }
  return limits.length > 0 ? Math.min(...limits) : undefined;
}
