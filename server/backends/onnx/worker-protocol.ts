import type { ErrorPayload } from "../../errors/registry.js";
import type { ModelManifest } from "../../models/manifest.js";
import type { SessionPlacement } from "./session.js";

export interface WorkerInit {
  dir: string;
  manifest: ModelManifest;
  placement: SessionPlacement;
}

export type WorkerTask = { kind: "run"; texts: string[] } | { kind: "describe" };

export interface WorkerDescription {
  provider: "cpu" | "cuda";
  deviceId: number | undefined;
  fallbackReason: string | undefined;
  threadId: number;
}

/** Failures cross the thread boundary as plain data: class instances do not survive structured cloning. */
export type WorkerFailure = { error: ErrorPayload };

/**
 * A run answer is one Float32Array, moved (not copied) back to the main thread:
 * [tokenizeMs, inferenceMs, batch, width, then per item: tokens, truncated (0|1), values × width] (logits, or a vector).
 */
export const HEADER = 4;

export function packResult(
  values: Float32Array,
  tokens: number[],
  truncated: boolean[],
  width: number,
  tokenizeMs: number,
  inferenceMs: number,
): Float32Array {
  const batch = tokens.length;
  const stride = width + 2;
  const out = new Float32Array(HEADER + batch * stride);
  out.set([tokenizeMs, inferenceMs, batch, width]);
  for (let b = 0; b < batch; b++) {
    const at = HEADER + b * stride;
    out[at] = tokens[b]!;
    out[at + 1] = truncated[b] ? 1 : 0;
    out.set(values.subarray(b * width, (b + 1) * width), at + 2);
  }
  return out;
}
