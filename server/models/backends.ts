import type { BackendFactory } from "../backends/backend.js";
import { createGgufBackend } from "../backends/gguf/gguf-backend.js";
import { createOnnxBackend } from "../backends/onnx/onnx-backend.js";
import type { ModelManifest } from "./manifest.js";

/** Backends by manifest `format`. A new backend is one line here; the HTTP layer never changes. */
export const BACKENDS: Partial<Record<ModelManifest["format"], BackendFactory>> = {
  onnx: createOnnxBackend,
  gguf: createGgufBackend,
};

export type Log = (level: "info" | "warn" | "error", message: string) => void;
