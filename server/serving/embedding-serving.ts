import { normalizeVector } from "../backends/vectors.js";
import { ServingError } from "../errors/registry.js";
import type { ModelRegistry } from "../models/model-registry.js";
import { deadlineOf, type Caller, type DeadlineSettings } from "./caller.js";
import type { EmbeddingRequest, EmbeddingResponse } from "./embedding-protocol.js";
import { requestTexts } from "./input-checks.js";

export interface EmbeddingServingDeps {
  registry: ModelRegistry;
  deadlines: DeadlineSettings;
}

/** A vector as OpenAI's `base64` encoding carries it: its float32 bytes, little-endian (as this platform's). */
function base64Of(vector: Float32Array): string {
  return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).toString("base64");
}

/** Embeddings, whichever front door asks: one vector per text from an embedding model behind its scheduler. */
export class EmbeddingServing {
  constructor(private readonly deps: EmbeddingServingDeps) {}

  async embed(request: EmbeddingRequest, caller: Caller): Promise<EmbeddingResponse> {
    const backend = this.deps.registry.get(request.model);
    const { manifest } = backend;
    caller.onModel?.(manifest.name);
    if (!backend.embed || !manifest.embedding) {
      throw new ServingError("ERR_MODEL_CANNOT_EMBED", `model '${manifest.name}' is a ${manifest.task} model; /v1/embeddings needs an embedding model (GET /v1/models lists each model's task)`);
    }
    const { input } = request;
    if (typeof input !== "string" && input.some((item) => typeof item !== "string")) {
      throw new ServingError("ERR_INVALID_REQUEST", "input: token ids are not accepted (the server tokenizes with the model's own tokenizer); send the text");
    }
    const texts = requestTexts(input as string | string[], manifest, "embed");
    const own = manifest.embedding.dimensions;
    const wanted = request.dimensions ?? own;
    if (wanted > own || (wanted < own && !manifest.embedding.truncatable)) {
      const why = wanted > own ? "it has only" : "it was not trained to be cut (embedding.truncatable) and gives";
      throw new ServingError("ERR_INVALID_REQUEST", `dimensions: ${wanted} for model '${manifest.name}', but ${why} ${own}; leave dimensions out`);
    }
    const deadline = deadlineOf(caller, request.deadline_ms, this.deps.deadlines);
    const result = await backend.embed(texts, { deadline, signal: caller.signal, ...(caller.priority ? { priority: caller.priority } : {}) });
    let tokens = 0;
    const data = result.outputs.map((output, index) => {
      tokens += output.tokens;
      // A Matryoshka model's leading dimensions are a smaller embedding of their own, normalised again.
      const vector = wanted < own ? (manifest.embedding!.normalize ? normalizeVector(output.vector.slice(0, wanted)) : output.vector.slice(0, wanted)) : output.vector;
      const embedding = request.encoding_format === "base64" ? base64Of(vector) : Array.from(vector);
      return { object: "embedding" as const, index, embedding, truncated: output.truncated };
    });
    return { object: "list", data, model: manifest.name, version: manifest.version, usage: { prompt_tokens: tokens, total_tokens: tokens } };
  }
}
