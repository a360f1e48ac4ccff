import { threadId, workerData } from "node:worker_threads";
import { move } from "piscina";
import { ServingError, type ErrorPayload } from "../../errors/registry.js";
import { OnnxTextModel } from "./onnx-text-model.js";
import { packResult, type WorkerDescription, type WorkerFailure, type WorkerInit, type WorkerTask } from "./worker-protocol.js";

const init = workerData as WorkerInit;

function toPayload(error: unknown): ErrorPayload {
  if (error instanceof ServingError) return error.toPayload();
  return { code: "ERR_INTERNAL", message: (error as Error)?.message ?? String(error) };
}

// Loaded when the worker starts, not in the first task, so a replacement worker is warm before it is used.
// A load failure is kept and answered to every task: thrown at top level it would make piscina hang its queue.
let classifier: OnnxTextModel | undefined;
let loadError: ErrorPayload | undefined;
try {
  classifier = await OnnxTextModel.load(init.dir, init.manifest, init.placement);
} catch (error) {
  loadError = toPayload(error);
}

export default async function run(task: WorkerTask): Promise<Float32Array | WorkerDescription | WorkerFailure> {
  if (!classifier) return { error: loadError ?? { code: "ERR_MODEL_UNAVAILABLE", message: "model not loaded" } };
  if (task.kind === "describe") {
    const { provider, deviceId, fallbackReason } = classifier.opened;
    return { provider, deviceId, fallbackReason, threadId };
  }
  try {
    const r = await classifier.run(task.texts);
    const packed = packResult(r.values, r.tokens, r.truncated, r.width, r.tokenizeMs, r.inferenceMs);
    return move(packed) as unknown as Float32Array;
  } catch (error) {
    return { error: toPayload(error) };
  }
}
