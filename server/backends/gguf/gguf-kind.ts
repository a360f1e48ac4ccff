import type { BackendKind } from "../backend-kind.js";
import { GgufSettings } from "./gguf-settings.js";

/** GGUF models on llama.cpp: classification from label probabilities, and OpenAI-compatible generation. */
export const GGUF_BACKEND: BackendKind<typeof GgufSettings> = {
  format: "gguf",
  settings: GgufSettings,
  defaultArtifact: "model.gguf",
  // Loaded when a model of this format is: a server without one never imports its runtime (start-up time).
  create: async (context) => (await import("./gguf-backend.js")).createGgufBackend(context),
  check(manifest, settings, issue) {
    for (const label of Object.keys(settings.labelTexts ?? {})) {
      if (!manifest.labels.includes(label)) issue(["gguf", "labelTexts", label], `not one of the labels (${manifest.labels.join(", ")})`);
    }
    if (!manifest.replicas) return;
    manifest.replicas.forEach((r, i) => {
      if (r.workers !== 1) issue(["replicas", i, "workers"], "a GGUF replica is one llama.cpp context: raise gguf.sequences for more parallel requests");
    });
    // node-llama-cpp 3.21 cannot pin a model to one GPU: llama.cpp spreads it over every visible CUDA device.
    const gpus = manifest.replicas.filter((r) => r.device !== "cpu");
    if (gpus.length > 1) {
      issue(
        ["replicas"],
        `a GGUF model can have one GPU replica (it uses the GPUs in CUDA_VISIBLE_DEVICES) and one cpu replica; got ${gpus.map((r) => r.device).join(", ")}: run one server per GPU with CUDA_VISIBLE_DEVICES=<id> instead`,
      );
    }
  },
};
