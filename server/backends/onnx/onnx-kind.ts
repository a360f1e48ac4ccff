import type { BackendKind } from "../backend-kind.js";
import { OnnxSettings } from "./onnx-settings.js";

/** Text classifiers on ONNX Runtime: a dynamic batcher feeding a pool of worker threads. */
export const ONNX_BACKEND: BackendKind<typeof OnnxSettings> = {
  format: "onnx",
  settings: OnnxSettings,
  defaultArtifact: "model.onnx",
  legacyKeys: ["outputName"],
  // Loaded when a model of this format is: a server without one never imports its runtime (start-up time).
  create: async (context) => (await import("./onnx-backend.js")).createOnnxBackend(context),
};
