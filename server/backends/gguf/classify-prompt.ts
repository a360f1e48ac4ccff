import { ServingError } from "../../errors/registry.js";

/** A classification prompt template split around its one `{{input}}`. */
export interface ClassifyPrompt {
  prefix: string;
  suffix: string;
}

export function parseClassifyPrompt(template: string, file: string): ClassifyPrompt {
  const parts = template.split("{{input}}");
  if (parts.length !== 2) {
    throw new ServingError("ERR_MANIFEST_INVALID", `classification prompt ${file} must contain {{input}} exactly once (found ${parts.length - 1})`);
  }
  // A trailing newline is the file's, not the prompt's: the label must follow the prompt's last character.
  return { prefix: parts[0]!, suffix: parts[1]!.replace(/\r?\n$/, "") };
}

export interface PromptTokens {
  tokens: number[];
  /** Tokens of the input that were kept. */
  inputTokens: number;
  truncated: boolean;
}

/**
 * BOS + prefix + input + suffix, tokenized piece by piece, so the input can be cut to `maxInputTokens` without
 * cutting the instructions around it. Training and serving both build prompts here, so they see the same tokens.
 */
export function promptTokens(
  tokenize: (text: string) => number[],
  bos: number | undefined,
  prompt: ClassifyPrompt,
  input: string,
  limits: { maxInputTokens: number; maxChars: number },
): PromptTokens {
  const cut = input.length > limits.maxChars;
  const ids = tokenize(cut ? input.slice(0, limits.maxChars) : input);
  const kept = ids.length > limits.maxInputTokens ? ids.slice(0, limits.maxInputTokens) : ids;
  const tokens = [...(bos === undefined ? [] : [bos]), ...tokenize(prompt.prefix), ...kept, ...tokenize(prompt.suffix)];
  return { tokens, inputTokens: kept.length, truncated: cut || kept.length < ids.length };
}
