import { ServingError } from "../errors/registry.js";
import type { ModelManifest } from "../models/manifest.js";

/**
 * The inputs of one request as a list, refused before any work when there are more than the model accepts or one is
 * blank: a blank text would still be classified (with confidence), escalated and billed, or embedded.
 */
export function requestTexts(input: string | string[], manifest: ModelManifest, verb: "classify" | "embed"): string[] {
  const texts = typeof input === "string" ? [input] : input;
  if (texts.length > manifest.limits.maxInputsPerRequest) {
    throw new ServingError("ERR_TOO_MANY_INPUTS", `${texts.length} inputs in one request; model '${manifest.name}' accepts at most ${manifest.limits.maxInputsPerRequest}: split the list`);
  }
  const blank = texts.findIndex((text) => text.trim().length === 0);
  if (blank >= 0) throw new ServingError("ERR_EMPTY_INPUT", `input ${blank} is empty or only white space: send text to ${verb}, or leave it out`);
  return texts;
}
