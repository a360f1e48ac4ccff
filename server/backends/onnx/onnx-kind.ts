import type { BackendKind } from "../backend-kind.js";
import { createOnnxBackend } from "./onnx-backend.js";
import { OnnxSettings } from "./onnx-settings.js";

/** Text classifiers on ONNX Runtime: a dynamic batcher feeding a pool of worker threads. */
export const ONNX_BACKEND: BackendKind<typeof OnnxSettings> = {
  format: "onnx",
  settings: OnnxSettings,
  defaultArtifact: "model.onnx",
  legacyKeys: ["outputName"],
  create: createOnnxBackend,
};
