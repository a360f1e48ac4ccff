import type { BackendKind } from "./backend-kind.js";
import { GGUF_BACKEND } from "./gguf/gguf-kind.js";
import { ONNX_BACKEND } from "./onnx/onnx-kind.js";

/** Backends by manifest `format`. A new backend is a folder beside these and one line here; nothing else changes. */
export const BACKENDS: Readonly<Record<string, BackendKind>> = {
  onnx: ONNX_BACKEND,
  gguf: GGUF_BACKEND,
};

export function backendKind(format: string): BackendKind | undefined {
  return Object.hasOwn(BACKENDS, format) ? BACKENDS[format] : undefined;
}
